"""The conversation with the image generation server: build the body, post it, normalise the answer.

Every failure — network, HTTP, JSON, image — becomes a `Problem` on the result; nothing raises to the caller.
"""
from __future__ import annotations

import html
import json
import logging
import re
import time
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Callable, Iterator

import requests
import urllib3
from requests.adapters import HTTPAdapter

from proofsheet.upstream import cancellation, edits, sse
from proofsheet import images, settings
from proofsheet.asking.generation import GenerationRequest
from proofsheet.redaction import Redactor, split_credentials
from proofsheet.results import ECHO_FIELDS, GenerationResult, ImageItem, Note, Problem, VerifiedImage

log = logging.getLogger(__name__)

MB = 1024 * 1024
CHUNK = 1024 * 1024
MAX_ITEMS = 16  # n is at most 10; a server that sends more gets the rest ignored, with a note
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)


@dataclass(frozen=True)
class Health:
    """Whether the server answers as an OpenAI images API: "up", "not_images_api", "key_refused" or "down"."""

    state: str
    message: str | None = None
    models: int | None = None  # how many models (not gpt4free's provider rows) the server listed

    @property
    def answers(self) -> bool:
        return self.state == "up"


@dataclass(frozen=True)
class Body:
    status: int
    reason: str
    data: bytes | bytearray
    content_type: str = ""

    @property
    def is_event_stream(self) -> bool:
        return self.content_type.split(";")[0].strip().lower() == "text/event-stream"


class ImageServerClient:
    """Talks to one OpenAI-compatible images endpoint (gpt4free, OpenAI, LocalAI...)."""

    def __init__(
        self,
        api_base: str,
        api_key: str | None = None,
        timeout: float = settings.TIMEOUT,
        connect_timeout: float = 5.0,
        max_response_bytes: int = settings.MAX_RESPONSE_BYTES,
        max_image_bytes: int = settings.MAX_IMAGE_BYTES,
        image_timeout: float = settings.IMAGE_TIMEOUT,
        max_redirects: int = 5,
        key_hint: str = "PROOFSHEET_API_KEY",
        via: str | None = None,
    ) -> None:
        # Credentials in the URL are taken out of it: the URL is shown and stored, they are only sent.
        clean_base, self._credentials = split_credentials(api_base.rstrip("/"))
        self.api_base = clean_base
        self.redactor = Redactor(api_key, self._credentials)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_response_bytes = max_response_bytes
        self.max_image_bytes = max_image_bytes
        self.image_timeout = image_timeout
        self._api_key = api_key
        self._original_base = api_base.rstrip("/")
        self.key_hint = key_hint
        self.session = requests.Session()
        self.session.mount("http://", _WatchedAdapter())
        self.session.mount("https://", _WatchedAdapter())
        self.session.max_redirects = max_redirects
        self.session.headers["User-Agent"] = "Proofsheet"
        # This Proofsheet's name in the request's path, as a proxy says it (RFC 9110, 7.6.3): a request that comes
        # back to it was sent to itself. Sent to the configured server only, like the key.
        self._via = f"1.1 {via}" if via else None

    @property
    def has_key(self) -> bool:
        return bool(self._api_key or self._credentials)

    def stored_secret(self) -> dict[str, str]:
        """What must be kept to talk to this server again: the key, and the base URL when it holds credentials."""
        secret = {"api_key": self._api_key} if self._api_key else {}
        if self._credentials:
            secret["api_base"] = self._original_base
        return secret

    def redactor_with(self, caller_key: str | None) -> Redactor:
        """This server's secrets, and a caller's own key (relayed by /v1), to hide alike."""
        return Redactor(self._api_key, self._credentials, (caller_key,) if caller_key else ())

    def relay_headers(self, caller_authorization: str | None, caller_via: str | None) -> dict[str, str]:
        """For a caller's request passed on (/v1): Proofsheet's own key (or the URL's credentials) when it has one,
        else the caller's Authorization; and the Via the caller came with, this Proofsheet's name after it, as
        proxies pass it on (so a loop through another Proofsheet comes back naming this one too)."""
        headers = self._own_headers(self.api_base)
        if "Authorization" not in headers and caller_authorization:
            headers["Authorization"] = caller_authorization
        if caller_via and self._via:
            headers["Via"] = f"{caller_via}, {self._via}"
        return headers

    @property
    def generations_url(self) -> str:
        return f"{self.api_base}/images/generations"

    @property
    def models_url(self) -> str:
        return f"{self.api_base}/models"

    # -- generation ---------------------------------------------------------------------------------------------

    @property
    def edits_url(self) -> str:
        return f"{self.api_base}/images/edits"

    def generate(self, request: GenerationRequest, on_partial: PartialListener | None = None) -> GenerationResult:
        """Ask for images; with `stream: true`, each partial image is handed to `on_partial` as it arrives."""
        result = GenerationResult(request=request.to_body(), endpoint=self.generations_url)
        return self._ask(request, result, on_partial, json=result.request)

    def edit(self, request: GenerationRequest, inputs: list[VerifiedImage], mask: VerifiedImage | None,
             on_partial: PartialListener | None = None) -> GenerationResult:
        """An edit, as /v1/images/edits takes it: multipart fields, the images (`image`, or `image[]` for several)
        and the mask. The request kept describes the files instead of holding them."""
        fields, files = edits.multipart(request.to_body(), inputs, mask)
        result = GenerationResult(request=edits.kept_request(request.to_body(), inputs, mask), endpoint=self.edits_url)
        return self._ask(request, result, on_partial, data=fields, files=files)

    def _ask(self, request: GenerationRequest, result: GenerationResult, on_partial: PartialListener | None,
             **send: Any) -> GenerationResult:
        started = time.monotonic()
        relay = _PartialRelay(on_partial) if request.streams and on_partial else None
        body = self._exchange("POST", result.endpoint, self.timeout, self.max_response_bytes, on_events=relay, **send)
        if isinstance(body, Problem):
            result.error = body
        else:
            result.status = body.status
            self._read_answer(body, result)
        result.notes += asked_vs_got(request, result)
        result.elapsed = time.monotonic() - started
        self._redact(result)
        log.info("generate model=%s status=%s images=%d elapsed=%.2fs error=%s", request.model, result.status,
                 len(result.images), result.elapsed, result.error.kind if result.error else None)
        return result

    def read_relayed(self, result: GenerationResult, request: GenerationRequest | None, status: int, reason: str,
                     content_type: str, data: bytes, redactor: Redactor | None = None) -> GenerationResult:
        """An answer that was relayed to someone else (the /v1 endpoint), read as if Proofsheet had asked: images
        decoded or fetched and verified, notes, secrets (the caller's key too) redacted."""
        self._read_answer(Body(status, reason, data, content_type), result)
        result.status = status
        if request is not None:
            result.notes += asked_vs_got(request, result)
        self._redact(result, redactor)
        return result

    def _redact(self, result: GenerationResult, redactor: Redactor | None = None) -> None:
        """Whatever the server echoed of the key or the URL's credentials is replaced before anyone keeps it."""
        redact = redactor or self.redactor
        if not redact:
            return
        result.request = redact.value(result.request)
        result.raw_body = redact.data(result.raw_body)
        result.raw = redact.value(result.raw)
        result.error = _redacted_problem(redact, result.error)
        result.notes = [Note(redact.text(note.message), note.image) for note in result.notes]
        for item in result.items:
            item.revised_prompt = redact.text(item.revised_prompt) if item.revised_prompt else None
            item.original_url = redact.text(item.original_url) if item.original_url else None
            item.problem = _redacted_problem(redact, item.problem)

    def _read_answer(self, body: Body, result: GenerationResult) -> None:
        if body.is_event_stream and body.status < 400:
            self._read_stream(body, result)
            return
        parsed = _parse_json(body.data)
        result.raw_body = body.data
        result.raw_is_json = parsed is not _NOT_JSON
        result.raw = parsed if result.raw_is_json else body.data.decode("utf-8", "replace")
        if body.status >= 400:
            result.error = Problem("http_error", _http_error_message(body, parsed))
        elif parsed is _NOT_JSON:
            result.error = Problem("bad_response", f"The image server answered {body.status} but not with JSON: "
                                                   f"{_describe_text(body.data)}")
        else:
            result.read_answer_facts()
            self._read_items(parsed, result)

    def _read_stream(self, body: Body, result: GenerationResult) -> None:
        """A streamed answer: the completed events are the images; the partials were shown on the way."""
        events = [event.json() for event in sse.read_all(body.data)]
        events = [event for event in events if isinstance(event, dict)]
        result.raw_body, result.raw, result.raw_is_json, result.body_type = body.data, events, True, "event-stream"
        completed = [event for event in events if str(event.get("type", "")).endswith(".completed")]
        failed = next((event for event in events if "error" in event), None)
        if failed and not completed:
            result.error = Problem("http_error", f"The image server reported an error: {_error_text(failed)}")
            return
        if not completed:
            result.error = Problem("no_images", f"The stream ended without a completed image ({len(events)} events, "
                                                f"{sum('partial' in str(e.get('type')) for e in events)} partial).")
            return
        result.echo = {name: completed[-1][name] for name in ECHO_FIELDS if isinstance(completed[-1].get(name), str)}
        usages = [event["usage"] for event in completed if isinstance(event.get("usage"), dict)]
        result.usage = _sum_usage(usages) if usages else None
        self._read_items({"data": [{"b64_json": event.get("b64_json")} for event in completed]}, result)

    def _read_items(self, parsed: Any, result: GenerationResult) -> None:
        if isinstance(parsed, dict) and "error" in parsed and not parsed.get("data"):
            result.error = Problem("http_error", f"The image server reported an error: {_error_text(parsed)}")
            return
        if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
            result.error = Problem("bad_response", "The image server's JSON has no \"data\" list of images "
                                                   f"(got {_shape(parsed)}).")
            return
        if not parsed["data"]:
            result.error = Problem("no_images", "The image server answered without any image: \"data\" is empty.")
            return
        deadline = time.monotonic() + self.image_timeout  # one budget for fetching every image of this answer
        entries = parsed["data"][:MAX_ITEMS]
        result.items = [self._read_item(index, entry, deadline) for index, entry in enumerate(entries)]
        if len(parsed["data"]) > MAX_ITEMS:
            result.notes.append(Note(f"The server sent {len(parsed['data'])} images; only the first {MAX_ITEMS} "
                                     "were read."))
        if not result.images:
            reasons = "; ".join(f"image {item.index + 1}: {item.problem.message}" for item in result.items)
            result.error = Problem("no_usable_images", f"No image could be shown. {reasons}")

    def _read_item(self, index: int, entry: Any, deadline: float) -> ImageItem:
        if not isinstance(entry, dict):
            return ImageItem(index, "none", problem=Problem("bad_item", f"The entry is {_shape(entry)}, not an object."))
        revised = entry.get("revised_prompt") if isinstance(entry.get("revised_prompt"), str) else None
        b64, url = entry.get("b64_json"), entry.get("url")
        if isinstance(b64, str) and b64:
            item = ImageItem(index, "b64_json", revised_prompt=revised)
            data = images.decode_base64(b64)
        elif isinstance(url, str) and url:
            item = ImageItem(index, "data_uri" if images.is_data_uri(url) else "url", revised_prompt=revised)
            item.original_url = None if item.source == "data_uri" else url
            data = self.fetch_image(url, deadline)
        else:
            return ImageItem(index, "none", revised_prompt=revised,
                             problem=Problem("bad_item", "The entry has neither a \"url\" nor a \"b64_json\"."))
        verified = images.verify_image(data) if isinstance(data, bytes) else data
        if isinstance(verified, Problem):
            item.problem = verified
        else:
            item.image = verified
        return item

    # -- images by URL ------------------------------------------------------------------------------------------

    def fetch_image(self, url: str, deadline: float | None = None) -> bytes | Problem:
        """Fetch an image the server pointed at, so the browser never has to reach the server itself."""
        if images.is_data_uri(url):
            return images.decode_data_uri(url)
        absolute = urllib.parse.urljoin(self.api_base + "/", url) if url.startswith("/") else url
        scheme = urllib.parse.urlsplit(absolute).scheme.lower()
        if scheme not in ("http", "https"):
            return Problem("bad_scheme", f"The image URL uses the scheme \"{scheme or 'none'}:\"; Proofsheet only "
                                         "fetches http(s) and data: URLs.")
        remaining = self.image_timeout if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            return self._image_timed_out(absolute)
        body = self._exchange("GET", absolute, remaining, self.max_image_bytes, what="image")
        if isinstance(body, Problem):
            return self._image_timed_out(absolute) if body.kind == "timeout" else body
        if body.status >= 400:
            return Problem("fetch_failed", f"Fetching the image at {absolute} failed: {body.status} {body.reason}.")
        return bytes(body.data)

    def _image_timed_out(self, url: str) -> Problem:
        return Problem("timeout", f"The image at {url} did not arrive in time: the images of one answer get "
                                  f"{self.image_timeout:g} seconds in all (PROOFSHEET_IMAGE_TIMEOUT).")

    # -- models and health --------------------------------------------------------------------------------------

    def list_models(self, provider: str | None = None) -> list[dict[str, Any]] | Problem:
        """The server's models; with `provider`, that gpt4free provider's own list (GET /api/{provider}/models,
        beside /v1 at the server's root), whose image flags are the reliable ones."""
        url = self.models_url if provider is None else \
            f"{self.api_base.rsplit('/v1', 1)[0]}/api/{urllib.parse.quote(provider, safe='')}/models"
        body = self._exchange("GET", url, 15.0, 16 * MB)
        if isinstance(body, Problem):
            return body
        parsed = _parse_json(body.data)
        if body.status >= 400:
            return Problem("http_error", _http_error_message(body, parsed))
        rows = parsed.get("data") if isinstance(parsed, dict) else parsed
        if not isinstance(rows, list):
            return Problem("bad_response", f"The model list is not a list (got {_shape(parsed)}).")
        return self.redactor.value([row for row in rows if isinstance(row, dict) and isinstance(row.get("id"), str)])

    def check_health(self) -> Health:
        """Quickly: does the server answer, and as an OpenAI images API (a JSON model list at /models)?"""
        body = self._exchange("GET", self.models_url, 3.0, 16 * MB)
        if isinstance(body, Problem):
            return Health("down", self.redactor.text(body.message))
        if body.status in (401, 403):
            return Health("key_refused", f"The image server at {self.api_base} answered {body.status} "
                                         f"{body.reason}: it refused the API key ({self.key_hint}).")
        parsed = _parse_json(body.data)
        if body.status == 508:  # Loop Detected: the server is this Proofsheet itself, and says so
            return Health("down", _http_error_message(body, parsed))
        rows = parsed.get("data") if isinstance(parsed, dict) else parsed
        if body.status < 400 and isinstance(rows, list):
            return Health("up", models=sum(1 for row in rows if not (isinstance(row, dict) and row.get("provider") is True)))
        what = "an HTML page" if parsed is _NOT_JSON and b"<" in body.data[:512] else \
            f"{body.status} {body.reason}" if body.status >= 400 else "JSON without a model list"
        hint = f" Did you mean {self.api_base}/v1?" if not self.api_base.endswith("/v1") else ""
        return Health("not_images_api", f"The server at {self.api_base} answers, but not as an OpenAI images API "
                                        f"(GET /models gave {what}).{hint}")

    # -- one HTTP exchange, bounded in time and size ------------------------------------------------------------

    def _exchange(self, method: str, url: str, timeout: float, cap: int, what: str = "image server",
                  on_events: "_PartialRelay | None" = None, **kwargs: Any) -> Body | Problem:
        deadline = time.monotonic() + timeout
        response = self.open(method, url, timeout, what, **kwargs)
        if isinstance(response, Problem):
            return response
        with response:
            content_type = response.headers.get("Content-Type", "")
            streaming = on_events if content_type.startswith("text/event-stream") else None
            data = _read_capped(response, cap, deadline, what, streaming)
            if isinstance(data, Problem):
                return data
            return Body(response.status_code, response.reason or _reason(response.status_code), data, content_type)

    def open(self, method: str, url: str, timeout: float, what: str = "image server",
             headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response | Problem:
        """Send a request; the answer's status and headers come back, its body is left to read (BoundedRead).

        `headers` default to this server's authorization (for its own URLs only). Every failure is a Problem.
        """
        flight = cancellation.current()
        if flight is not None and flight.cancelled:
            return Problem("cancelled", "Cancelled while waiting for the image server.")
        try:
            return self.session.request(method, url, stream=True, timeout=(min(self.connect_timeout, timeout), timeout),
                                        headers=self._own_headers(url) if headers is None else headers, **kwargs)
        except requests.exceptions.ConnectTimeout:
            return Problem("server_down", _not_reachable(url, what, "did not accept a connection in time"))
        except requests.exceptions.ConnectionError as exc:
            if _is_read_timeout(exc):
                return _timed_out(url, what, timeout, timeout == self.timeout)
            if _was_dropped(exc):
                return Problem("server_down", f"The {what} at {url} closed the connection without answering.")
            return Problem("server_down", _not_reachable(url, what, "refused the connection or is not running"))
        except requests.exceptions.Timeout:
            return _timed_out(url, what, timeout, timeout == self.timeout)
        except requests.exceptions.TooManyRedirects:
            return Problem("too_many_redirects", f"The {what} at {url} redirected more than "
                                                 f"{self.session.max_redirects} times.")
        except requests.exceptions.InvalidSchema:
            return Problem("bad_scheme", f"The {what} at {url} redirected to a URL that is not http(s); "
                                         "Proofsheet does not follow it.")
        except requests.exceptions.RequestException as exc:
            return Problem("server_down", f"The request to the {what} at {url} failed: {type(exc).__name__}.")

    def _own_headers(self, url: str) -> dict[str, str]:
        """The key (or the URL's credentials) and Proofsheet's Via go only to the configured server, never to a
        third-party image host."""
        if _origin(url) != _origin(self.api_base):
            return {}
        headers = {"Via": self._via} if self._via else {}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        elif self._credentials:
            headers["Authorization"] = requests.auth._basic_auth_str(*self._credentials)
        return headers


class _WatchedConnection(urllib3.connection.HTTPConnection):
    """Registers its socket with the thread's flight while waiting for an answer, so that Cancel can cut it."""

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch(self)
        return super().getresponse(*args, **kwargs)


class _WatchedTLSConnection(urllib3.connection.HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch(self)
        return super().getresponse(*args, **kwargs)


def _watch(connection: urllib3.connection.HTTPConnection) -> None:
    flight = cancellation.current()
    if flight is not None and connection.sock is not None:
        flight.watch(connection.sock)


class _WatchedPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedTLSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedTLSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedTLSPool}


PartialListener = Callable[[int, VerifiedImage], None]


class _PartialRelay:
    """Reads events as the bytes arrive and hands each partial image, verified, to the listener at once."""

    def __init__(self, listener: PartialListener) -> None:
        self.listener = listener
        self.reader = sse.EventReader()
        self.count = 0

    def feed(self, chunk: bytes) -> None:
        for event in self.reader.feed(chunk):
            payload = event.json()
            if not isinstance(payload, dict) or not str(payload.get("type", event.name)).endswith("partial_image"):
                continue
            data = images.decode_base64(payload.get("b64_json") or "")
            verified = images.verify_image(data) if isinstance(data, bytes) else data
            if isinstance(verified, VerifiedImage):
                index = payload.get("partial_image_index")
                self.listener(index if isinstance(index, int) else self.count, verified)
                self.count += 1


def _sum_usage(usages: list[dict[str, Any]]) -> dict[str, Any]:
    """One usage for several completed events (one per image): every count added up, details included."""
    def add(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
        for key, value in part.items():
            if isinstance(value, dict):
                total[key] = add(dict(total.get(key) or {}), value)
            elif isinstance(value, int) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
        return total
    summed: dict[str, Any] = {}
    for usage in usages:
        summed = add(summed, usage)
    return summed


def _redacted_problem(redactor: Redactor, problem: Problem | None) -> Problem | None:
    return Problem(problem.kind, redactor.text(problem.message)) if problem else None


class BoundedRead:
    """A response's body chunk by chunk as it arrives, within a size cap and a total deadline.

    `problem` says why reading stopped early (too large, too slow, a broken or cut connection), else None.
    """

    def __init__(self, response: requests.Response, cap: int, deadline: float, what: str = "image server") -> None:
        self.response = response
        self.cap = cap
        self.deadline = deadline
        self.what = what
        self.problem: Problem | None = None

    def chunks(self) -> Iterator[bytes]:
        response, what = self.response, self.what
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.cap:
            self.problem = _too_large(response.url, what, self.cap, int(declared))
            return
        read = 0
        while True:
            if time.monotonic() > self.deadline:
                self.problem = _timed_out(response.url, what, None)
                return
            try:
                chunk = response.raw.read1(CHUNK, decode_content=True)
            except Exception as exc:  # urllib3 raises its own family here; requests does not wrap raw reads
                self.problem = _timed_out(response.url, what, None) if "timed out" in str(exc).lower() else \
                    Problem("server_down", f"The connection to the {what} broke while reading its answer "
                                           f"({type(exc).__name__}).")
                return
            if not chunk:
                return
            read += len(chunk)
            if read > self.cap:
                self.problem = _too_large(response.url, what, self.cap, None)
                return
            yield chunk


def _read_capped(response: requests.Response, cap: int, deadline: float, what: str,
                 on_chunk: "_PartialRelay | None" = None) -> bytearray | Problem:
    """The whole body, read within the cap and the deadline; `on_chunk` sees each chunk as it arrives."""
    body = BoundedRead(response, cap, deadline, what)
    data = bytearray()  # json.loads and decode take a bytearray as it is, without a second copy
    for chunk in body.chunks():
        data += chunk
        if on_chunk is not None:
            on_chunk.feed(chunk)
    return body.problem or data


# -- messages -----------------------------------------------------------------------------------------------------

def _not_reachable(url: str, what: str, how: str) -> str:
    hint = " Start gpt4free with `g4f api`, run `python app.py --demo`, or set PROOFSHEET_API_BASE." \
        if what == "image server" else ""
    return f"Could not reach the {what} at {url}: it {how}.{hint}"


def _timed_out(url: str, what: str, timeout: float | None, setting: bool = True) -> Problem:
    """`setting`: the limit is PROOFSHEET_TIMEOUT's (a quick check's own few seconds are not)."""
    limit = f" within {timeout:g} seconds" if timeout else " within the time allowed"
    return Problem("timeout", f"The {what} at {url} did not finish answering{limit}"
                              + (" (PROOFSHEET_TIMEOUT)." if setting else "."))


def _too_large(url: str, what: str, cap: int, declared: int | None) -> Problem:
    size = f" ({declared / MB:,.1f} MB)" if declared else ""
    return Problem("too_large", f"The answer from the {what} at {url} is larger than {cap / MB:g} MB{size}; "
                                "Proofsheet stopped reading it.")


def _http_error_message(body: Body, parsed: Any) -> str:
    head = f"The image server answered {body.status} {body.reason}"
    if parsed is not _NOT_JSON:
        return f"{head}: {_error_text(parsed)}"
    if not body.data.strip():
        return f"{head} with an empty body."
    return f"{head}: {_describe_text(body.data)}"


def _error_text(parsed: Any) -> str:
    """The server's own words, from the shapes gpt4free, OpenAI and FastAPI use."""
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        detail = parsed.get("detail")
        if isinstance(detail, list) and detail:
            return "; ".join(_validation_entry(entry) for entry in detail[:10])
        if isinstance(detail, str) and detail:
            return detail
        if isinstance(parsed.get("message"), str):
            return parsed["message"]
    return _clip(json.dumps(parsed, ensure_ascii=False))


def _validation_entry(entry: Any) -> str:
    if not isinstance(entry, dict):
        return _clip(str(entry))
    where = ".".join(str(part) for part in entry.get("loc", []) if part != "body")
    message = str(entry.get("msg", "invalid"))
    return f"{where}: {message}" if where else message


def _describe_text(data: bytes) -> str:
    if not data.strip():
        return "the body is empty."
    head = data[:4096].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        title = _TITLE.search(data[:65536])
        named = f" titled \"{_clip(html.unescape(title[1].decode('utf-8', 'replace')).strip(), 120)}\"" \
            if title else ""
        return f"it sent an HTML page{named} instead."
    return f"it sent \"{_clip(data.decode('utf-8', 'replace'))}\"."


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


# -- asked vs got -------------------------------------------------------------------------------------------------

def asked_vs_got(request: GenerationRequest, result: GenerationResult) -> list[Note]:
    """Where the answer differs from what was asked: the only proof of what a server did with the request."""
    notes = []
    asked_n = request.n or 1
    if result.items and len(result.items) != asked_n:
        notes.append(Note(f"Asked for {asked_n} image{'s' * (asked_n != 1)}, got {len(result.items)}."))
    answered_model = result.raw.get("model") if isinstance(result.raw, dict) else None
    if result.items and isinstance(answered_model, str) and answered_model and answered_model != request.model:
        notes.append(Note(f"Asked for model {request.model}, the server answered as {answered_model}."))
    notes.extend(_echo_notes(request, result))
    for item in result.items:
        notes.extend(_item_notes(request, item))
    return notes


def _echo_notes(request: GenerationRequest, result: GenerationResult) -> list[Note]:
    """What the server says it made (gpt-image's echo fields), against what was asked."""
    notes = []
    for name, label in (("quality", "quality"), ("background", "background"), ("output_format", "format")):
        asked, said = request.option(name), result.echo.get(name)
        if asked and said and asked != "auto" and said != asked:
            notes.append(Note(f"Asked {label} {asked}, the server answered {said}."))
    asked_size, said_size = request.size, result.echo.get("size")
    if asked_size and asked_size != "auto" and said_size and said_size != asked_size:
        notes.append(Note(f"Asked size {asked_size}, the server says it made {said_size}."))
    if request.streams and result.body_type != "event-stream" and result.images:
        notes.append(Note("Asked for a stream of partial images; the server answered all at once."))
    return notes


def _item_notes(request: GenerationRequest, item: ImageItem) -> list[Note]:
    notes = []
    if request.response_format == "b64_json" and item.source in ("url", "data_uri"):
        notes.append(Note("Asked for b64_json, came as a url.", item.index))
    asked_size = request.asked_size
    if item.image and asked_size and (item.image.width, item.image.height) != asked_size:
        notes.append(Note(f"Asked {asked_size[0]}×{asked_size[1]}, got {item.image.width}×{item.image.height}.",
                          item.index))
    if item.revised_prompt and item.revised_prompt.strip() != request.prompt:
        notes.append(Note("The server rewrote the prompt.", item.index))
    if item.image:
        notes.extend(_image_notes(request, item))
    return notes


FORMAT_NAMES = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP", "gif": "GIF"}


def _image_notes(request: GenerationRequest, item: ImageItem) -> list[Note]:
    """From the image itself, whatever the server said: its real format, and whether it has any transparency."""
    notes = []
    asked_format = FORMAT_NAMES.get(str(request.option("output_format") or "").lower())
    if asked_format and item.image.format != asked_format:
        notes.append(Note(f"Asked {asked_format}, got {item.image.format}.", item.index))
    if request.option("background") == "transparent" and not item.image.has_alpha:
        notes.append(Note("Asked a transparent background, got an opaque image (no alpha channel).", item.index))
    return notes


# -- small helpers ------------------------------------------------------------------------------------------------

_NOT_JSON = object()


def _parse_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _is_read_timeout(exc: Exception) -> bool:
    return "read timed out" in str(exc).lower()


def _was_dropped(exc: Exception) -> bool:
    text = str(exc)
    return "RemoteDisconnected" in text or "Connection aborted" in text or "Connection reset" in text
