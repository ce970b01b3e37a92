"""Named image servers: the one Proofsheet started with, those named on the command line, and those added while it runs.

Each server has its own client (key, connection pool), model list and last health check. Servers added at run time are
kept in the data folder: `servers.json` holds names, base URLs and the names of key variables; the keys themselves
are in `server-keys.json`, readable by the owner only, and leave this module only as an Authorization header.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from proofsheet import settings
from proofsheet.redaction import Redactor
from proofsheet.results import Problem, json_shape
from proofsheet.upstream.client import Health, ImageServerClient
from proofsheet.upstream.models import ModelCatalog

log = logging.getLogger(__name__)

SERVERS_FILE = "servers.json"
KEYS_FILE = "server-keys.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_SERVERS = 32
STATE_WORDS = {"up": "answers", "not_images_api": "answers, but not an images API", "key_refused": "refuses the key",
               "down": "not answering", None: "not checked yet"}


@dataclass
class Checked:
    """The last health check of a server: its state, how many models it lists, how long it took to answer."""

    health: Health
    latency_ms: float
    checked_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.health.state, "words": STATE_WORDS[self.health.state], "error": self.health.message,
                "models": self.health.models, "latency_ms": round(self.latency_ms, 1), "checked_at": self.checked_at}


@dataclass
class Server:
    name: str
    client: ImageServerClient
    origin: str  # "start" (the command line or settings: cannot be removed here) or "added" (kept in the data folder)
    key_env: str | None = None
    label: str | None = None
    catalog: ModelCatalog = field(init=False)
    checked: Checked | None = None

    def __post_init__(self) -> None:
        self.catalog = ModelCatalog(self.client)

    @property
    def api_base(self) -> str:
        return self.client.api_base

    @property
    def has_key(self) -> bool:
        return self.client.has_key

    def check(self) -> Checked:
        started = time.monotonic()
        health = self.client.check_health()
        self.checked = Checked(health, (time.monotonic() - started) * 1000, time.time())
        return self.checked

    def to_dict(self, default: bool = False) -> dict[str, Any]:
        """What pages and the API show: never the key, only whether there is one (and which variable holds it)."""
        key = f"from ${self.key_env}" if self.key_env else "key set" if self.has_key else "no key"
        return {"name": self.name, "api_base": self.api_base, "key": key, "default": default,
                "removable": self.origin == "added", "label": self.label,
                "health": self.checked.to_dict() if self.checked else {"state": None, "words": STATE_WORDS[None]}}


class ServerRegistry:
    """Every server by name; the default one answers when no name is given."""

    def __init__(self, folder: Path, default: Server, started: list[Server] | None = None,
                 make_client: Callable[..., ImageServerClient] | None = None,
                 key_from: Callable[[str], str | None] = settings.environment_key) -> None:
        self.folder = folder
        self.default_name = default.name
        # (base URL, key[, where the key is read from, for the message when the server refuses it])
        self._make_client = make_client or (lambda base, key, hint="PROOFSHEET_API_KEY":
                                            ImageServerClient(base, key, key_hint=hint))
        self._key_from = key_from  # the key an environment variable holds
        self._lock = threading.RLock()
        self._servers: dict[str, Server] = {default.name: default}
        for server in started or []:
            self._servers.setdefault(server.name, server)
        self._load()

    # -- reading ------------------------------------------------------------------------------------------------

    def get(self, name: str | None = None) -> Server | None:
        with self._lock:
            return self._servers.get(name or self.default_name)

    @property
    def default(self) -> Server:
        return self._servers[self.default_name]

    def all(self) -> list[Server]:
        with self._lock:
            return list(self._servers.values())

    def names(self) -> list[str]:
        return [server.name for server in self.all()]

    def unknown(self, name: str) -> Problem:
        return Problem("unknown_server", f"There is no server named {name!r}; the servers are "
                                         f"{', '.join(self.names())}. Add one on the Servers page.")

    def redactor(self) -> Redactor:
        """Every server's secrets at once: for the log, which any of them may reach."""
        return Redactor.combined([server.client.redactor for server in self.all()])

    def to_list(self) -> list[dict[str, Any]]:
        return [self.describe(server) for server in self.all()]

    def describe(self, server: Server) -> dict[str, Any]:
        """A server as pages and the API show it (never its key)."""
        return server.to_dict(server.name == self.default_name)

    # -- changing -----------------------------------------------------------------------------------------------

    def add(self, name: Any, api_base: Any, api_key: Any = None, api_key_env: Any = None) -> Server | Problem:
        """Check the entry (name, URL, key, and that it answers as an images API), then keep it."""
        entry = self._checked_entry(name, api_base, api_key, api_key_env)
        if isinstance(entry, Problem):
            return entry
        name, api_base, api_key, api_key_env = entry
        key = self._key_from(api_key_env) if api_key_env else api_key
        server = Server(name, self._client(api_base, key, api_key_env), "added", api_key_env)
        checked = server.check()
        if checked.health.state == "key_refused":
            return Problem("key_refused", f"{server.api_base} refused the key"
                                          f"{f' in ${api_key_env}' if api_key_env else ''}: check it and add the "
                                          "server again.")
        if not checked.health.answers:
            return Problem("not_images_api" if checked.health.state == "not_images_api" else "server_down",
                           checked.health.message or f"{server.api_base} does not answer.")
        with self._lock:
            if name in self._servers:
                return Problem("exists", f"There is already a server named {name!r}.")
            self._servers[name] = server
            try:
                self._save()
            except OSError as exc:
                del self._servers[name]
                return Problem("storage_failed", f"Could not keep the server in {self.folder}: {exc.strerror or exc}.")
        log.info("Added the image server %s at %s", name, server.api_base)
        return server

    def remove(self, name: str) -> Problem | None:
        with self._lock:
            server = self._servers.get(name)
            if server is None:
                return self.unknown(name)
            if server.origin != "added":
                return Problem("not_removable", f"The server {name!r} was given when Proofsheet started; change its "
                                                "command line or settings to remove it.")
            del self._servers[name]
            try:
                self._save()
            except OSError as exc:
                self._servers[name] = server
                return Problem("storage_failed", f"Could not change {self.folder}: {exc.strerror or exc}.")
        log.info("Removed the image server %s", name)
        return None

    def _checked_entry(self, name: Any, api_base: Any, api_key: Any, api_key_env: Any
                       ) -> tuple[str, str, str | None, str | None] | Problem:
        if not isinstance(name, str) or not NAME.match(name.strip()):
            return Problem("bad_request", "Name the server with up to 40 letters, digits, dots, dashes or "
                                          "underscores, like \"openai\" or \"localai-box\".")
        name = name.strip()
        if not isinstance(api_base, str) or not api_base.strip():
            return Problem("bad_request", "Give the server's base URL, like http://localhost:8080/v1.")
        url = api_base.strip()
        if not re.match(r"^https?://[^/\s]+", url, re.I) or any(c.isspace() for c in url):
            return Problem("bad_request", f"The base URL must start with http:// or https:// and name a host, like "
                                          f"http://localhost:8080/v1 (not {url[:100]!r}).")
        if api_key not in (None, "") and (not isinstance(api_key, str) or any(c.isspace() for c in api_key.strip())
                                          or len(api_key) > 1000):
            return Problem("bad_request", "The key must be one line of text without spaces.")
        if api_key_env not in (None, ""):
            if not isinstance(api_key_env, str) or not ENV_NAME.match(api_key_env.strip()):
                return Problem("bad_request", "The key variable must be an environment variable's name, like "
                                              "OPENAI_API_KEY.")
            if api_key:
                return Problem("bad_request", "Give the key or the name of the variable that holds it, not both.")
            if not self._key_from(api_key_env.strip()):
                return Problem("bad_request", f"The environment variable {api_key_env.strip()} is not set for "
                                              "Proofsheet; set it before starting Proofsheet, or paste the key.")
        with self._lock:
            if name in self._servers:
                return Problem("exists", f"There is already a server named {name!r}.")
            if len(self._servers) >= MAX_SERVERS:
                return Problem("bad_request", f"Proofsheet keeps at most {MAX_SERVERS} servers; remove one first.")
        return name, url, (api_key or "").strip() or None, (api_key_env or "").strip() or None

    # -- the data folder ----------------------------------------------------------------------------------------

    def _load(self) -> None:
        """Servers added earlier. A file that cannot be read is skipped with a warning, and so is each entry of the
        wrong shape (naming the file and the entry): never fatal, never a page that fails."""
        path = self.folder / SERVERS_FILE
        entries = _read_json(path, list, "servers", "a list of servers")
        # Without their keys, the servers would be asked unauthorised: then none is used.
        keys = _read_json(self.folder / KEYS_FILE, dict, "keys", "an object of keys by server name") \
            if entries else {}
        if not entries or keys is None:
            return
        for index, entry in enumerate(entries, start=1):
            server = self._kept_server(entry, keys)
            if isinstance(server, str):
                named = f" {entry['name']!r}" if isinstance(entry, dict) and isinstance(entry.get("name"), str) else ""
                log.warning("Skipped server %d%s kept in %s: %s", index, named, self.folder, server)
            elif server.name in self._servers:
                log.warning("The kept server %s is named like one given at start; the one given at start is used.",
                            server.name)
            else:
                self._servers[server.name] = server

    def _kept_server(self, entry: Any, keys: dict[str, Any]) -> Server | str:
        """The server an entry of servers.json describes, or what is wrong with the entry (and in which file)."""
        if not isinstance(entry, dict):
            return f"in {SERVERS_FILE}, it is {json_shape(entry)}, not an object with a name and an api_base."
        name, api_base, env = entry.get("name"), entry.get("api_base"), entry.get("api_key_env")
        if not isinstance(name, str) or not NAME.match(name):
            return f"in {SERVERS_FILE}, its name should be up to 40 letters, digits, dots, dashes or underscores."
        if not isinstance(api_base, str) or not re.match(r"^https?://[^/\s]+", api_base, re.I):
            return f"in {SERVERS_FILE}, its api_base should be a URL starting with http:// or https://."
        if env is not None and (not isinstance(env, str) or not ENV_NAME.match(env)):
            return f"in {SERVERS_FILE}, its api_key_env should be an environment variable's name, or null."
        secret = keys.get(name, {})
        if not isinstance(secret, dict) or any(value is not None and not isinstance(value, str)
                                               for value in (secret.get("api_key"), secret.get("api_base"))):
            return f"in {KEYS_FILE}, its entry should be an object whose api_key and api_base are text."
        base = secret.get("api_base") or api_base  # the URL with its credentials, when it had some
        key = self._key_from(env) if env else secret.get("api_key")
        try:
            return Server(name, self._client(base, key, env), "added", env)
        except ValueError as exc:  # a URL urllib cannot take apart, such as http://[::1
            return f"its api_base cannot be used ({exc})."

    def _client(self, api_base: str, key: str | None, env: str | None) -> ImageServerClient:
        """An added server's client; when its key comes from a variable, a refused key names that variable."""
        return self._make_client(api_base, key, f"${env}") if env else self._make_client(api_base, key)

    def _save(self) -> None:
        added = [server for server in self._servers.values() if server.origin == "added"]
        entries = [{"name": server.name, "api_base": server.api_base, "api_key_env": server.key_env}
                   for server in added]
        keys = {}
        for server in added:
            secret = server.client.stored_secret() if not server.key_env else {}
            if secret:
                keys[server.name] = secret
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_private(self.folder / KEYS_FILE, json.dumps(keys, indent=1).encode())
        _write_atomically(self.folder / SERVERS_FILE, json.dumps(entries, indent=1).encode(), 0o644)


def _read_json(path: Path, kind: type, what: str, expected: str) -> Any:
    """A side file's JSON when it is of the kind expected; an empty one when the file is absent; None (with a
    warning) when it cannot be read or is not of that kind."""
    if not path.exists():
        return kind()
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        why = str(exc)
    else:
        if isinstance(value, kind):
            return value
        why = f"it holds {json_shape(value)}, not {expected}"
    log.warning("Could not read the %s kept in %s (%s); only the servers given at start are used.", what, path, why)
    return None


def _write_private(path: Path, data: bytes) -> None:
    _write_atomically(path, data, 0o600)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """A new file created with `mode` from the start (a key is never readable by others, not even for a moment)."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def parse_server_option(text: str) -> tuple[str, str]:
    """`--server NAME=URL`: the name and the URL, or SystemExit with one line that says what to write."""
    name, _, url = text.partition("=")
    if not NAME.match(name.strip()) or not url.strip():
        raise SystemExit(f"--server takes NAME=URL, like --server openai=https://api.openai.com/v1 (not {text!r}).")
    return name.strip(), url.strip()


key_variable = settings.key_variable  # where it was named before settings said every variable


def registry_from(config: dict[str, Any], data_dir: Path, via: str) -> ServerRegistry:
    """The default server, those named at start (`--server NAME=URL`), and those added on the Servers page, from
    the app's settings (the web process and the run workers' process build the same)."""
    def make_client(api_base: str, api_key: str | None, key_hint: str = "the key given for this server"
                    ) -> ImageServerClient:
        return ImageServerClient(api_base, api_key, timeout=float(config["TIMEOUT"]), key_hint=key_hint, via=via,
                                 max_response_bytes=config["MAX_RESPONSE_BYTES"],
                                 max_image_bytes=config["MAX_IMAGE_BYTES"], image_timeout=float(config["IMAGE_TIMEOUT"]))

    default = Server(config["DEFAULT_SERVER"], make_client(config["API_BASE"], config["API_KEY"], "PROOFSHEET_API_KEY"),
                     "start", label=config.get("SERVER_LABEL"))
    started = [started_server(name, url, make_client) for name, url in config["SERVERS"] if name != default.name]
    return ServerRegistry(data_dir, default, started, make_client)


def started_server(name: str, url: str, make_client: Callable[..., ImageServerClient]) -> Server:
    """A server named with --server NAME=URL, its key from $PROOFSHEET_API_KEY_<NAME>."""
    variable = settings.key_variable(name)
    key = settings.environment_key(variable)
    return Server(name, make_client(url, key, variable), "start", variable if key else None)
