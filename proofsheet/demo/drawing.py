"""The demo server's pictures: labelled placeholders drawn with Pillow from the prompt (not AI)."""
from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import random
import textwrap

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, UnidentifiedImageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def unreadable(data: bytes, png_only: bool = False) -> str | None:
    """Why an uploaded picture cannot be drawn on (not an image, or not a PNG when one is needed), else None."""
    if png_only and not data.startswith(PNG_SIGNATURE):
        return "not a PNG file"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return "not an image Pillow can read"
    return None


@functools.lru_cache(maxsize=16)  # the same request draws the same picture; benchmarks ask for it again and again
def draw_image(prompt: str, model: str, width: int, height: int, seed: int = 0, grain: bool = False,
               transparent: bool = False, image_format: str = "PNG") -> bytes:
    """A pleasant, clearly labelled placeholder: colours from the prompt, the prompt written on it."""
    rng = random.Random(hashlib.sha256(f"{prompt}|{model}|{seed}".encode()).digest())
    hue = rng.random()
    corners = [_colour(hue + shift, 0.55, value) for shift, value in ((0, 0.95), (0.08, 0.8), (0.5, 0.55), (0.6, 0.35))]
    image = Image.new("RGB", (2, 2))
    image.putdata(corners)
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    _draw_circles(image, rng, hue)
    if grain:  # a photo-like, barely compressible texture for benchmarks
        noise = Image.merge("RGB", [Image.effect_noise((width, height), 40) for _ in range(3)])
        image = ImageChops.add(ImageChops.multiply(image, Image.new("RGB", image.size, (200,) * 3)), noise, 1.0, -40)
    _draw_label(image, prompt)
    if transparent:  # the picture on a round card, its corners see-through
        card = Image.new("L", image.size, 0)
        ImageDraw.Draw(card).rounded_rectangle((0, 0, width - 1, height - 1), radius=min(width, height) // 5, fill=255)
        image = image.convert("RGBA")
        image.putalpha(card)
    return _encode(image, image_format)


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "PNG":
        image.save(out, "PNG", compress_level=1)
    else:
        (image if image_format == "WEBP" else image.convert("RGB")).save(out, image_format, quality=90)
    return out.getvalue()


def blurred(data: bytes, strength: int) -> bytes:
    """A partial image: the finished one, blurred (more for earlier partials), as the audience watches it sharpen."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return _encode(image.filter(ImageFilter.GaussianBlur(radius=6 * strength)), image.format or "PNG")


def draw_edit(source: bytes, mask: bytes | None, prompt: str, model: str, width: int, height: int,
              image_format: str = "PNG") -> bytes:
    """An edit: the input image, the masked area (transparent in the mask) shaded, and the prompt written on it."""
    with Image.open(io.BytesIO(source)) as opened:
        image = opened.convert("RGB").resize((width, height))
    if mask:
        with Image.open(io.BytesIO(mask)) as opened:
            alpha = opened.convert("RGBA").resize((width, height)).getchannel("A")
        editable = alpha.point(lambda value: 255 if value == 0 else 0)
        image.paste(Image.new("RGB", image.size, (255, 80, 160)), (0, 0),
                    editable.point(lambda value: value * 45 // 100))
    _draw_label(image, "edit: " + prompt)
    return _encode(image, image_format)


def _colour(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return int(red * 255), int(green * 255), int(blue * 255)


def _draw_circles(image: Image.Image, rng: random.Random, hue: float) -> None:
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    edge = min(image.size)
    for _ in range(7):
        radius = rng.uniform(0.08, 0.3) * edge
        x, y = rng.uniform(0, image.width), rng.uniform(0, image.height)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius),
                     fill=_colour(hue + rng.uniform(-0.15, 0.15), 0.5, 1.0) + (70,))
    image.paste(overlay, (0, 0), overlay)


def _draw_label(image: Image.Image, prompt: str) -> None:
    """The demo mark and the prompt. Not the model: pages name it beside each image, and a blind vote must not."""
    draw = ImageDraw.Draw(image)
    edge = min(image.size)
    big = ImageFont.load_default(size=max(10, edge // 14))
    small = ImageFont.load_default(size=max(8, edge // 28))
    margin = edge // 16
    draw.text((margin, margin), "DEMO · not AI", font=big, fill="white", stroke_width=max(1, edge // 256),
              stroke_fill=(0, 0, 0))
    lines = textwrap.wrap(prompt, width=max(12, image.width // max(1, edge // 50)))[:6]
    y = image.height - margin - len(lines) * edge // 22
    for line in lines:
        draw.text((margin, y), line, font=small, fill="white", stroke_width=1, stroke_fill=(0, 0, 0))
        y += edge // 22
