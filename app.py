"""Proofsheet: the app factory and the command line. The pages and the API live in proofsheet/web/."""
from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import secrets
import signal
import sqlite3
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, NoReturn

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from proofsheet import settings
from proofsheet.demo.server import DemoImageServer, delay_options, demo_delay
from proofsheet.running.events import EventBus
from proofsheet.running.runner import Runner
from proofsheet.running.run_control import RunControl
from proofsheet.history.arena import ArenaBook
from proofsheet.history.lock import FolderInUse
from proofsheet.history.prompts import PromptBook
from proofsheet.history.room import RoomBook
from proofsheet.running.room import Room
from proofsheet.history.runs import RunBook
from proofsheet.history.store import HistoryUnavailable, Store
from proofsheet.history.tournament import TournamentBook
from proofsheet.running.recording import Recorder
from proofsheet.redaction import install_log_redaction
from proofsheet.upstream.servers import ServerRegistry, parse_server_option, registry_from
from proofsheet.web import errors, guards, templating
from proofsheet.web.api import api
from proofsheet.web.arena import arena
from proofsheet.web.compare import compare_pages
from proofsheet.web.edit import edit_pages
from proofsheet.web.context import BuiltOnceRule, IdConverter
from proofsheet.web.history import history
from proofsheet.web.live import live
from proofsheet.web.pages import pages
from proofsheet.web.partials import partials
from proofsheet.web.present import present_pages
from proofsheet.web.room import room_pages
from proofsheet.web.voters import serve_room
from proofsheet.web.runs import runs_api, runs_pages
from proofsheet.web.servers import servers_pages
from proofsheet.web.sheets import sheets
from proofsheet.web.tournament import tournament
from proofsheet.web.v1 import v1

log = logging.getLogger("proofsheet")
csrf = CSRFProtect()
# Lets waitress notice a browser or client that went away while its request waits or runs.
WAITRESS_LOOKAHEAD = 5
# How much of an answer waitress holds for a client before the thread writing it waits, and how much of that it
# keeps in memory. Its defaults (16 MB, spilling to a temporary file past 1 MB) let a 16 MB /v1 answer pile up in a
# file and be read back; held to 1 MB in memory, each chunk goes on as the client takes it (bench/v1_relay.py:
# 1.2x -> 1.1x the time straight to the server), and a slow client holds 1 MB of answer, not 16.
WAITRESS_OUTBUF = {"outbuf_high_watermark": 1024 * 1024, "outbuf_overflow": 4 * 1024 * 1024}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(settings.defaults(), MAX_CONTENT_LENGTH=1024 * 1024, PROPAGATE_EXCEPTIONS=False,
                            WTF_CSRF_TIME_LIMIT=None)
    app.config.update(settings.from_environment())
    app.config.update(config or {})
    if not app.config["API_KEY"]:
        app.config["API_KEY"] = settings.openai_key_for(app.config["API_BASE"])
    data_dir = Path(app.config["DATA_DIR"])
    app.extensions["store"] = Store(data_dir)  # first: it says plainly when the folder cannot be used
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(data_dir)
    # Named in the Via header of every request Proofsheet sends: one that comes back to it was sent to itself.
    app.extensions["via"] = f"proofsheet-{secrets.token_hex(6)}"
    app.extensions["servers"] = registry_from(app.config, data_dir, app.extensions["via"])
    app.extensions["runner"] = Runner(app.extensions["store"], app.extensions["servers"],
                                      int(app.config["MAX_IN_FLIGHT"]), EventBus(int(app.config["LIVE_PAGES"])))
    app.extensions["recorder"] = Recorder(app.extensions["runner"])
    app.extensions["arena"] = ArenaBook(app.extensions["store"])
    app.extensions["tournament"] = TournamentBook(app.extensions["store"], app.extensions["arena"])
    app.extensions["room"] = Room(RoomBook(app.extensions["store"], app.extensions["arena"]), app.extensions["arena"],
                                  app.extensions["runner"].events)
    app.extensions["prompts"] = PromptBook(app.extensions["store"])
    # A run's workers have a process of their own (running/run_process.py), so that pages answer as fast during a run.
    app.extensions["runs"] = RunControl(RunBook(app.extensions["store"]), app.config, app.extensions["via"],
                                        app.extensions["runner"].events)
    app.url_rule_class = BuiltOnceRule
    app.url_map.converters["id"] = IdConverter
    csrf.init_app(app)
    for blueprint in (pages, compare_pages, history, api, partials, edit_pages, live, v1, servers_pages, arena,
                      present_pages, sheets, runs_pages, runs_api, room_pages):
        app.register_blueprint(blueprint)
    app.register_blueprint(tournament)  # a run's blind tournament and its leaderboard
    app.register_blueprint(v1, url_prefix="/servers/<server_name>/v1", name="v1_named")
    guards.exempt_marked(app, csrf)  # what takes no CSRF token says so beside its routes, and guards itself
    guards.install(app)
    errors.install(app)
    templating.install(app)
    app.extensions["runs"].resume_all()  # a run that was running when Proofsheet stopped (or was killed) goes on
    return app


def close_app(app: Flask) -> None:
    """Finish keeping what was relayed, then let go of the history and its folder (tests, a clean shutdown)."""
    listener = app.extensions.pop("room_listener", None)
    if listener is not None:  # the phones' listener first: no vote arrives at a closed history
        listener.close()
    app.extensions["runs"].close()
    app.extensions["recorder"].close()
    app.extensions["store"].close()


def _secret_key(data_dir: Path) -> bytes:
    """Kept in the data folder so that a form opened before a restart still submits."""
    path = data_dir / "secret_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def exposure_warning(host: str) -> str | None:
    """A warning when the app listens beyond this machine, where anyone on the network could use it."""
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return None
    except ValueError:
        if host == "localhost":
            return None
    return (f"WARNING: Proofsheet is listening on {host}, not only on this machine: anyone who can reach it can "
            "generate images with your server and API key and read the whole history. Use --host 127.0.0.1 "
            "unless you mean it.")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Waitress says at INFO each time a browser leaves a page that follows the history live: routine, not news.
    # Its warnings and errors still show.
    logging.getLogger("waitress").setLevel(logging.DEBUG if args.debug else logging.WARNING)
    if args.check or args.backup:
        return _look_after_history(args)
    if args.demo and args.api_base:
        return _refuse_to_start("--demo starts its own image server and uses it, so it cannot go with --api-base: "
                                "leave out one of the two.")
    config: dict[str, Any] = {"MAX_IN_FLIGHT": settings.in_flight_for(args.threads)}
    env_base = None if args.api_base or args.demo else settings.environment_api_base()
    if env_base and env_base[0] == "OPENAI_BASE_URL" and \
            settings.is_own_address(env_base[1], args.host, args.port):
        # Set for the person's own programs (as the README suggests), not for Proofsheet: never talk to itself.
        log.warning("OPENAI_BASE_URL (%s) is this Proofsheet's own address, for your programs to call; Proofsheet "
                    "itself does not use it. Choose its image server with PROOFSHEET_API_BASE or --api-base.",
                    env_base[1])
        config["API_BASE"], env_base = settings.DEFAULT_API_BASE, None
    if args.api_base:
        config["API_BASE"] = settings.checked_api_base(args.api_base, "--api-base")
    if args.server:
        config["SERVERS"] = [(name, settings.checked_api_base(url, f"--server {name}"))
                             for name, url in map(parse_server_option, args.server)]
        if not args.api_base and not env_base and not args.demo:
            config["DEFAULT_SERVER"], config["API_BASE"] = config["SERVERS"][0]  # the first one named is the default
    loop = _pointing_at_itself(args, env_base)
    if loop:
        return _refuse_to_start(loop)
    if args.room:
        config["ROOM"] = settings.room_address(args.room, "--room")
    if args.allow_host:
        config["ALLOWED_HOSTS"] = settings.allowed_hosts(args.allow_host)
    if args.demo_delay and not args.demo:
        return _refuse_to_start("--demo-delay sets the pace of the built-in demo server: add --demo.")
    if args.demo:
        demo = DemoImageServer(**delay_options(args.demo_delay)).start()
        config.update(API_BASE=demo.api_base, SERVER_LABEL="built-in demo server (not AI)")
        log.info("Demo image server (draws placeholders, not AI) at %s", demo.api_base)
    try:
        app = create_app(config)
    except (HistoryUnavailable, FolderInUse) as exc:
        return _refuse_to_start(_start_message(exc, app_data_dir(config)))
    install_log_redaction(app.extensions["servers"].redactor)
    if settings.environment_key("OPENAI_API_KEY") and not app.config["API_KEY"]:
        log.info("OPENAI_API_KEY is left for OpenAI: Proofsheet sends no key to %s (give it one with "
                 "PROOFSHEET_API_KEY).", app.config["API_BASE"])
    from waitress.server import create_server

    try:
        server = create_server(app, host=args.host, port=args.port, threads=args.threads, channel_timeout=600,
                               channel_request_lookahead=WAITRESS_LOOKAHEAD, asyncore_use_poll=True, **WAITRESS_OUTBUF,
                               ident="Proofsheet")  # poll(), not select(): no limit at descriptor 1024
    except OSError as exc:
        return _refuse_to_start(_listen_message(exc, args.host, args.port))
    address = f"http://{args.host}:{args.port}"
    if app.config["ROOM"]:
        try:
            serve_room(app, *app.config["ROOM"])
        except OSError as exc:
            server.close()
            close_app(app)
            return _refuse_to_start(_listen_message(exc, *app.config["ROOM"]).replace("--port", "--room"))
        log.info("The room votes at %s: only the voting pages are there; everything else stays on %s",
                 app.extensions["room"].base_url, address)
    app.extensions["store"].describe_holder(address)
    warning = exposure_warning(args.host)
    if warning:
        log.warning(warning)
    servers = app.extensions["servers"]
    log.info("Proofsheet at %s, image server %s (%s)", address, servers.default.api_base, servers.default_name)
    threading.Thread(target=_warn_if_unhealthy, args=(servers,), daemon=True).start()
    _serve_until_stopped(server, app)
    return 0


def _serve_until_stopped(server: Any, app: Flask) -> None:
    """Serve until Ctrl-C or SIGTERM, then close the history cleanly (checkpointed: no -wal or -shm file left)."""
    # Both set here: a process started with Ctrl-C ignored (a background job of a script) would otherwise never
    # get Python's own handler, and a `kill -INT` would leave it running.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _stop_as_on_ctrl_c)
    server.run()  # waitress then stops its threads, waiting at most 5 s for them
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.SIG_DFL)  # a second Ctrl-C or SIGTERM while closing ends the process at once
    close_app(app)
    log.info("Proofsheet stopped; the history is closed.")


def _stop_as_on_ctrl_c(signum: int, frame: Any) -> None:
    """SIGTERM (`kill`, a service manager) stops the server as Ctrl-C does, so that the history is closed cleanly."""
    raise KeyboardInterrupt


def _pointing_at_itself(args: argparse.Namespace, env_base: tuple[str, str] | None) -> str | None:
    """A message when an image server given at start is this Proofsheet: every request would come back to it."""
    given = [("--api-base", args.api_base)] if args.api_base else [env_base] if env_base else []
    given += [(f"--server {name}", url) for name, url in map(parse_server_option, args.server or [])]
    for source, url in given:
        if settings.is_own_address(url, args.host, args.port):
            return (f"{source} {url} is this Proofsheet's own address (it listens on {args.host}:{args.port}), so "
                    f"every request would come back to it. Give the image server's address instead, for example "
                    f"{settings.DEFAULT_API_BASE} for gpt4free.")
    return None


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(description="Proofsheet: see what an image generation server gives back.", epilog=_help_epilog(),
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=5000, help="port to listen on, 1-65535 (default 5000)")
    parser.add_argument("--api-base", help="the image server's base URL (default http://localhost:1337/v1)")
    parser.add_argument("--server", action="append", metavar="NAME=URL",
                        help="another image server, by name (repeatable); its key from $PROOFSHEET_API_KEY_<NAME>. "
                             "Without --api-base the first one is the default")
    parser.add_argument("--demo", action="store_true", help="start the built-in demo image server and use it")
    parser.add_argument("--demo-delay", action="append", type=demo_delay, metavar="[MODEL=]SECONDS",
                        help="with --demo: seconds each generation takes, streamed partial images spread over them; "
                             "repeat as MODEL=SECONDS for one model (e.g. --demo-delay 2 --demo-delay flux=6)")
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    parser.add_argument("--threads", type=int, default=settings.THREADS,
                        help=f"web server threads; {settings.PAGE_THREADS} are always kept for pages "
                             f"(default {settings.THREADS})")
    parser.add_argument("--allow-host", action="append", metavar="NAME",
                        help="also answer to this host name (loopback names and IP addresses always work)")
    parser.add_argument("--room", metavar="ADDRESS:PORT",
                        help="also open a voters' listener there, serving only the room's voting pages (for example "
                             "0.0.0.0:5001); the rest stays on --host")
    parser.add_argument("--check", action="store_true",
                        help="check the data folder (database and files) without changing anything, then exit")
    parser.add_argument("--backup", metavar="FOLDER", help="copy the history into FOLDER (safe while running)")
    return parser.parse_args(argv)


class _Parser(argparse.ArgumentParser):
    """A mistake on the command line is said in one line, as every other refusal to start is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {port}")
    return port


def _help_epilog() -> str:
    """The environment variables Proofsheet reads, and where it keeps its data."""
    width = max(map(len, settings.VARIABLES))
    lines = [f"  {name.ljust(width)}  {meaning}" for name, meaning in settings.VARIABLES.items()]
    kept = textwrap.fill(f"The history (database, images, servers added, the key for forms) is kept in "
                         f"{settings.data_dir()}; set PROOFSHEET_DATA to keep it elsewhere.", 100,
                         break_long_words=False, break_on_hyphens=False)
    return "environment variables:\n" + "\n".join(lines) + "\n\n" + kept


def app_data_dir(config: dict[str, Any]) -> Path:
    return Path(config.get("DATA_DIR") or settings.data_dir())


def _look_after_history(args: argparse.Namespace) -> int:
    from proofsheet.history import tools as history_tools

    folder = settings.data_dir()
    try:
        report = history_tools.backup(folder, Path(args.backup)) if args.backup else history_tools.check(folder)
    except (OSError, sqlite3.Error) as exc:
        return _refuse_to_start(f"Could not {'back up' if args.backup else 'check'} {folder}: {exc}")
    print("\n".join(report.lines))
    return 1 if report.problems else 0


def _start_message(exc: Exception, folder: Path) -> str:
    if isinstance(exc, FolderInUse):
        return (f"The data folder {folder} is in use by another Proofsheet ({exc}). Stop that one first, or give "
                "this one a folder of its own with PROOFSHEET_DATA=/another/folder.")
    return str(exc)


def _listen_message(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"Port {port} on {host} is already in use (another Proofsheet, or another program). Choose another "
                f"with --port, for example --port {port + 1}.")
    if exc.errno == errno.EACCES:
        return f"Not allowed to listen on port {port}; choose one above 1023 with --port."
    return f"Cannot listen on {host}:{port} ({exc.strerror or exc}). Check --host and --port."


def _refuse_to_start(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _warn_if_unhealthy(servers: ServerRegistry) -> None:
    """At start, one line for each image server not there yet: Proofsheet starts anyway."""
    for server in servers.all():
        health = server.check().health
        if not health.answers:
            log.warning("The image server is not ready (%s): %s Proofsheet is running and will use it once it answers.",
                        server.name, health.message)



if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
