"""Contact-sheet labels break between words (or after a hyphen, never leaving a scrap), and a grid of prompts prints
the prompt its rows start from."""
import io

from PIL import Image, ImageDraw

from proofsheet.contact_sheet import _font, _wrapped


def test_a_model_name_too_long_for_its_line_breaks_at_a_hyphen_and_leaves_no_scrap():
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    font = _font(18, bold=True)
    width = int(draw.textlength("gpt-image-1", font=font)) - 2  # one character too narrow
    assert _wrapped(draw, "gpt-image-1", font, width, 3) == ["gpt-", "image-1"]
    assert _wrapped(draw, "default · gpt-image-1", font, 400, 2) == ["default · gpt-image-1"]


def test_a_search_and_replace_grid_prints_its_base_prompt_on_both_sheets(client):
    group = client.post("/api/compare", json={"prompt": "a fox in the snow", "models": ["flux"], "size": "64x64",
                                              "prompt_sr": "fox, whale"}).get_json()
    page = client.get(f"/compare/{group['id']}/contact-sheet.html").get_data(as_text=True)
    assert "2 prompts × 1 model" in page and "Base prompt: a fox in the snow" in page
    sheet = Image.open(io.BytesIO(client.get(f"/compare/{group['id']}/contact-sheet.png").get_data()))
    assert sheet.text["prompt"] == "a fox in the snow"


def test_a_grid_of_written_prompts_names_no_base_prompt(client):
    group = client.post("/api/compare", json={"models": ["flux"], "size": "64x64", "prompts": ["a fox", "a whale"]})
    page = client.get(f"/compare/{group.get_json()['id']}/contact-sheet.html").get_data(as_text=True)
    assert "Base prompt" not in page
