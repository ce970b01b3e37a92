"""The conversation with the image generation server: post a body, read what came back.

The client knows bodies, not requests: the runner builds the body and says whether it streams and where it goes;
the answer is read by `answers` into a `GenerationResult`. Every failure — network, HTTP, JSON, image — becomes a
`Problem` on the result; nothing raises to the caller.
"""
from __future__ import annotations

import logging
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Mapping

import requests

from proofsheet import images, settings
from proofsheet.redaction import Redactor, split_credentials
from proofsheet.results import GenerationResult, Note, Problem, VerifiedImage
from proofsheet.upstream import cancellation, edits
from proofsheet.upstream.answers import PartialListener, PartialRelay, read_answer
from proofsheet.upstream.messages import (MB, describe_text, http_error_message, key_refused,
                                         not_images_api, not_reachable, reason_phrase, shape, timed_out)
from proofsheet.upstream.reading import Body, BoundedRead, read_capped
from proofsheet.upstream.watched import WatchedAdapter

__all__ = ["Body", "BoundedRead", "Health", "ImageServerClient", "PartialListener"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """Whether the server answers as an OpenAI images API: "up", "not_images_api", "key_refused" or "down"."""

    state: str
    message: str | None = None
    models: int | None = None  # how many models (not gpt4free's provider rows) the server listed

    @property
    def answers(self) -> bool:
        return self.state == "up"


class ImageServerClient:
    """Talks to one OpenAI-compatible images endpoint (gpt4free, OpenAI, LocalAI, LiteLLM...)."""

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
        self.key_hint = key_hint  # where this server's key is read from, for a message that says how to fix it
        self.session = requests.Session()
        self.session.mount("http://", WatchedAdapter())  # Cancel cuts the connection it waits on
        self.session.mount("https://", WatchedAdapter())
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
    def edits_url(self) -> str:
        return f"{self.api_base}/images/edits"

    @property
    def models_url(self) -> str:
        return f"{self.api_base}/models"

    # -- generation ---------------------------------------------------------------------------------------------

    def generate(self, body: dict[str, Any], streams: bool = False, on_partial: PartialListener | None = None,
                 url: str | None = None) -> GenerationResult:
        """Post a generation's body (to `url`, by default the generations URL) and read what came back; when it
        `streams`, each partial image is handed to `on_partial` as it arrives."""
        result = GenerationResult(request=body, endpoint=url or self.generations_url)
        return self._ask(result, streams, on_partial, json=body)

    def edit(self, body: dict[str, Any], inputs: list[VerifiedImage], mask: VerifiedImage | None,
             streams: bool = False, on_partial: PartialListener | None = None,
             url: str | None = None) -> GenerationResult:
        """An edit, as /v1/images/edits takes it: the body's fields as multipart fields, the images (`image`, or
        `image[]` for several) and the mask. The request kept describes the files instead of holding them."""
        fields, files = edits.multipart(body, inputs, mask)
        result = GenerationResult(request=edits.kept_request(body, inputs, mask), endpoint=url or self.edits_url)
        return self._ask(result, streams, on_partial, data=fields, files=files)

    def _ask(self, result: GenerationResult, streams: bool, on_partial: PartialListener | None,
             **send: Any) -> GenerationResult:
        started = time.monotonic()
        relay = PartialRelay(on_partial) if streams and on_partial else None
        body = self._exchange("POST", result.endpoint, self.timeout, self.max_response_bytes, on_events=relay, **send)
        if isinstance(body, Problem):
            result.error = body
        else:
            read_answer(body, result, self.fetch_image, self.image_timeout)
        result.elapsed = time.monotonic() - started
        self._redact(result)
        log.info("generate model=%s status=%s images=%d elapsed=%.2fs error=%s", result.request.get("model"),
                 result.status, len(result.images), result.elapsed, result.error.kind if result.error else None)
        return result

    def read_relayed(self, result: GenerationResult, status: int, reason: str, headers: Mapping[str, str],
                     data: bytes, redactor: Redactor | None = None) -> GenerationResult:
        """An answer that was relayed to someone else (the /v1 endpoint), read as if Proofsheet had asked: images
        decoded or fetched and verified, secrets (the caller's key too) redacted."""
        read_answer(Body(status, reason, data, headers), result, self.fetch_image, self.image_timeout)
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
        result.echo = redact.value(result.echo)  # asked-vs-got notes quote it, after this
        result.error = _redacted_problem(redact, result.error)
        result.notes = [Note(redact.text(note.message), note.image) for note in result.notes]
        for item in result.items:
            item.revised_prompt = redact.text(item.revised_prompt) if item.revised_prompt else None
            item.original_url = redact.text(item.original_url) if item.original_url else None
            item.problem = _redacted_problem(redact, item.problem)

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
        parsed = self.get_json(url)
        if isinstance(parsed, Problem):
            return parsed
        rows = parsed.get("data") if isinstance(parsed, dict) else parsed
        if not isinstance(rows, list):
            return Problem("bad_response", f"The model list is not a list (got {shape(parsed)}).")
        return [row for row in rows if isinstance(row, dict) and isinstance(row.get("id"), str)]

    def get_json(self, url: str, timeout: float = 15.0) -> Any | Problem:
        """A JSON document from the server (the model list, LiteLLM's /model/info), bounded in time and size."""
        body = self._exchange("GET", url, timeout, 16 * MB)
        if isinstance(body, Problem):
            return body
        if body.status >= 400:
            return Problem("http_error", http_error_message(body))
        if not body.is_json:
            return Problem("bad_response", f"GET {url} did not answer with JSON: {describe_text(body.data)}")
        return self.redactor.value(body.parsed)

    def check_health(self) -> Health:
        """Quickly: does the server answer, and as an OpenAI images API (a JSON model list at /models)?"""
        body = self._exchange("GET", self.models_url, 3.0, 16 * MB)
        if isinstance(body, Problem):
            return Health("down", self.redactor.text(body.message))
        if body.status in (401, 403):
            return Health("key_refused", self.redactor.text(self._key_refused(body)))
        if body.status == 508:  # Loop Detected: the server is this Proofsheet itself, and says so
            return Health("down", http_error_message(body))
        rows = body.parsed.get("data") if isinstance(body.parsed, dict) else body.parsed
        if body.status < 400 and isinstance(rows, list):
            return Health("up", models=sum(1 for row in rows if not (isinstance(row, dict) and row.get("provider") is True)))
        return Health("not_images_api", self.redactor.text(not_images_api(body, self.api_base)))

    def _key_refused(self, body: Body) -> str:
        return key_refused(body, self.api_base, self.key_hint + ("" if self.has_key else ", which is not set"))

    # -- one HTTP exchange, bounded in time and size ------------------------------------------------------------

    def _exchange(self, method: str, url: str, timeout: float, cap: int, what: str = "image server",
                  on_events: PartialRelay | None = None, **kwargs: Any) -> Body | Problem:
        deadline = time.monotonic() + timeout
        response = self.open(method, url, timeout, what, **kwargs)
        if isinstance(response, Problem):
            return response
        with response:
            streaming = on_events if response.headers.get("Content-Type", "").startswith("text/event-stream") else None
            data = read_capped(response, cap, deadline, what, streaming)
            if isinstance(data, Problem):
                return data
            return Body(response.status_code, response.reason or reason_phrase(response.status_code), data, response.headers)

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
        except requests.exceptions.RequestException as exc:
            return _failure(exc, url, what, timeout, timeout == self.timeout, self.session.max_redirects)

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


def _failure(exc: requests.exceptions.RequestException, url: str, what: str, timeout: float, setting: bool,
             max_redirects: int) -> Problem:
    """What went wrong with a request, as the person can act on it (`setting`: the limit was PROOFSHEET_TIMEOUT)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Problem("server_down", not_reachable(url, what, "did not accept a connection in time"))
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _is_read_timeout(exc):
            return timed_out(url, what, timeout, setting)
        if _was_dropped(exc):
            return Problem("server_down", f"The {what} at {url} closed the connection without answering.")
        return Problem("server_down", not_reachable(url, what, "refused the connection or is not running"))
    if isinstance(exc, requests.exceptions.Timeout):
        return timed_out(url, what, timeout, setting)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return Problem("too_many_redirects", f"The {what} at {url} redirected more than {max_redirects} times.")
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return Problem("bad_scheme", f"The {what} at {url} redirected to a URL that is not http(s); "
                                     "Proofsheet does not follow it.")
    return Problem("server_down", f"The request to the {what} at {url} failed: {type(exc).__name__}.")


def _redacted_problem(redactor: Redactor, problem: Problem | None) -> Problem | None:
    return Problem(problem.kind, redactor.text(problem.message)) if problem else None


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _is_read_timeout(exc: Exception) -> bool:
    return "read timed out" in str(exc).lower()


def _was_dropped(exc: Exception) -> bool:
    text = str(exc)
    return "RemoteDisconnected" in text or "Connection aborted" in text or "Connection reset" in text
