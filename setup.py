"""Map the repository's top-level folders onto the ``swarmconf`` import prefix.

``clusters/`` is imported as ``swarmconf.clusters``, ``fixtures/`` as ``swarmconf.fixtures`` and so on;
``suites/`` and ``tests/`` stay test folders that pytest collects from the repository root.
"""
from setuptools import find_packages, setup

MAPPED_FOLDERS = ("clusters", "fixtures", "reports", "reference")

packages = ["swarmconf"] + [f"swarmconf.{sub}" for sub in find_packages("swarmconf")]
package_dir = {"swarmconf": "swarmconf"}
for folder in MAPPED_FOLDERS:
    packages.append(f"swarmconf.{folder}")
    package_dir[f"swarmconf.{folder}"] = folder
    packages += [f"swarmconf.{folder}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=package_dir, include_package_data=True)
