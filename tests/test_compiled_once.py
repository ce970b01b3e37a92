"""Templates and URL rules are compiled once per process and shared by the apps it makes (a test run makes a
thousand): each app still shows its own history, links to its own pages, and an edited template is compiled again."""
from jinja2 import DictLoader, Environment

from proofsheet.web.templating import CompiledTemplates


def test_a_second_app_shows_its_own_history_with_its_own_links(tmp_path, make_app, demo_server):
    first = make_app(tmp_path / "first", demo_server.api_base).test_client()
    second = make_app(tmp_path / "second", demo_server.api_base).test_client()
    assert first.post("/api/generate", json={"prompt": "a lighthouse"}).status_code == 200
    assert second.post("/api/generate", json={"prompt": "a harbour"}).status_code == 200
    assert second.post("/api/generate", json={"prompt": "a pier"}).status_code == 200

    first_page = first.get("/generations").get_data(as_text=True)
    second_page = second.get("/generations").get_data(as_text=True)
    assert "a lighthouse" in first_page and "a harbour" not in first_page
    assert "a harbour" in second_page and "a pier" in second_page and "a lighthouse" not in second_page
    assert 'href="/generations/2"' in second_page and 'href="/generations/2"' not in first_page


def test_a_template_edited_since_it_was_compiled_is_compiled_again():
    compiled = CompiledTemplates()
    templates = {"page.html": "{{ 1 + 1 }} apples"}
    assert Environment(loader=DictLoader(templates), bytecode_cache=compiled).get_template(
        "page.html").render() == "2 apples"
    templates["page.html"] = "{{ 2 + 2 }} pears"
    assert Environment(loader=DictLoader(templates), bytecode_cache=compiled).get_template(
        "page.html").render() == "4 pears"
