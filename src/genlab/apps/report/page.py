"""The frame of a self-contained HTML page: inline CSS, escaped text, tables, pictures as data: URIs. Nothing in
a page is fetched from anywhere (its Content-Security-Policy forbids it), so it reads the same offline."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from html import escape
from pathlib import Path

from PIL import Image

from ...charts import STYLE as CHART_STYLE
from ...errors import GenlabError
from ...files import atomic_path

GENERATOR = '<meta name="generator" content="genlab">'  # marks a page genlab may replace without --force
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"  # the page loads nothing
STYLE = (
    """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;
color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
h3{font-size:14px;margin:14px 0 6px}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12px ui-monospace,Menlo,Consolas,monospace}pre{white-space:pre-wrap;margin:4px 0}
.note{color:#666}.missing{color:#a60;font-weight:bold}.warn{color:#a40}
tr.stale td{color:#999;background:#fafafa}.badge{font-size:11px;padding:1px 5px;border-radius:3px;background:#eee}
tr.stale .badge{background:#fde2c8;color:#8a4b00}
.charts,.pictures{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:12px;color:#555}
img.pixels{image-rendering:pixelated;height:auto;max-width:100%;border:1px solid #eee}
.facts td:first-child{color:#555}.config{columns:3 340px}.config table{break-inside:avoid;width:100%}
"""
    + CHART_STYLE
)


def page(title: str, body: Iterable[str]) -> str:
    """A complete HTML document around ``body`` (HTML fragments, already escaped)."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{GENERATOR}'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body></html>\n"
    )


def section(title: str, *parts: str) -> str:
    """An ``<h2>`` and what follows it."""
    return f"<h2>{escape(title)}</h2>\n" + "\n".join(part for part in parts if part)


def table(header: list[str], rows: Iterable[list[str]], row_classes: Iterable[str] = (), css: str = "") -> str:
    """An HTML table of cells that are already HTML (escape text with ``text``); no header row for ``[]``."""
    classes = list(row_classes)
    head = f"<tr>{''.join(f'<th>{h}</th>' for h in header)}</tr>" if header else ""
    body = "".join(
        f"<tr{css_class(classes[i] if i < len(classes) else '')}>"
        + "".join(f"<td>{cell}</td>" for cell in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table{css_class(css)}>{head}{body}</table>"


def css_class(name: str) -> str:
    """A ``class`` attribute, or nothing for no name."""
    return f' class="{escape(name)}"' if name else ""


def text(value: object) -> str:
    """Any value as escaped HTML text."""
    return escape(str(value))


def note(line: str, css: str = "note") -> str:
    """One escaped paragraph."""
    return f'<p class="{css}">{escape(line)}</p>'


def embedded_picture(path: Path, caption: str, max_width: int = 480) -> str:
    """A picture file as an ``<img>`` with its bytes inline (small grids shown enlarged, pixels kept sharp); a
    file that is not a readable picture becomes a line saying so."""
    try:
        with Image.open(path) as image:
            width, mime = image.width, Image.MIME.get(image.format or "", "image/png")
    except (OSError, ValueError):
        return note(f"unreadable picture: {path.name}", "warn")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    shown = min(width * max(1, min(4, 240 // max(width, 1))), max_width)
    return (
        f'<figure><img class="pixels" src="data:{mime};base64,{data}" width="{shown}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def made_by_genlab(path: Path) -> bool:
    """Whether the file at ``path`` is a page genlab wrote (a report or a compare page)."""
    with open(path, "rb") as f:
        return GENERATOR.encode() in f.read(1024)


def save_page(path: str | Path, content: str, force: bool = False) -> Path:
    """Write ``content`` to ``path`` atomically; an existing file is replaced only when it is a genlab page, or
    with ``force``."""
    path = Path(path)
    if path.is_dir():
        raise GenlabError(f"{path} is a folder; name the file to write, e.g. {path / 'report.html'}")
    if path.exists() and not force and not made_by_genlab(path):
        raise GenlabError(f"{path} already exists and is not a genlab page; pass --force to overwrite it")
    with atomic_path(path) as tmp:
        tmp.write_text(content, encoding="utf-8")
    return path
