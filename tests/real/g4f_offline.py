"""The real gpt4free API server (`g4f api`), offline, with an image provider of its own: `g4f_offline.py PORT [DIR]`.

Importing `g4f.api` looks up gpt4free's provider directory on the internet (g4f.dev/dist/js/providers.json) unless
today's copy is in its cache folder, `$G4F_CACHE_DIR/.models/<YYYY-MM-DD>/providers.json`. This script points
G4F_CACHE_DIR and G4F_CONFIG_DIR at a folder of its own (DIR, else a temporary one) and puts a one-entry directory
there first, so the import asks nothing of the network (the copy is read once, at import). Then it registers
`ProofsheetPainter`, a real gpt4free provider class that draws a PNG with Pillow (answered as a data: URI), makes it
the default provider, and serves gpt4free's own API with uvicorn on 127.0.0.1, as
`g4f api --provider ProofsheetPainter` does.
"""
from __future__ import annotations

import base64
import io
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw

PROVIDER = "ProofsheetPainter"
# The one entry gpt4free's import asks for ("default", behind its G4FSpace provider), pointed at a closed port.
DIRECTORY = {"providers": {"default": {"baseUrl": "http://127.0.0.1:9/v1"}}, "defaultModels": {"default": ""}}


def seed_provider_directory(cache: Path) -> None:
    """Today's provider directory, as gpt4free would have cached it after one download."""
    path = cache / ".models" / datetime.today().strftime("%Y-%m-%d") / "providers.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(DIRECTORY), encoding="utf-8")


def painted_png(prompt: str, width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), (40, 90, 160))
    ImageDraw.Draw(image).text((4, 4), prompt[:40], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def register_painter() -> None:
    """A provider written as gpt4free's own are: listed by `/v1/models`, reachable at `/api/ProofsheetPainter/...`."""
    from g4f.Provider import ProviderLoader
    from g4f.Provider.base_provider import AsyncGeneratorProvider, ProviderModelMixin
    from g4f.providers.response import ImageResponse

    class ProofsheetPainter(AsyncGeneratorProvider, ProviderModelMixin):
        label = "Proofsheet painter (offline)"
        url = "http://127.0.0.1"
        working = True
        default_model = "painter-1"
        default_image_model = default_model
        image_models = [default_model]
        models = image_models

        @classmethod
        async def create_async_generator(cls, model: str, messages: list, prompt: str | None = None,
                                         width: int | None = None, height: int | None = None, **kwargs):
            text = prompt or str(messages[-1]["content"])
            if "fail" in text:
                raise RuntimeError("The painter refuses prompts that ask it to fail.")
            png = painted_png(text, width or 64, height or 48)
            yield ImageResponse(["data:image/png;base64," + base64.b64encode(png).decode()], text)

    # gpt4free's provider map is a view of ProviderLoader: its names are listed, its loaded classes are served.
    ProviderLoader.names.append(PROVIDER)
    ProviderLoader.loaded[PROVIDER] = ProviderLoader.loaded[PROVIDER.lower()] = ProofsheetPainter


def main() -> None:
    port = int(sys.argv[1])
    cache = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="g4f-cache-"))
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["G4F_CACHE_DIR"] = str(cache)
    os.environ["G4F_CONFIG_DIR"] = str(cache / "config")  # nothing of gpt4free's lands in the home folder
    os.chdir(cache)  # gpt4free keeps its media (generated_media/) and cookie folders beside where it runs
    seed_provider_directory(cache)
    register_painter()
    from g4f.api import AppConfig, run_api

    # As `g4f api --provider ProofsheetPainter`: a body without a provider goes to the painter, not to the internet.
    AppConfig.set_config(ignore_cookie_files=True, provider=PROVIDER)
    run_api(host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
