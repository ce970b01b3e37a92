"""Side files in the data folder (prices.json, servers.json, server-keys.json) are the person's to edit: an entry of
the wrong shape is skipped with one warning naming the file and the entry, pages never fail because of it, and no
number that is not JSON (Infinity, NaN) reaches an answer."""
import json
import logging

import pytest
import requests
from tests.support import start_app_process, stop_process



def strict_json(text):
    """JSON as other programs read it: Infinity and NaN are not JSON."""
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def with_file(tmp_path, name, content):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / name).write_text(content)
    return data


def pages_of(get, generation_id):
    """Every page and answer that shows a generation, as (status, body)."""
    return [get(path) for path in ("/generations", f"/generations/{generation_id}",
                                   f"/api/generations/{generation_id}", "/api/generations")]


PRICES = "prices.json"


@pytest.mark.parametrize("content, model, said", [
    ('{"models": {"flux": 5}}', "flux",
     'Skipped the price of "flux" in {path}: it is a number, not an object such as {{"per_image": {{"1024x1024": '
     '0.04}}}}.'),
    ('{"models": {"flux": {"per_image": {"1024x1024": 1e400}}}}', "flux",
     'Skipped the price of "flux" in {path}: its per_image price "1024x1024" is inf; a price is a number of dollars '
     'from 0 to 1,000,000, or null.'),
    ('{"models": {"flux": {"per_image": {"1024x1024": NaN}}}}', "flux",
     'Skipped the price of "flux" in {path}: its per_image price "1024x1024" is nan; a price is a number of dollars '
     'from 0 to 1,000,000, or null.'),
    ('{"models": {"flux": {"per_image": ["0.04"]}}}', "flux",
     'Skipped the price of "flux" in {path}: its per_image is a list, not an object of prices.'),
    ('{"models": {"gpt-image-1": {"per_million_tokens": {"text_input": "5", "image_output": 40}}}}', "gpt-image-1",
     'Skipped the price of "gpt-image-1" in {path}: its per_million_tokens price "text_input" is text; a price is a '
     'number of dollars from 0 to 1,000,000, or null.'),
    ('{"models": {"dall-e-3": {"per_image": {"standard 1024x1024": -1}}}}', "dall-e-3",
     'Skipped the price of "dall-e-3" in {path}: its per_image price "standard 1024x1024" is -1; a price is a number '
     'of dollars from 0 to 1,000,000, or null.'),
    ('{"models": [5]}', "flux",
     'The price table {path} should hold an object with "models" (an object of prices by model), not a list; no '
     'costs are estimated.'),
    ('[1, 2]', "flux",
     'The price table {path} should hold an object with "models" (an object of prices by model), not a list; no '
     'costs are estimated.'),
])
def test_a_malformed_price_entry_is_skipped_with_one_warning_and_every_page_answers(make_app, tmp_path, demo_server, caplog,
                                                                                     content, model, said):
    path = with_file(tmp_path, PRICES, content) / PRICES
    client = make_app(tmp_path, demo_server.api_base).test_client()
    with caplog.at_level(logging.WARNING):
        answer = client.post("/api/generate", json={"prompt": "a fox", "model": model})
        assert answer.status_code == 200 and strict_json(answer.data)["cost"] is None
        shown = pages_of(client.get, answer.get_json()["id"])
    assert [page.status_code for page in shown] == [200] * 4
    for page in shown[2:]:
        strict_json(page.data)
    warning = said.format(path=path)
    assert [record.getMessage() for record in caplog.records].count(warning) == 1


def test_the_entries_beside_a_malformed_one_still_price(make_app, tmp_path, demo_server):
    with_file(tmp_path, PRICES, '{"models": {"flux": 5, "dall-e-3": {"per_image": {"standard 1024x1024": 0.04}}}}')
    client = make_app(tmp_path, demo_server.api_base).test_client()
    answer = client.post("/api/generate", json={"prompt": "a fox", "model": "dall-e-3"}).get_json()
    assert answer["cost"]["usd"] == pytest.approx(0.04)


def test_a_callers_size_of_any_shape_gets_no_estimate_and_no_failure(make_app, tmp_path, demo_server):
    client = make_app(tmp_path, demo_server.api_base).test_client()
    kept = client.post("/v1/images/generations", json={"prompt": "a fox", "model": "dall-e-3", "size": ["1024"]})
    generation_id = kept.headers["X-Proofsheet-Generation"]
    assert [page.status_code for page in pages_of(client.get, generation_id)] == [200] * 4


def test_the_issues_price_tables_against_a_real_process(tmp_path, demo_server):
    data = with_file(tmp_path, PRICES, '{"models": {"flux": 5, "dall-e-3": {"per_image": {"standard 1024x1024": '
                                       '1e400}}}}')
    log = tmp_path / "app.log"
    process, url = start_app_process(data, demo_server.api_base, log_path=log)
    try:
        answers = [requests.post(url + "/api/generate", json={"prompt": "a fox", "model": model}, timeout=30)
                   for model in ("flux", "dall-e-3")]
        assert [(answer.status_code, strict_json(answer.text)["cost"]) for answer in answers] == [(200, None)] * 2
        for answer in answers:
            shown = pages_of(lambda path: requests.get(url + path, timeout=30), answer.json()["id"])
            assert [page.status_code for page in shown] == [200] * 4
            strict_json(shown[2].text)
    finally:
        stop_process(process)
    printed = log.read_text()
    assert "Traceback" not in printed
    assert printed.count(f'Skipped the price of "flux" in {data / PRICES}: it is a number') == 1
    assert printed.count(f'Skipped the price of "dall-e-3" in {data / PRICES}: its per_image price "standard '
                         '1024x1024" is inf') == 1


SERVERS, KEYS = "servers.json", "server-keys.json"


@pytest.mark.parametrize("servers, keys, said, listed", [
    ('[{"name": "box", "api_base": "DEMO"}]', '{"box": {"api_key": 5}}',
     "Skipped server 1 'box' kept in DATA: in server-keys.json, its entry should be an object whose api_key and "
     "api_base are text.", ["default"]),
    ('[{"name": "box", "api_base": "DEMO"}]', '{"box": "sk-a-key"}',
     "Skipped server 1 'box' kept in DATA: in server-keys.json, its entry should be an object whose api_key and "
     "api_base are text.", ["default"]),
    ('[5, {"name": "box", "api_base": "DEMO"}]', '{}',
     "Skipped server 1 kept in DATA: in servers.json, it is a number, not an object with a name and an api_base.",
     ["default", "box"]),
    ('[{"name": "box", "api_base": 5}, {"name": "two", "api_base": "DEMO"}]', '{}',
     "Skipped server 1 'box' kept in DATA: in servers.json, its api_base should be a URL starting with http:// or "
     "https://.", ["default", "two"]),
    ('[{"name": "no spaces", "api_base": "DEMO"}]', '{}',
     "Skipped server 1 'no spaces' kept in DATA: in servers.json, its name should be up to 40 letters, digits, dots, "
     "dashes or underscores.", ["default"]),
    ('[{"name": "box", "api_base": "DEMO", "api_key_env": 7}]', '{}',
     "Skipped server 1 'box' kept in DATA: in servers.json, its api_key_env should be an environment variable's "
     "name, or null.", ["default"]),
    ('[{"name": "box", "api_base": "http://[::1/v1"}]', '{}',
     "Skipped server 1 'box' kept in DATA: its api_base cannot be used (Invalid IPv6 URL).", ["default"]),
    ('{"box": "DEMO"}', '{}',
     "Could not read the servers kept in DATA/servers.json (it holds an object, not a list of servers); only the "
     "servers given at start are used.", ["default"]),
    ('[{"name": "box", "api_base": "DEMO"}]', '[1]',
     "Could not read the keys kept in DATA/server-keys.json (it holds a list, not an object of keys by server "
     "name); only the servers given at start are used.", ["default"]),
])
def test_a_malformed_kept_server_is_skipped_with_one_warning_and_start_up_goes_on(tmp_path, demo_server, servers,
                                                                                  keys, said, listed):
    data = with_file(tmp_path, SERVERS, servers.replace("DEMO", demo_server.api_base))
    with_file(tmp_path, KEYS, keys)
    log = tmp_path / "app.log"
    process, url = start_app_process(data, demo_server.api_base, log_path=log)
    try:
        answer = requests.get(url + "/api/servers", timeout=30)
        assert [server["name"] for server in answer.json()["servers"]] == listed
        assert requests.get(url + "/servers", timeout=30).status_code == 200
    finally:
        stop_process(process)
    printed = log.read_text()
    assert "Traceback" not in printed
    assert printed.count(said.replace("DATA", str(data))) == 1
