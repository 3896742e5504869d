"""The contract next to the verdicts: the run folder gets ``CONTRACT.md`` as shipped and ``CONTRACT.html``.

The reports link each clause to ``CONTRACT.html#<clause ID>`` in the same run folder, so a link resolves
wherever the folder is opened (from disk, from a CI artifact) and lands on the clause, highlighted. The page
is rendered from :data:`swarmconf.contract.DOCUMENT` by the small converter below, which knows only what the
document uses (headings, paragraphs, bullets, inline code, bold and italics): no Markdown dependency for one
page.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

from swarmconf.contract import DOCUMENT, Clause

HTML_NAME = "CONTRACT.html"

_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
    "li[id]:target{background:#fff3c4;outline:2px solid #f0b400}"
    "code{background:#f3f3f3;padding:0 .2em}"
)
_CLAUSE_BULLET = re.compile(r"^\*\*(?P<id>[A-Z]+-\d+)\*\*")


def href(clause: Clause, *, base: str = "") -> str:
    """The link to a clause on the run folder's contract page, from a page ``base`` away from the folder."""
    return f"{base}{HTML_NAME}#{clause.id}"


def write(folder: Path) -> Path:
    """Copy the contract into a run folder, as Markdown and as HTML; return the HTML page."""
    shutil.copyfile(DOCUMENT, folder / DOCUMENT.name)
    page = folder / HTML_NAME
    page.write_text(render(DOCUMENT.read_text(encoding="utf-8")), encoding="utf-8")
    return page


def render(markdown: str) -> str:
    """The contract document as one HTML page with an ``id`` per clause bullet."""
    body = [_block(block) for block in _blocks(markdown)]
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>The UserSwarm isolation contract</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _blocks(markdown: str) -> list[list[str]]:
    """Paragraphs, headings and bullets, each as its lines (a bullet's continuation lines joined to it)."""
    blocks: list[list[str]] = []
    for line in markdown.splitlines():
        if not line.strip():
            blocks.append([])
        elif line.startswith("  ") and blocks and blocks[-1]:
            blocks[-1][-1] += " " + line.strip()
        elif line.startswith("- ") and blocks and blocks[-1] and blocks[-1][0].startswith("- "):
            blocks[-1].append(line)  # the next bullet of the same list
        elif line.startswith(("#", "- ")) or not blocks or not blocks[-1]:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return [b for b in blocks if b]


def _block(lines: list[str]) -> str:
    first = lines[0]
    if first.startswith("#"):
        level = len(first) - len(first.lstrip("#"))
        return f"<h{level}>{inline(first[level:].strip())}</h{level}>"
    if first.startswith("- "):
        return "<ul>" + "".join(_item(line[2:]) for line in lines) + "</ul>"
    return f"<p>{inline(' '.join(lines))}</p>"


def _item(text: str) -> str:
    match = _CLAUSE_BULLET.match(text)
    anchor = f' id="{match["id"]}"' if match else ""
    return f"<li{anchor}>{inline(text)}</li>"


def inline(text: str) -> str:
    """One line of the document's Markdown as HTML (code, bold, italics)."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", out)
