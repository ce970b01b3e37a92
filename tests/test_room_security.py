"""The voters' listener reaches nothing but the vote: every route of the presenter's app is a 404 there (every
method, with and without the voter's cookie, with the presenter's Host and Origin forged); a voter cannot vote in a
round not open, vote twice, read another round, or forge a vote from another site; garbage never makes it fail."""
import http.client
import re
import socket
import urllib.parse

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from proofsheet.web.voters import DEVICE_COOKIE, create_voters_app
from tests.support import Voter, arena_round, open_to_room

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@pytest.fixture
def opened(presenter):
    """A round open to the room, its voters' URL, and a phone that has voted in it."""
    round_id = arena_round(presenter)
    url = open_to_room(presenter, round_id)
    phone = Voter()
    assert phone.vote(url, "A").status_code == 200
    return round_id, url, phone


def _example_path(rule, round_id: int, image: str) -> str:
    """The rule's path with real values: the open round's id, an image that exists, the default server."""
    values = {"server_name": "default", "name": image, "filename": "proofsheet.css"}
    arguments = {name: values.get(name, round_id) for name in rule.arguments}
    return rule.build(arguments, append_unknown=False)[1]


def _presenter_paths(app, round_id: int) -> list[str]:
    group = app.extensions["store"].group(app.extensions["arena"].get(round_id).group_id)
    image = next(i.file_name for g in group.generations for i in g.shown_images)
    return sorted({_example_path(rule, round_id, image) for rule in app.url_map.iter_rules()})


def test_every_route_of_the_presenters_app_is_a_404_on_the_voters_listener(room_app, opened):
    round_id, url, phone = opened
    base = room_app.extensions["room"].base_url
    presenter_host = "127.0.0.1:5000"
    paths = _presenter_paths(room_app, round_id)
    assert len(paths) > 60 and "/api/generations" in paths and "/v1/images/generations" in paths
    ways = [({}, None), ({"Host": presenter_host, "Origin": f"http://{presenter_host}"}, phone.session.cookies),
            ({"Host": "localhost", "Origin": urllib.parse.urlsplit(base).netloc}, phone.session.cookies)]
    answered = {}
    with requests.Session() as session:
        for path in paths:
            for method in METHODS:
                for headers, cookies in ways:
                    answer = session.request(method, base + path, headers=headers, cookies=cookies, timeout=10,
                                             allow_redirects=False)
                    if answer.status_code != 404:
                        answered[f"{method} {path} {headers}"] = answer.status_code
    assert answered == {}


def test_the_presenters_listener_keeps_its_host_and_origin_checks(presenter, opened):
    round_id, _, _ = opened
    assert presenter.get(f"/arena/{round_id}", headers={"Host": "evil.example"}).status_code == 400
    refused = presenter.post(f"/api/arena/{round_id}/room/close", headers={"Origin": "http://127.0.0.2:5001"})
    assert refused.status_code == 403


def test_the_voters_pages_carry_the_security_headers(opened):
    _, url, phone = opened
    for address in (url, f"{url}/A", url.split("/r/")[0] + "/s/proofsheet.css", url.split("/r/")[0] + "/nothing"):
        headers = phone.session.get(address).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Content-Type-Options"] == "nosniff"


def test_only_the_allowed_static_files_are_served(opened):
    base = opened[1].split("/r/")[0]
    assert requests.get(base + "/s/proofsheet.css").status_code == 200
    assert requests.get(base + "/s/room-vote.js").status_code == 200
    for other in ("/s/arena.js", "/s/../app.py", "/s/%2e%2e%2fapp.py", "/static/proofsheet.css", "/s/fonts/x"):
        assert requests.get(base + other).status_code == 404, other


def test_a_round_never_opened_or_an_unknown_token_is_a_404(presenter, opened):
    base = opened[1].split("/r/")[0]
    arena_round(presenter)  # a second round, not opened to the room
    for token in ("AAAAAAAA", "1", "2", str(opened[0]), "../../", "x" * 200):
        assert requests.get(f"{base}/r/{token}").status_code == 404
        assert requests.get(f"{base}/r/{token}/A").status_code == 404


def test_a_voter_cannot_vote_once_the_round_is_closed(presenter, opened):
    round_id, url, phone = opened
    presenter.post(f"/api/arena/{round_id}/room/close")
    answer = phone.vote(url, "B")
    assert answer.status_code == 409 and "closed" in answer.text
    assert presenter.get(f"/api/arena/{round_id}/tally").get_json()["votes"]["A"] == 1


def test_a_second_vote_from_a_phone_replaces_its_first(presenter, opened):
    round_id, url, phone = opened
    phone.vote(url, "B")
    phone.vote(url, "both_bad")
    assert presenter.get(f"/api/arena/{round_id}/tally").get_json() == {
        "open": True, "voters": 1, "votes": {"A": 0, "B": 0, "tie": 0, "both_bad": 1}}


def test_a_token_reads_only_its_own_round(presenter, opened):
    _, url, phone = opened
    other = open_to_room(presenter, arena_round(presenter, models=("flux", "dall-e-3", "gpt-image-1")))
    assert phone.session.get(f"{url}/C").status_code == 404  # the first round has two contenders
    assert phone.session.get(f"{other}/C").status_code == 200
    assert phone.vote(url, "C").status_code == 400  # not a choice in this round


@pytest.mark.parametrize("forgery", ["no cookie", "another phone's check", "no check", "a check not in ASCII",
                                     "foreign origin", "cross-site fetch"])
def test_a_vote_not_from_the_voting_page_is_refused(presenter, opened, forgery):
    round_id, url, phone = opened
    other = Voter()
    other.open(url)
    data, headers, cookies = {"choice": "B", "check": phone.check}, {}, dict(phone.session.cookies)
    if forgery == "no cookie":
        cookies = {}
    elif forgery == "another phone's check":
        data["check"] = other.check
    elif forgery == "no check":
        del data["check"]
    elif forgery == "a check not in ASCII":
        data["check"] = "é" * 32
    elif forgery == "foreign origin":
        headers["Origin"] = "http://evil.example"
    else:
        headers["Sec-Fetch-Site"] = "cross-site"
    answer = requests.post(url, data=data, headers=headers, cookies=cookies, timeout=10)
    assert answer.status_code == 403 and "voting page" in answer.text
    assert presenter.get(f"/api/arena/{round_id}/tally").get_json()["votes"]["A"] == 1


def test_a_phone_voting_too_often_is_slowed_down(opened):
    _, url, phone = opened
    statuses = [phone.vote(url, "AB"[n % 2], Accept="application/json").status_code for n in range(12)]
    assert 429 in statuses and statuses[0] == 200
    assert "wait a few seconds" in phone.vote(url, "A").text


def test_one_address_asking_too_often_is_slowed_down(app, serve_room):
    app.config["ROOM_ADDRESS_LIMIT"] = 5
    base = serve_room(app)
    statuses = [requests.get(f"{base}/s/proofsheet.css").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]


def test_the_phones_cookie_is_http_only_and_same_site(opened):
    _, url, _ = opened
    cookie = requests.get(url).headers["Set-Cookie"]
    assert cookie.startswith(DEVICE_COOKIE + "=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture
def voters_client(room_app, opened):
    room_app.config["ROOM_ADDRESS_LIMIT"] = room_app.config["ROOM_DEVICE_LIMIT"] = 10 ** 9
    return create_voters_app(room_app).test_client()


header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(METHODS), path=st.text(max_size=80), body=st.binary(max_size=600),
       headers=st.dictionaries(st.sampled_from(["Host", "Origin", "Cookie", "Content-Type", "Accept", "Referer",
                                                "Sec-Fetch-Site", "X-Forwarded-For"]), header_text, max_size=4))
def test_garbage_never_breaks_the_voters_app(voters_client, opened, method, path, body, headers):
    token = opened[1].rsplit("/r/", 1)[1]
    for address in ("/" + urllib.parse.quote(path, safe="/%?&="), f"/r/{token}/{urllib.parse.quote(path)}",
                    f"/r/{token}"):
        answer = voters_client.open(address, method=method, data=body, headers=headers)
        assert answer.status_code < 500, (address, answer.status_code)
        assert "Traceback" not in answer.get_data(as_text=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60),
       method=st.sampled_from(METHODS + ["BREW", "get"]), body=st.binary(max_size=200))
def test_garbage_on_the_real_socket_never_breaks_the_voters_listener(room_app, opened, target, method, body):
    host, port = urllib.parse.urlsplit(room_app.extensions["room"].base_url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest(method, "/" + target.lstrip("/"), skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", "evil.example")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        text = answer.read().decode("utf-8", "replace")
    except (http.client.HTTPException, ConnectionError, socket.timeout):
        return  # waitress may close a request it cannot parse: no answer is no 500
    finally:
        connection.close()
    assert answer.status < 500 and "Traceback" not in text


def test_no_name_or_hash_in_any_answer_before_the_close(room_app, opened):
    round_id, url, phone = opened
    group = room_app.extensions["store"].group(room_app.extensions["arena"].get(round_id).group_id)
    hashes = [image.sha256 for generation in group.generations for image in generation.shown_images]
    answers = [phone.session.get(address) for address in (url, f"{url}/state")]
    answers.append(phone.vote(url, "B", Accept="application/json"))
    text = " ".join(answer.text + str(answer.headers) for answer in answers)
    text += " ".join(str(phone.session.get(f"{url}/{label}").headers) for label in "AB")  # the images' headers
    assert re.search(r"flux|sdxl|default(?!-src)|/images/|/generations/", text) is None
    assert [sha for sha in hashes if sha in text] == []
