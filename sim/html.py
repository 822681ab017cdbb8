"""``report.html``: a report (sim/reports.py's :class:`Document`) as one self-contained page.

The page carries its plots inside it (base64 PNG) and its own style sheet, so it reads
offline and travels as one file. It is rendered from the same Document as ``summary.md``;
:func:`write_reports` writes both into a results folder (sim/folder.py calls it).

    from sim.html import to_html
    page = to_html(document, folder)      # images read from folder/plots/*.png

A report written as markdown (a claims check's ``report.md``) becomes the same kind of page
through :func:`markdown_page`, which knows the markdown those reports use: headings,
paragraphs, bullets, quotes, pipe tables and images.
"""

from __future__ import annotations

import base64
import html
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from sim.reports import SIMULATION_TIME, WHOLE_TIME, Document, Section, cell, to_markdown

if TYPE_CHECKING:
    import pandas as pd

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1200px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; border-bottom: 2px solid #a50f15; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; color: #08519c; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .15em 1.2em; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9em; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f2f2f2; }
td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; }
code { background: #f4f4f4; padding: 0 .2em; border-radius: 3px; }
"""
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def inline(text: object) -> str:
    """Text escaped for HTML, with markdown's ``code`` and **bold** kept."""
    escaped = html.escape(str(text))
    return _BOLD.sub(r"<strong>\1</strong>", _CODE.sub(r"<code>\1</code>", escaped))


def table_html(table: pd.DataFrame, formats: dict | None = None) -> str:
    """A table as an HTML ``<table>``, each value formatted as ``formats`` asks."""
    formats = formats or {}
    columns = [str(column) for column in table.columns]
    head = "".join(f"<th>{inline(column)}</th>" for column in columns)
    rows = [
        "<tr>"
        + "".join(
            f"<td>{inline(cell(formats, c, v))}</td>" for c, v in zip(columns, row, strict=True)
        )
        + "</tr>"
        for row in table.itertuples(index=False)
    ]
    body = "\n".join(rows)
    return f'<div class="table"><table>\n<tr>{head}</tr>\n{body}\n</table></div>'


def image_html(path: Path, folder: Path) -> str:
    """An image of the folder embedded as a base64 PNG (a note when the file is missing)."""
    source = folder / path
    caption = inline(Path(path).stem.replace("_", " "))
    if not source.is_file():
        return f"<p><em>missing plot: {inline(Path(path).as_posix())}</em></p>"
    data = base64.b64encode(source.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def section_html(section: Section, folder: Path) -> str:
    """One section: its heading, paragraph, table and images."""
    parts = [f"<h2>{inline(section.title)}</h2>"]
    if section.text:
        parts.append(f"<p>{inline(section.text)}</p>")
    if section.table is not None:
        parts.append(table_html(section.table, dict(section.formats)))
    parts += [image_html(Path(path), folder) for path in section.images]
    return "\n".join(parts)


def to_html(document: Document, folder: str | Path) -> str:
    """The document as one self-contained HTML page.

    Args:
        document: the report (sim/reports.py).
        folder: the results folder; the document's image paths are relative to it.
    """
    folder = Path(folder)
    facts = "\n".join(
        f"<dt>{inline(key)}</dt><dd>{inline(value)}</dd>" for key, value in document.facts.items()
    )
    sections = "\n".join(section_html(section, folder) for section in document.sections)
    title = inline(document.title)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f'<h1>{title}</h1>\n<dl class="facts">\n{facts}\n</dl>\n{sections}\n</body>\n</html>\n'
    )


def with_whole_time(document: Document, folder: Path) -> Document:
    """The document with :data:`WHOLE_TIME` after the simulation's wall time: the
    simulation plus the writing of the folder so far (from its oldest file to now)."""
    if SIMULATION_TIME not in document.facts:
        return document
    written = [path.stat().st_mtime for path in folder.rglob("*") if path.is_file()]
    writing = time.time() - min(written) if written else 0.0
    facts: dict[str, object] = {}
    for key, value in document.facts.items():
        facts[key] = value
        if key == SIMULATION_TIME:
            whole = float(str(value)) + max(writing, 0.0)
            facts[WHOLE_TIME] = f"{whole:.2f} (with the tables, plots and reports)"
    return replace(document, facts=facts)


def write_reports(folder: Path, document: Document) -> None:
    """Write ``summary.md`` and ``report.html`` of one document into a results folder."""
    document = with_whole_time(document, folder)
    (folder / "summary.md").write_text(to_markdown(document), encoding="utf-8")
    (folder / "report.html").write_text(to_html(document, folder), encoding="utf-8")


_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)]+)\)$")


def _markdown_table(lines: list[str]) -> str:
    rows = [[part.strip() for part in line.strip().strip("|").split("|")] for line in lines]
    rows = [row for row in rows if not all(set(part) <= set("-: ") for part in row)]
    head = "".join(f"<th>{inline(part)}</th>" for part in rows[0])
    body = "\n".join(
        "<tr>" + "".join(f"<td>{inline(part)}</td>" for part in row) + "</tr>" for row in rows[1:]
    )
    return f'<div class="table"><table>\n<tr>{head}</tr>\n{body}\n</table></div>'


def _markdown_block(block: list[str], folder: Path) -> str:
    first = block[0]
    if first.startswith("#"):
        level = min(len(first) - len(first.lstrip("#")), 3)
        return f"<h{level}>{inline(first.lstrip('#').strip())}</h{level}>"
    if first.startswith("|"):
        return _markdown_table(block)
    image = _IMAGE.match(first.strip())
    if image and len(block) == 1:
        return image_html(Path(image.group(2)), folder)
    if first.startswith("-"):
        items = "".join(f"<li>{inline(line[2:].strip())}</li>" for line in block)
        return f"<ul>{items}</ul>"
    if first.startswith(">"):
        text = " ".join(line.lstrip(">").strip() for line in block)
        return f"<blockquote>{inline(text)}</blockquote>"
    return f"<p>{inline(' '.join(line.strip() for line in block))}</p>"


def _kind(line: str) -> str:
    if line.startswith("#"):
        return "heading"
    if _IMAGE.match(line.strip()):
        return "image"
    return {"|": "table", "-": "list", ">": "quote"}.get(line[:1], "text")


def markdown_page(text: str, folder: str | Path) -> str:
    """A markdown report as one self-contained HTML page, its images (paths relative to
    `folder`) embedded; the first heading is the page's title."""
    folder = Path(folder)
    blocks: list[list[str]] = []
    kind = ""
    for line in text.splitlines():
        if not line.strip():
            kind = ""
            continue
        this = _kind(line)
        if this in ("heading", "image") or this != kind:
            blocks.append([])
        blocks[-1].append(line)
        kind = this
    title = blocks[0][0].lstrip("#").strip() if blocks and blocks[0][0].startswith("#") else ""
    body = "\n".join(_markdown_block(block, folder) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{inline(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
