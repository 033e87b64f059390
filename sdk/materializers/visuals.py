"""Writing visualizations next to a version's data: a PNG encoder (zlib + struct), bounded text
and JSON previews, and the HTML page shell. Everything here is cheap by construction: callers
pass in at most a bounded slice of the data, and every writer caps what it writes. At the end,
showing them: inline in a notebook, else where they are.

This module imports no numpy or pandas, so the built-in materializers can use it too.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import struct
import sys
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sdk.materializers.base import VisualizationType

if TYPE_CHECKING:
    from sdk.materializers.base import BaseMaterializer

FOLDER = "visualizations"
MAX_TEXT_CHARS = 64 * 1024  # a str artifact's Markdown preview
MAX_JSON_NODES = 2_000  # values shown in a dict/list preview, at every depth together
MAX_JSON_ITEMS = 100  # items of one list or keys of one dict shown
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)


def write(
    materializer: BaseMaterializer, name: str, content: bytes, kind: VisualizationType
) -> dict[str, VisualizationType]:
    """Write `content` to `{version}/visualizations/{name}`; returns `{uri: kind}`."""
    relpath = f"{FOLDER}/{name}"
    with materializer.open(relpath, "wb") as f:
        f.write(content)
    separator = "" if materializer.uri.endswith("/") else "/"
    return {f"{materializer.uri}{separator}{relpath}": kind}


def png(pixels: bytes, width: int, height: int, channels: int) -> bytes:
    """An 8-bit PNG of `height` rows of `width * channels` bytes each (row-major, no padding)."""
    color_type = _COLOR_TYPES.get(channels)
    if color_type is None:
        raise ValueError(f"a PNG pixel has 1 to 4 channels, not {channels}")
    stride = width * channels
    if width < 1 or height < 1 or len(pixels) != stride * height:
        raise ValueError(f"{len(pixels)} bytes are not {height} rows of {stride} bytes")
    # Each scanline starts with its filter type; 0 (None) keeps encoding a single pass.
    raw = b"".join(b"\x00" + pixels[row * stride : (row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"".join(
        [
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw, 1)),  # fastest; previews need no more
            _chunk(b"IEND", b""),
        ]
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def markdown_text(text: str) -> bytes:
    """A str artifact as Markdown: the text itself, cut after `MAX_TEXT_CHARS` characters."""
    shown = text[:MAX_TEXT_CHARS]
    if len(text) > MAX_TEXT_CHARS:
        shown += f"\n\n*… {len(text) - MAX_TEXT_CHARS:,} more characters not shown.*\n"
    return shown.encode("utf-8", "surrogatepass")


def markdown_table(rows: list[tuple[str, str]], title: str) -> bytes:
    """A two-column Markdown table (`|` in cells escaped) under a heading."""
    lines = [f"### {title}", "", "| | |", "|---|---|"]
    lines += [f"| {_cell(key)} | {_cell(value)} |" for key, value in rows]
    return ("\n".join(lines) + "\n").encode()


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def json_preview(value: Any) -> bytes:
    """Pretty JSON of a dict/list, keeping at most `MAX_JSON_ITEMS` entries per container and
    `MAX_JSON_NODES` values in all; what is left out is counted in a `"…"` entry, so the
    preview stays valid JSON."""
    budget = [MAX_JSON_NODES]
    return json.dumps(_bounded(value, budget), indent=2, ensure_ascii=False, allow_nan=True).encode(
        "utf-8", "surrogatepass"
    )


def _bounded(value: Any, budget: list[int]) -> Any:
    budget[0] -= 1
    if isinstance(value, dict):
        shown: dict[str, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            if i >= MAX_JSON_ITEMS or budget[0] <= 0:
                shown["…"] = f"{len(value) - i} more keys"
                break
            shown[key] = _bounded(item, budget)
        return shown
    if isinstance(value, list | tuple):
        items: list[Any] = []
        for i, item in enumerate(value):
            if i >= MAX_JSON_ITEMS or budget[0] <= 0:
                items.append(f"… {len(value) - i} more items")
                break
            items.append(_bounded(item, budget))
        return items
    return value


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 8px; text-align: right; white-space: nowrap; }}
thead th {{ background: #f3f3f3; }}
p.note {{ color: #666; }}
</style></head><body>
{body}
</body></html>
"""


def html_page(title: str, body: str) -> bytes:
    """A complete HTML document with inline styles only (no scripts, no external resources).
    `body` must already be escaped; `title` is escaped here."""
    return _PAGE.format(title=html.escape(title), body=body).encode("utf-8", "surrogatepass")


# --- showing saved visualizations -------------------------------------------------------------

NOTEBOOK_CSV_ROWS = 100


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython is then imported already)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def notebook_payload(kind: str, content: bytes) -> tuple[str, Any]:
    """(IPython display class name, its argument) for one visualization, made safe to show
    inside a notebook page: HTML goes into a sandboxed, script-free iframe; raw HTML in
    Markdown is escaped; CSV becomes an escaped HTML table."""
    kind = VisualizationType(kind)
    if kind is VisualizationType.IMAGE:
        return "Image", content
    text = content.decode("utf-8", "replace")
    if kind is VisualizationType.HTML:
        frame = (
            '<iframe sandbox="" referrerpolicy="no-referrer" '
            'style="width: 100%; height: 480px; border: 1px solid #ddd" '
            f'srcdoc="{html.escape(text, quote=True)}"></iframe>'
        )
        return "HTML", frame
    if kind is VisualizationType.MARKDOWN:
        return "Markdown", text.replace("&", "&amp;").replace("<", "&lt;")
    if kind is VisualizationType.JSON:
        return "JSON", json.loads(text)
    if kind is VisualizationType.CSV:
        rows = list(itertools.islice(csv.reader(io.StringIO(text)), NOTEBOOK_CSV_ROWS))
        cells = (
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in rows
        )
        return "HTML", f"<table>{''.join(cells)}</table>"
    return "Pretty", text


def show(items: Sequence[tuple[str, str, str | None, bytes | None]], title: str) -> None:
    """Show `(type, uri, url, content)` visualizations: inline in a notebook, else print
    where each one is (`content` is read only for a notebook)."""
    if in_notebook():
        from IPython import display

        for kind, _, _, content in items:
            if content is not None:
                name, argument = notebook_payload(kind, content)
                display.display(getattr(display, name)(argument))
        return
    if not items:
        print(f"{title} has no visualizations.")
        return
    print(f"{title} has {len(items)} visualization{'s' if len(items) > 1 else ''}:")
    for index, (kind, uri, url, _) in enumerate(items):
        print(f"  [{index}] {kind:<8} {uri}")
        if url:
            print(f"      {'':<8} served at {url}")
