"""Keeping secrets out of everything Proofsheet stores, shows, exports or logs.

The secrets are the API key and any credentials written into the base URL (`http://user:pw@host/v1`). Servers, debug
pages and naive proxies sometimes echo the request's `Authorization` header back; whatever they echo is replaced
before it reaches the history, a page or a log.
"""
from __future__ import annotations

import base64
import logging
import urllib.parse
from typing import Any, Callable

HIDDEN = "…(hidden)"
MIN_SECRET = 4  # shorter strings would blank out ordinary words; their base64 forms are still hidden


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without its userinfo, and the (user, password) it carried, if any."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, (urllib.parse.unquote(user), urllib.parse.unquote(password))


class Redactor:
    """Replaces every form a secret may come back in: as is, percent-encoded, and as HTTP Basic base64."""

    def __init__(self, api_key: str | None = None, credentials: tuple[str, str] | None = None,
                 more_keys: tuple[str, ...] = ()) -> None:
        forms: dict[str, str] = {}
        for key in (api_key, *more_keys):  # more_keys: a caller's own key, relayed by the /v1 endpoint
            if key:
                self._add(forms, key, "sk-" + HIDDEN if key.startswith("sk-") else HIDDEN)
        if credentials and credentials[1]:
            user, password = credentials
            basic = base64.b64encode(f"{user}:{password}".encode()).decode()
            forms[basic] = HIDDEN
            self._add(forms, f"{user}:{password}", f"{user}:{HIDDEN}")
            self._add(forms, password, HIDDEN)
        # Longest first, so that "user:pw" is replaced whole before "pw" alone.
        self._text = sorted(((s, r) for s, r in forms.items() if len(s) >= MIN_SECRET), key=lambda pair: -len(pair[0]))
        self._bytes = [(s.encode(), r.encode()) for s, r in self._text]

    @classmethod
    def combined(cls, redactors: list["Redactor"]) -> "Redactor":
        """One redactor hiding what each of several hides (every server's key, for the log)."""
        merged = cls()
        pairs = {secret: replacement for redactor in redactors for secret, replacement in redactor._text}
        merged._text = sorted(pairs.items(), key=lambda pair: -len(pair[0]))
        merged._bytes = [(s.encode(), r.encode()) for s, r in merged._text]
        return merged

    @staticmethod
    def _add(forms: dict[str, str], secret: str, replacement: str) -> None:
        forms[secret] = replacement
        forms[urllib.parse.quote(secret, safe="")] = replacement
        forms[urllib.parse.quote_plus(secret)] = replacement

    def __bool__(self) -> bool:
        return bool(self._text)

    def text(self, value: str) -> str:
        for secret, replacement in self._text:
            if secret in value:
                value = value.replace(secret, replacement)
        return value

    def data(self, value: bytes | bytearray) -> bytes | bytearray:
        for secret, replacement in self._bytes:
            if secret in value:
                value = value.replace(secret, replacement)
        return value

    def stream_mask(self) -> "StreamMask":
        """A mask for bytes passed on as they arrive (the /v1 relay), hiding these secrets."""
        return StreamMask([secret for secret, _ in self._bytes])

    def value(self, value: Any) -> Any:
        """A JSON value with every string (and key) redacted."""
        if not self:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(entry) for entry in value]
        if isinstance(value, dict):
            return {self.text(key) if isinstance(key, str) else key: self.value(entry) for key, entry in value.items()}
        return value


class StreamMask:
    """Hides secrets in bytes that are passed on as they arrive, keeping their length, so that a Content-Length
    still holds and nothing else in the answer moves: each secret becomes as many `*`.

    A secret may be cut between two chunks, so a chunk's tail that could be the start of one is held back until the
    next chunk (or the end) says whether it is; any other byte goes on at once.
    """

    def __init__(self, secrets: list[bytes]) -> None:
        self.secrets = sorted(secrets, key=len, reverse=True)  # longest first, as the Redactor replaces them
        self._held = b""

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def feed(self, chunk: bytes) -> bytes:
        """What of this chunk (and of what was held back) can go on now, secrets masked."""
        data = self.masked(self._held + chunk if self._held else chunk)
        keep = self._partial_tail(data)
        self._held = data[len(data) - keep:] if keep else b""
        return data[:len(data) - keep] if keep else data

    def flush(self) -> bytes:
        """The end of the stream: whatever was held back, which turned out not to be a secret."""
        held, self._held = self._held, b""
        return held

    def masked(self, data: bytes) -> bytes:
        for secret in self.secrets:
            if secret in data:
                data = data.replace(secret, b"*" * len(secret))
        return data

    def masked_text(self, value: str) -> str:
        """A header's value, masked alike (headers are Latin-1 on the wire)."""
        return self.masked(value.encode("latin-1", "replace")).decode("latin-1")

    def _partial_tail(self, data: bytes) -> int:
        """How many of the last bytes could be the beginning of a secret."""
        longest = 0
        for secret in self.secrets:
            for size in range(min(len(secret) - 1, len(data)), longest, -1):
                if data.endswith(secret[:size]):
                    longest = size
                    break
        return longest


class RedactingFilter(logging.Filter):
    """Redacts log records before any handler writes them."""

    def __init__(self, redactor: Callable[[], Redactor]) -> None:
        super().__init__()
        self.redactor = redactor  # asked each time: servers (and their keys) come and go while Proofsheet runs

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = self.redactor()
        if redactor:
            record.msg = redactor.text(record.getMessage())
            record.args = ()
        return True


def install_log_redaction(redactor: Callable[[], Redactor]) -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter(redactor))
