"""Image bytes: decode base64 and data: URIs, verify with Pillow, measure, and make thumbnails."""
from __future__ import annotations

import binascii
import io
import re
import urllib.parse
import warnings

import pybase64
from PIL import Image, ImageOps, UnidentifiedImageError

from proofsheet.results import Problem, VerifiedImage

# Raster formats every browser shows; anything else (SVG, HTML, TIFF...) is refused.
SERVED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
MAX_PIXELS = 50_000_000  # about 7000 x 7000; more is a decompression bomb, not a generated image
THUMBNAIL_EDGE = 320
THUMBNAIL_QUALITY = 72

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+/-]*)(?P<params>(;[^,;]*)*?),(?P<payload>.*)$", re.S | re.I)
_WHITESPACE = re.compile(r"\s+")


def is_data_uri(text: str) -> bool:
    return text[:5].lower() == "data:"


def encode_base64(data: bytes) -> bytes:
    """Standard base64, as a server sends an image in b64_json (pybase64: SIMD)."""
    return pybase64.b64encode(data)


def decode_base64(text: str) -> bytes | Problem:
    """Decode bare base64 or a base64 data: URI, as servers send them."""
    if is_data_uri(text):
        return decode_data_uri(text)
    decoded = _strict_base64(text)
    return decoded if decoded is not None else Problem("bad_base64", "The b64_json value is not valid base64.")


def _strict_base64(text: str) -> bytes | None:
    """Base64, with line breaks allowed; stripping them first costs more than the decoding, so only on need.

    pybase64 decodes with SIMD, several times faster than the standard library: on a 4-image b64_json answer this is
    most of what Proofsheet adds to the server's own time.
    """
    for candidate in (text, None):
        try:
            return pybase64.b64decode(candidate if candidate is not None else _WHITESPACE.sub("", text), validate=True)
        except (binascii.Error, ValueError):
            continue
    return None


def decode_data_uri(uri: str) -> bytes | Problem:
    match = _DATA_URI.match(uri)
    if not match:
        return Problem("bad_data_uri", "The data: URI is malformed (no comma before the data).")
    payload = match["payload"]
    if ";base64" in match["params"].lower():
        decoded = _strict_base64(payload)
        return decoded if decoded is not None else Problem(
            "bad_base64", "The data: URI says base64 but its data is not valid base64.")
    return urllib.parse.unquote_to_bytes(payload)


def verify_image(data: bytes) -> VerifiedImage | Problem:
    """Identify the bytes with Pillow and check their structure; only a browser-safe raster image passes.

    Pillow reads the headers and, for PNG, every chunk and checksum, without decompressing the pixels: the full
    decode happens once, off the request, when the thumbnail is made.
    """
    if not data:
        return Problem("not_an_image", "The image is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                refusal = _refusal(image)
                if refusal:
                    return refusal
                facts = VerifiedImage(data=data, format=image.format, mime=SERVED_FORMATS[image.format],
                                      width=image.width, height=image.height,
                                      has_alpha=image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or
                                      "transparency" in image.info)
                image.verify()
                return facts
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Problem("too_large", f"The image claims more pixels than the {MAX_PIXELS // 1_000_000} million "
                                    "allowed; it was not decoded.")
    except UnidentifiedImageError:
        return Problem("not_an_image", _describe_non_image(data))
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        return Problem("not_an_image", f"The image data is damaged and could not be decoded ({exc}).")


def _refusal(image: Image.Image) -> Problem | None:
    if image.format not in SERVED_FORMATS:
        return Problem("not_an_image", f"{image.format} images are not shown; only PNG, JPEG, WebP and GIF are.")
    if image.width * image.height > MAX_PIXELS:
        return Problem(
            "too_large",
            f"The image claims {image.width}×{image.height} pixels, more than the "
            f"{MAX_PIXELS // 1_000_000} million allowed; it was not decoded.",
        )
    return None


def _describe_non_image(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if b"<svg" in head or head.startswith(b"<?xml"):
        return "The server sent an SVG or XML document, not a raster image; it is refused because it can carry script."
    if head.startswith((b"<!doctype html", b"<html")) or b"<script" in head:
        return "The server sent an HTML page, not an image."
    if head.startswith((b"{", b"[")):
        return "The server sent JSON, not an image."
    return f"The data is not an image Proofsheet can read ({len(data):,} bytes of something else)."


def make_thumbnail(data: bytes) -> bytes | None:
    """A small WebP for the gallery, tens of kilobytes at most; None when the pixels cannot be decoded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (THUMBNAIL_EDGE, THUMBNAIL_EDGE))  # JPEG decodes at a fraction of its size
            frame = ImageOps.exif_transpose(image)
            if frame.mode not in ("RGB", "RGBA"):
                frame = frame.convert("RGBA" if "A" in frame.getbands() or "transparency" in frame.info else "RGB")
            scale = THUMBNAIL_EDGE / max(frame.size)
            size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
            small = frame.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0) if scale < 1 else frame
            out = io.BytesIO()
            small.save(out, "WEBP", quality=THUMBNAIL_QUALITY, method=2)
            return out.getvalue()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None
