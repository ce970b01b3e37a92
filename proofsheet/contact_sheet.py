"""Contact sheets: a comparison or a selection as one labelled PNG (drawn with Pillow and a bundled font, so it looks
the same everywhere) or as one self-contained HTML file (images inlined, styles inline, no script)."""
from __future__ import annotations

import base64
import io
import json
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps
from PIL.PngImagePlugin import PngInfo

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
CELL = 384  # the longest edge of each image on the PNG sheet
INLINE_EDGE = 1024  # the longest edge of each image inlined in the HTML sheet
PAD = 24
ROW_LABEL_WIDTH = 220
INK, MUTED, PAPER, LINE = (20, 24, 31), (96, 104, 118), (255, 255, 255), (222, 226, 232)


@dataclass
class SheetCell:
    label: str
    image: Path | None  # the kept image file, or None when the cell has none
    note: str = ""  # why there is no image (the error), or a caption under it


@dataclass
class Sheet:
    title: str  # the prompt, or what the selection is
    created_at: float
    columns: list[str]
    rows: list[str]  # row labels of an X/Y grid; empty for a single row (or a selection, wrapped)
    cells: list[SheetCell]  # along the rows
    parameters: list[dict[str, Any]] = field(default_factory=list)  # each cell's request, for the PNG's text chunks
    base_prompt: str = ""  # a grid whose rows change the prompt: the prompt they start from, printed under the title

    @property
    def per_row(self) -> int:
        return len(self.columns) if self.rows else min(4, max(1, len(self.cells)))

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created_at))


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def _wrapped(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int, lines: int) -> list[str]:
    """Text broken to fit `width` pixels, at most `lines` lines (the last one ending in … when cut)."""
    words, result, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width:
            line = trial
            continue
        if line:
            result.append(line)
        line = word
        while draw.textlength(line, font=font) > width and len(line) > 1:  # a word longer than the line
            cut = _cut(line, max(1, int(len(line) * width / draw.textlength(line, font=font)) - 1))
            result.append(line[:cut])
            line = line[cut:]
    if line:
        result.append(line)
    if len(result) > lines:
        result = result[:lines]
        result[-1] = textwrap.shorten(result[-1] + " …", width=max(4, len(result[-1])), placeholder="…")
    return result or [""]


def _cut(word: str, fits: int) -> int:
    """Where to break a word too long for its line: after the last hyphen, slash, dot or underscore among the first
    `fits` characters when that leaves a few on each side ("gpt-image-1" never ends a line at "gpt-image-")."""
    for index in range(fits, 2, -1):
        if word[index - 1] in "-/._·" and len(word) - index >= 3:
            return index
    return fits


def render_png(sheet: Sheet) -> bytes:
    """The sheet as one PNG: a header (prompt, date), column labels, row labels, each image fitted in its cell."""
    title_font, small, label_font = _font(26, bold=True), _font(16), _font(18, bold=True)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    per_row = sheet.per_row
    left = ROW_LABEL_WIDTH if sheet.rows else 0
    width = PAD * 2 + left + per_row * CELL + (per_row - 1) * PAD
    title = _wrapped(probe, sheet.title, title_font, width - 2 * PAD, 3)
    base = _wrapped(probe, f"Base prompt: {sheet.base_prompt}", small, width - 2 * PAD, 3) if sheet.base_prompt else []
    label_lines = 2
    header = PAD + len(title) * 34 + len(base) * 22 + 30 + PAD
    cell_height = label_lines * 24 + 8 + CELL + 22 + 8
    grid_rows = -(-len(sheet.cells) // per_row)
    height = header + grid_rows * (cell_height + PAD) + PAD + 10
    canvas = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(canvas)
    y = PAD
    for line in title:
        draw.text((PAD, y), line, font=title_font, fill=INK)
        y += 34
    for line in base:
        draw.text((PAD, y), line, font=small, fill=INK)
        y += 22
    draw.text((PAD, y + 4), f"{sheet.date} · {len(sheet.cells)} images · Proofsheet", font=small, fill=MUTED)
    draw.line((PAD, header - PAD // 2, width - PAD, header - PAD // 2), fill=LINE, width=2)
    for index, cell in enumerate(sheet.cells):
        row, column = divmod(index, per_row)
        x = PAD + left + column * (CELL + PAD)
        top = header + row * (cell_height + PAD)
        if sheet.rows and column == 0 and row < len(sheet.rows):
            for offset, line in enumerate(_wrapped(draw, sheet.rows[row], label_font, left - PAD, 6)):
                draw.text((PAD, top + label_lines * 24 + 8 + offset * 24), line, font=label_font, fill=MUTED)
        if not sheet.rows or row == 0:  # a grid names its columns once, at the top
            for offset, line in enumerate(_wrapped(draw, cell.label, label_font, CELL, label_lines)):
                draw.text((x, top + offset * 24), line, font=label_font, fill=INK)
        box_top = top + label_lines * 24 + 8
        _paste_fitted(canvas, draw, cell, (x, box_top), small)
        if cell.note and cell.image is not None:
            draw.text((x, box_top + CELL + 4), _wrapped(draw, cell.note, small, CELL, 1)[0], font=small, fill=MUTED)
    out = io.BytesIO()
    canvas.save(out, "PNG", pnginfo=_text_chunks(sheet), optimize=False)
    return out.getvalue()


def _paste_fitted(canvas: Image.Image, draw: ImageDraw.ImageDraw, cell: SheetCell, at: tuple[int, int],
                  font: ImageFont.FreeTypeFont) -> None:
    x, y = at
    picture = _open(cell.image, CELL)
    if picture is None:
        draw.rectangle((x, y, x + CELL, y + CELL), outline=LINE, width=2)
        for offset, line in enumerate(_wrapped(draw, cell.note or "No image", font, CELL - 24, 8)):
            draw.text((x + 12, y + 12 + offset * 22), line, font=font, fill=MUTED)
        return
    canvas.paste(picture, (x + (CELL - picture.width) // 2, y + (CELL - picture.height) // 2))


def _fitted(path: Path | None, edge: int) -> Image.Image | None:
    """The kept image, upright, at most edge×edge; None when there is none or it cannot be read."""
    if path is None or not path.exists():
        return None
    try:
        with Image.open(path) as image:
            fitted = ImageOps.exif_transpose(image)
            fitted.thumbnail((edge, edge))
            return fitted
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _open(path: Path | None, edge: int) -> Image.Image | None:
    """The image fitted within edge×edge, flattened on white (the sheet is opaque)."""
    image = _fitted(path, edge)
    if image is None or image.mode not in ("RGBA", "LA", "P"):
        return image.convert("RGB") if image else None
    image = image.convert("RGBA")
    flat = Image.new("RGB", image.size, PAPER)
    flat.paste(image, mask=image.getchannel("A"))
    return flat


def _text_chunks(sheet: Sheet) -> PngInfo:
    """The prompt and every cell's parameters ride along in the PNG, as image tools read them."""
    info = PngInfo()
    info.add_itxt("Title", sheet.title[:2000])
    info.add_itxt("prompt", sheet.base_prompt or sheet.title)
    info.add_itxt("parameters", json.dumps({"columns": sheet.columns, "rows": sheet.rows,
                                            "cells": sheet.parameters}, ensure_ascii=False))
    info.add_text("Software", "Proofsheet")
    info.add_text("Creation Time", sheet.date)
    return info


def inline_image(path: Path | None) -> str | None:
    """A data: URI of the image, at most INLINE_EDGE on its longest side (JPEG, or PNG when it has transparency)."""
    image = _fitted(path, INLINE_EDGE)
    if image is None:
        return None
    out = io.BytesIO()
    if image.mode in ("RGBA", "LA", "P") and image.convert("RGBA").getchannel("A").getextrema()[0] < 255:
        image.convert("RGBA").save(out, "PNG")
        mime = "image/png"
    else:
        image.convert("RGB").save(out, "JPEG", quality=85)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(out.getvalue()).decode()}"
