"""Regenerate the README's screenshots: the app and its demo server on loopback, real Chromium at 1366×768.

    python docs/make_screenshots.py
"""
from __future__ import annotations

import sys
import io
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image
from playwright.sync_api import sync_playwright  # noqa: E402
from waitress.server import create_server  # noqa: E402

from app import create_app  # noqa: E402
from proofsheet.demo.server import DemoImageServer  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PROMPTS = ["A lighthouse on a cliff at dawn, oil painting", "hello world user", "A fox in the snow, watercolour",
           "Neon city street in the rain", "A bowl of ramen, studio photo", "Paper boats on a pond"]


def _mask_png() -> bytes:
    """Transparent where the door goes: the area to edit."""
    mask = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (420, 560, 620, 900))
    out = io.BytesIO()
    mask.save(out, "PNG")
    return out.getvalue()


def main() -> None:
    out = ROOT / "docs"
    with DemoImageServer() as demo, DemoImageServer(api_key="sk-demo-second") as second, \
            tempfile.TemporaryDirectory() as data:
        app = create_app({"API_BASE": demo.api_base, "DATA_DIR": data, "SERVER_LABEL": "built-in demo server (not AI)"})
        server = create_server(app, host="127.0.0.1", port=0, threads=8, asyncore_use_poll=True)
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}"
        client = app.test_client()
        for prompt in PROMPTS[2:]:
            client.post("/api/generate", json={"prompt": prompt, "model": "flux", "response_format": "b64_json"})
        client.post("/api/generate", json={"prompt": "A robot", "model": "flux-pro-ultra"})
        result = client.post("/api/generate", json={"prompt": PROMPTS[0], "model": "flux", "n": 2,
                                                    "response_format": "b64_json"}).get_json()
        group = client.post("/api/compare", json={"prompt": "A fox in the snow, watercolour", "size": "768x768",
                                                  "models": ["flux", "sdxl-turbo", "dall-e-3", "gpt-image-1"]}).get_json()
        edit = client.post("/api/edit", content_type="multipart/form-data", data={
            "prompt": "A red door in the lighthouse", "model": "gpt-image-1", "quality": "high",
            "source_generation": str(result["id"]), "source_image": "0",
            "mask": (io.BytesIO(_mask_png()), "mask.png")}).get_json()
        client.post("/api/servers", json={"name": "openai-like", "api_base": second.api_base,
                                          "api_key": "sk-demo-second"})
        across = client.post("/api/compare", json={"prompt": "A lighthouse on a cliff at dawn, oil painting", "targets": [
            {"server": "default", "model": "flux"}, {"server": "openai-like", "model": "gpt-image-1"},
            {"server": "openai-like", "model": "dall-e-3"}]}).get_json()
        blind = client.post("/api/arena", json={"prompt": "A red fox in the snow, watercolour", "category": "animals",
                                                "contenders": [{"model": "flux"}, {"model": "dall-e-3"}]}).get_json()
        for winner in ("B", "A", "tie", "B"):
            voted = client.post("/api/arena", json={"prompt": "A lighthouse on a cliff at dawn", "category": "places",
                                                    "contenders": [{"model": "flux"}, {"model": "sdxl-turbo"},
                                                                   {"model": "gpt-image-1", "server": "openai-like"}]}
                                ).get_json()
            client.post(f"/api/arena/{voted['id']}/vote", json={"winner": winner})
        grid = client.post("/api/compare", json={"prompt": "A fox in the snow, watercolour", "size": "768x768",
                                                 "models": ["flux", "dall-e-3", "gpt-image-1"],
                                                 "prompt_sr": ["fox", "whale", "owl"]}).get_json()
        client.post(f"/api/generations/{result['id']}/star")
        (out / "contact-sheet.png").write_bytes(client.get(f"/compare/{grid['id']}/contact-sheet.png").get_data())
        shots = {"result": f"/generations/{result['id']}", "compare": f"/compare/{group['id']}",
                 "arena": blind["permalink"], "arena-reveal": voted["permalink"], "leaderboard": "/arena/leaderboard",
                 "present": f"/present?group={grid['id']}", "grid": f"/compare/{grid['id']}",
                 "servers": "/servers", "compare-servers": f"/compare/{across['id']}",
                 "gallery": "/generations", "main": "/", "edit": f"/generations/{edit['id']}"}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": 1366, "height": 768}, color_scheme=scheme)
                for name, path in shots.items():
                    page.goto(base + path)
                    page.wait_for_timeout(400)
                    page.screenshot(path=str(out / f"{name}-{scheme}.png"))
                page.close()
            browser.close()
        server.close()


if __name__ == "__main__":
    main()
