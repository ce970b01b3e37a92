"""Small pictures to send and to have a fake server answer with."""
import base64
import io

from PIL import Image


def png_bytes(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def png_base64(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 80, 40)) -> str:
    return base64.b64encode(png_bytes(width, height, colour)).decode()
