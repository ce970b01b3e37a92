"""Which pages may call Proofsheet's routes that take no CSRF token (/api, /v1): only its own — the loopback names and
addresses and the names allowed with --allow-host, on the port it listens on — never another address or name on
that port, and an Origin that does not parse is refused, never a 500."""

import pytest
import requests
from tests.support import start_app_process, stop_process


PORT = "5000"
ORIGINS = [
    ("http://localhost:5000", True), ("http://127.0.0.1:5000", True), ("http://[::1]:5000", True),
    ("http://127.0.0.2:5000", True), ("http://LOCALHOST:5000", True), ("http://localhost.:5000", True),
    ("http://203.0.113.5:5000", False), ("http://10.0.0.7:5000", False), ("http://evil.localhost:5000", False),
    ("http://evil.example:5000", False), ("http://demo.lan:5000", False), ("http://localhost:6000", False),
    ("http://localhost", False), ("null", False), ("http://[::1", False), ("http://localhost:99999", False),
    ("http://[::1]x:5000", False), ("file:///etc/passwd", False), ("not an origin", False),
]
# Routes that take no CSRF token, each as a page's script (or a form) could send it.
ROUTES = [
    ("GET", "/api/generations", {}),
    ("POST", "/api/generate", {"json": {"prompt": "from a page"}}),
    ("POST", "/api/edit", {"data": {"prompt": "no image"}, "content_type": "multipart/form-data"}),
    ("DELETE", "/api/servers/nothing", {}),
    ("GET", "/v1/models", {}),
    ("POST", "/v1/chat/completions", {"data": "hello", "content_type": "text/plain"}),
]


@pytest.mark.parametrize("method, path, sent", ROUTES)
@pytest.mark.parametrize("origin, accepted", ORIGINS)
def test_only_proofsheets_own_origins_are_served(client, origin, accepted, method, path, sent):
    answer = client.open(path, method=method, headers={"Origin": origin}, environ_overrides={"SERVER_PORT": PORT},
                         **sent)
    assert answer.status_code < 500, answer.get_data(as_text=True)[:300]
    assert (answer.status_code != 403) is accepted, answer.get_data(as_text=True)[:300]
    if not accepted:
        error = answer.get_json()["error"]
        assert (error.get("kind") or error.get("code")) == "forbidden_origin"


CSRF_MESSAGE = "The form had expired or came from another site"
# (method, path, sent, takes no token): the routes marked @csrf_exempt beside them, /v1 under both its addresses,
# and pages' forms, which need their token.
TOKENS = [
    ("POST", "/api/generate", {"json": {"prompt": "p"}}, True),
    ("POST", "/api/edit", {"data": {"prompt": "p"}, "content_type": "multipart/form-data"}, True),
    ("POST", "/api/servers", {"json": {"name": "x"}}, True),
    ("DELETE", "/api/servers/x", {}, True),
    ("POST", "/api/arena", {"json": {"prompt": "p"}}, True),
    ("POST", "/api/arena/1/vote", {"json": {"winner": "A"}}, True),
    ("POST", "/v1/images/generations", {"json": {"prompt": "p"}}, True),
    ("POST", "/servers/default/v1/images/generations", {"json": {"prompt": "p"}}, True),
    ("POST", "/v1/chat/completions", {"json": {"messages": []}}, True),
    ("POST", "/generate", {"data": {"prompt": "p"}}, False),
    ("POST", "/compare", {"data": {"prompt": "p"}}, False),
    ("POST", "/edit", {"data": {"prompt": "p"}}, False),
    ("POST", "/arena", {"data": {"prompt": "p"}}, False),
    ("POST", "/servers", {"data": {"name": "x"}}, False),
    ("POST", "/generations/1/delete", {}, False),
]


@pytest.mark.parametrize("method, path, sent, token_free", TOKENS)
def test_only_routes_declared_token_free_are_served_without_a_csrf_token(make_app, tmp_path, demo_server, method, path, sent,
                                                                          token_free):
    client = make_app(tmp_path, demo_server.api_base, WTF_CSRF_ENABLED=True).test_client()
    answer = client.open(path, method=method, **sent)
    assert (CSRF_MESSAGE not in answer.get_data(as_text=True)) is token_free, answer.get_data(as_text=True)[:300]


@pytest.mark.parametrize("origin, accepted", [
    ("http://demo.lan:5000", True), ("http://DEMO.LAN:5000", True), ("http://demo.lan:6000", False),
    ("http://other.lan:5000", False), ("http://sub.demo.lan:5000", False),
])
def test_names_allowed_with_allow_host_are_own_origins_on_the_same_port(make_app, tmp_path, demo_server, origin, accepted):
    client = make_app(tmp_path, demo_server.api_base, ALLOWED_HOSTS=["demo.lan"]).test_client()
    answer = client.get("/api/generations", headers={"Origin": origin}, environ_overrides={"SERVER_PORT": PORT})
    assert (answer.status_code == 200) is accepted


@pytest.mark.parametrize("host, origin, accepted", [
    ("10.0.0.7:5000", "http://10.0.0.7:5000", True),  # opened at this address (listening on 0.0.0.0)
    ("[fe80::1]:5000", "http://[FE80::1]:5000", True),
    ("10.0.0.7:5000", "http://10.0.0.8:5000", False),
    ("10.0.0.7:5000", "http://10.0.0.7:6000", False),
    ("evil.localhost:5000", "http://evil.localhost:5000", False),  # a *.localhost page may be anyone's
])
def test_the_address_a_request_was_sent_to_is_an_own_origin_but_no_other(client, host, origin, accepted):
    answer = client.get("/api/generations", headers={"Origin": origin, "Host": host},
                        environ_overrides={"SERVER_PORT": PORT})
    assert (answer.status_code == 200) is accepted


def test_starring_without_javascript_goes_back_only_to_a_page_of_its_own(client):
    generation = client.post("/api/generate", json={"prompt": "a star"}).get_json()["id"]
    for referrer, back in [("http://localhost/generations", "/generations"),
                           ("http://[::1", f"/generations/{generation}"),
                           ("http://10.0.0.7/generations", f"/generations/{generation}")]:
        answer = client.post(f"/generations/{generation}/star", headers={"Referer": referrer})
        assert answer.status_code == 303
        assert answer.headers["Location"].endswith(back)


@pytest.fixture
def running_app(tmp_path, demo_server):
    process, url = start_app_process(tmp_path / "data", demo_server.api_base)
    yield url
    stop_process(process)


def test_a_malformed_origin_is_refused_plainly_by_a_real_app(running_app):
    for method, path in [("GET", "/api/generations"), ("POST", "/api/generate"), ("GET", "/v1/models"),
                         ("POST", "/v1/images/generations")]:
        answer = requests.request(method, running_app + path, json={"prompt": "x"}, timeout=10,
                                  headers={"Origin": "http://[::1"})
        assert answer.status_code == 403, (path, answer.text[:300])
        assert "another site" in answer.text


def test_a_text_plain_post_to_v1_from_another_address_on_the_port_is_refused(running_app, demo_server):
    """The POST a browser sends from any page without asking first (text/plain, no preflight)."""
    port = running_app.rsplit(":", 1)[1]
    body = '{"prompt": "spend the key", "model": "flux"}'
    for origin in (f"http://10.0.0.7:{port}", f"http://203.0.113.5:{port}", f"http://evil.localhost:{port}"):
        answer = requests.post(running_app + "/v1/images/generations", data=body, timeout=10,
                               headers={"Origin": origin, "Content-Type": "text/plain"})
        assert answer.status_code == 403, (origin, answer.text[:300])
        assert answer.json()["error"]["code"] == "forbidden_origin"
    assert demo_server.requests_seen == []
    own = requests.post(running_app + "/v1/images/generations", data=body, timeout=30,
                        headers={"Origin": f"http://127.0.0.1:{port}", "Content-Type": "text/plain"})
    assert own.status_code != 403
    assert demo_server.requests_seen
