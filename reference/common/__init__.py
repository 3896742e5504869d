"""Code shared by the reference services: names, labels, tokens, identity, settings and defects."""
