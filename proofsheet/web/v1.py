"""Proofsheet as an OpenAI-compatible endpoint: point a script or an SDK at http://localhost:5000/v1.

POST /v1/images/generations and /v1/images/edits, GET /v1/models and /v1/models/<id> are passed to the image server
and its answer comes back as it is — status, headers, the same bytes, Server-Sent Events as each arrives — while a
copy is kept in the history (marked "via /v1", the header X-Proofsheet-Generation naming it). Any other path below
/v1 (chat, embeddings, image variations, …) is passed on alike and not kept, so that a whole program can be pointed
here. Proofsheet's own refusals (busy, a wrong proxy token, a server it cannot reach) use OpenAI's error shape, so
SDKs raise with the words.
"""
from __future__ import annotations

import hmac
import io
import json
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from proofsheet import images
from proofsheet.asking.bodies import NotJson, read_json
from proofsheet.running.admission import Place
from proofsheet.running.recording import Call, unrecorded_id
from proofsheet.results import Problem, VerifiedImage
from proofsheet.upstream.cancellation import flying
from proofsheet.upstream.relay import Relayed, open_relay, openai_error
from proofsheet.web.context import asker_gone, client, recorder, runner, server, servers, store
from proofsheet.web.errors import status_of, with_retry_after
from proofsheet.web.guards import csrf_exempt, from_another_site

# Programs' calls take no CSRF token: never from another site's page (below), and with the proxy token when one is
# set. Also registered as /servers/<server_name>/v1 for named servers.
v1 = csrf_exempt(Blueprint("v1", __name__, url_prefix="/v1"))
# A program's call may carry images (edits, LocalAI's ref_images in a generation, a chat about a picture): the pages'
# 1 MB limit would refuse what the image server takes.
MAX_BODY_BYTES = 100 * 1024 * 1024


@v1.url_value_preprocessor
def _named_server(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.server_name = (values or {}).pop("server_name", None)


@v1.before_request
def _callers_only() -> Any:
    """Never from another site's page (a form could spend the key); with a proxy token, only with that token."""
    request.max_content_length = MAX_BODY_BYTES
    if from_another_site():
        return _refuse(403, "Requests from another site are refused.", "forbidden_origin")
    token = current_app.config.get("PROXY_TOKEN")
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return _refuse(401, "Proofsheet needs its proxy token: send Authorization: Bearer <PROOFSHEET_PROXY_TOKEN>.",
                       "invalid_proxy_token")
    if servers().get(g.get("server_name")) is None:
        return _refuse(404, servers().unknown(g.server_name).message, "unknown_server")
    return None


@v1.get("/models")
def models() -> Any:
    return _pass_through("GET", "/models")


@v1.get("/models/<path:model_id>")
def model(model_id: str) -> Any:
    return _pass_through("GET", f"/models/{model_id}")


@v1.post("/images/generations")
def generations() -> Any:
    raw = request.get_data(cache=True)
    try:
        body = read_json(raw)
    except NotJson:
        body = None  # passed on as it is: the image server says what it makes of it
    except ValueError as exc:  # JSON that could not be kept (too deep, a lone surrogate, 1e400)
        return _refuse(400, str(exc), "invalid_body")
    call = Call("generation", server(), body if isinstance(body, dict) else {}, client().redactor_with(_caller_key()),
                [])
    return _relay("/images/generations", raw, call)


@v1.post("/images/edits")
def edits() -> Any:
    raw = request.get_data(cache=True)
    uploads = request.files.getlist("image") + request.files.getlist("image[]")
    inputs = [image for image in (_verified(file.read()) for file in uploads) if image]
    mask = _verified(request.files["mask"].read()) if "mask" in request.files else None
    call = Call("edit", server(), request.form.to_dict(), client().redactor_with(_caller_key()), inputs, mask)
    return _relay("/images/edits", raw, call)


@v1.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def anything_else(rest: str) -> Any:
    """Whatever else a program asks of the server (chat, embeddings, image variations, …) goes on as it is and comes
    back as it comes, so that OPENAI_BASE_URL can point a whole program here; only images made by generations and
    edits are kept."""
    if any(segment in (".", "..") for segment in rest.split("/")):
        return _refuse(400, "Proofsheet passes on paths below the server's /v1 only.", "invalid_path")
    return _relay(f"/{rest}{_query()}", request.get_data())


def _relay(path: str, raw: bytes, call: Call | None = None) -> Any:
    """Pass the request on and the answer back as it arrives; a call (an image generation or edit) is kept in the
    history beside. Either holds a place among the generations in flight while it waits: it can take a minute, and
    the place passes to the answer's stream, which runs after the view has returned."""
    place = runner().place(asker_gone())
    if isinstance(place, Problem):
        return _refusal(place)
    with place:
        relayed = _opened(place, path, raw, call)
        if isinstance(relayed, Problem):
            return _refusal(relayed)
        headers = dict(relayed.headers)
        if call and call.generation_id is not None:
            headers["X-Proofsheet-Generation"] = str(call.generation_id)
        if not (call and _rewrite_urls() and relayed.status < 400 and "json" in relayed.content_type):
            keeper = recorder()  # the stream runs after the request context
            if call:
                keeper.copy_as_it_passes(call, relayed)
            keep = (lambda: keeper.finish_later(call, relayed)) if call else None  # beside, never in the caller's way
            return Response(place.hand_over(relayed.chunks(), then=keep), status=relayed.status, headers=headers)
        relayed.copy_to = io.BytesIO()  # ?rewrite_urls=1: the whole answer is read first, kept, then rewritten
        for _ in relayed.chunks():
            pass
    return Response(_kept_then_rewritten(call, relayed), status=relayed.status, headers=headers)


def _opened(place: Place, path: str, raw: bytes, call: Call | None) -> Relayed | Problem:
    """The caller's request sent on (a call recorded as running first): the answer's head, or why there is none."""
    if call:
        recorder().begin(call)
    with flying(place.fly(call.flight_id if call else unrecorded_id())):
        relayed = open_relay(client(), request.method, path, raw, request.content_type, _caller_authorization(),
                             request.headers.get("Via"))
    if isinstance(relayed, Problem) and call:
        recorder().fail(call, relayed)
    return relayed


def _kept_then_rewritten(call: Call, relayed: Relayed) -> bytes:
    """Keep first, then point each url item at Proofsheet's own copy."""
    body = relayed.read_copy()
    recorder().finish_now(call, relayed)
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's stack: passed on as it came
        return body
    kept = store().get(call.generation_id) if call.generation_id is not None else None
    by_index = {image.position: image for image in (kept.shown_images if kept else [])}
    for index, item in enumerate(answer.get("data") or [] if isinstance(answer, dict) else []):
        if isinstance(item, dict) and isinstance(item.get("url"), str) and index in by_index:
            item["url"] = f"{request.host_url}images/{by_index[index].file_name}"
    return json.dumps(answer).encode()


def _pass_through(method: str, path: str) -> Any:
    relayed = open_relay(client(), method, path + _query(), b"", None, _caller_authorization(),
                         request.headers.get("Via"))
    if isinstance(relayed, Problem):
        return _refusal(relayed)
    return Response(relayed.chunks(), status=relayed.status, headers=relayed.headers)


def _query() -> str:
    query = request.query_string.decode("latin-1")
    return f"?{query}" if query else ""


def _caller_authorization() -> str | None:
    """The caller's Authorization goes on only when it is theirs (not Proofsheet's proxy token)."""
    return None if current_app.config.get("PROXY_TOKEN") else request.headers.get("Authorization")


def _caller_key() -> str | None:
    authorization = request.headers.get("Authorization", "")
    return authorization.split(" ", 1)[1].strip() if authorization.lower().startswith("bearer ") else None


def _rewrite_urls() -> bool:
    return request.args.get("rewrite_urls") == "1" or bool(current_app.config.get("REWRITE_URLS"))


def _verified(data: bytes) -> VerifiedImage | None:
    verified = images.verify_image(data)
    return verified if isinstance(verified, VerifiedImage) else None


def _refusal(problem: Problem) -> Response:
    return _refuse(status_of(problem.kind), problem.message, problem.kind)


def _refuse(status: int, message: str, code: str) -> Response:
    response = jsonify(openai_error(status, message, code))
    response.status_code = status
    return with_retry_after(response, code)
