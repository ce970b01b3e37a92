"""What the demo image server says besides its pictures, in real servers' words: what they refuse, what gpt-image
echoes back, the tokens it reports."""
from __future__ import annotations

from typing import Any

from proofsheet.demo.drawing import unreadable

IMAGE_MODELS = ["flux", "flux-dev", "flux-schnell", "sdxl-turbo", "dall-e-3", "gpt-image-1", "gpt-image-1-mini"]
GPT_IMAGE = ("gpt-image-1", "gpt-image-1-mini")
# Output tokens gpt-image-1 reports for a 1024×1024 image, by quality (larger sizes scale by area).
OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
MAX_N = 10


def refusal(body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """What a real server refuses, in its own words: unknown models (gpt4free), OpenAI's rules for its models."""
    model = body["model"]
    if model not in IMAGE_MODELS:  # as gpt4free answers an unknown model
        return 404, {"error": {"message": f"Model not found: {model}"}, "model": model}
    for name in ("n", "seed"):
        if body.get(name) is not None and (not isinstance(body[name], int) or isinstance(body[name], bool)):
            return 422, {"detail": [{"loc": ["body", name], "msg": "Input should be a valid integer", "type": "int_type"}]}
    if model in GPT_IMAGE and "response_format" in body:
        return 400, openai_error("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter")
    if model == "dall-e-3" and (body.get("n") or 1) > 1:
        return 400, openai_error("You must provide n=1 for this model.", "n")
    if model in GPT_IMAGE and body.get("background") == "transparent" and body.get("output_format") == "jpeg":
        return 400, openai_error("Transparent background is not supported for the jpeg output format.", "background")
    return None


def edit_refusal(body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """OpenAI's 400 for an input image it cannot read, or a mask that is not a PNG."""
    for index, image in enumerate(body["image"]):
        why = unreadable(image)
        if why:
            return 400, openai_error(f"Invalid input image {index + 1}: {why}.", "image", "invalid_image_format")
    why = unreadable(body["mask"], png_only=True) if "mask" in body else None
    if why:
        return 400, openai_error(f"Invalid mask image: {why}; the mask must be a PNG file.", "mask",
                                  "invalid_image_format")
    return None


def openai_error(message: str, param: str | None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def count(body: dict[str, Any]) -> int:
    return max(1, min(MAX_N, int(body.get("n") or 1)))


def echo(body: dict[str, Any]) -> dict[str, str]:
    """The fields gpt-image answers with: what it actually made."""
    quality = body.get("quality") if body.get("quality") in OUTPUT_TOKENS else "medium"
    background = "transparent" if body.get("background") == "transparent" else "opaque"
    size = "1024x1024" if body.get("size") in (None, "auto") else str(body["size"])
    return {"background": background, "output_format": body.get("output_format") or "png", "quality": quality,
            "size": size}


def usage(body: dict[str, Any], images: int, edit: bool) -> dict[str, Any]:
    width, height = size(body.get("size"))
    output = round(OUTPUT_TOKENS[echo(body)["quality"]] * width * height / (1024 * 1024)) * images
    text = len(body["prompt"].split()) + 8
    image_in = 323 * len(body.get("image") or []) if edit else 0
    return {"input_tokens": text + image_in, "input_tokens_details": {"text_tokens": text, "image_tokens": image_in},
            "output_tokens": output, "total_tokens": text + image_in + output}


def size(value: Any) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in str(value).lower().split("x"))
        return max(64, min(width, 2048)), max(64, min(height, 2048))
    except ValueError:
        return 1024, 1024
