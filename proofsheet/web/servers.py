"""The Servers page and /api/servers: add, list, check and remove the named image servers Proofsheet can ask."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from proofsheet.results import Problem
from proofsheet.web.context import json_body, servers
from proofsheet.web.errors import SERVER_CHANGE_STATUS, api_error, status_of
from proofsheet.web.guards import csrf_exempt, json_api_paths_only

servers_pages = Blueprint("servers", __name__)


servers_pages.before_request(json_api_paths_only)  # no CSRF token on /api/: JSON only, never from a foreign page


@servers_pages.get("/servers")
def servers_page() -> str:
    """Each server's last known state, at once; the page's script then checks each again, never holding the page."""
    return render_template("servers.html", servers=servers().to_list(), values={}, errors={})


@servers_pages.post("/servers")
def add_server() -> Any:
    form = request.form
    added = servers().add(form.get("name", ""), form.get("api_base", ""), form.get("api_key") or None,
                          form.get("api_key_env") or None)
    if isinstance(added, Problem):
        kept = {name: form.get(name, "") for name in ("name", "api_base", "api_key_env")}  # never the key
        return render_template("servers.html", servers=servers().to_list(), values=kept,
                               errors={"form": added.message}), status_of(added.kind, SERVER_CHANGE_STATUS)
    return redirect(url_for("servers.servers_page", added=added.name), code=303)


@servers_pages.post("/servers/<name>/delete")
def remove_server(name: str) -> Any:
    problem = servers().remove(name)
    if problem:
        abort(status_of(problem.kind, SERVER_CHANGE_STATUS), problem.message)
    return redirect(url_for("servers.servers_page", removed=name), code=303)


@servers_pages.get("/api/servers")
def api_servers() -> Any:
    return jsonify({"servers": servers().to_list(), "default": servers().default_name})


@servers_pages.post("/api/servers")
@csrf_exempt
def api_add_server() -> Any:
    body = json_body()
    added = servers().add(body.get("name"), body.get("api_base"), body.get("api_key"), body.get("api_key_env"))
    if isinstance(added, Problem):
        return api_error(status_of(added.kind, SERVER_CHANGE_STATUS), added.kind, added.message)
    return jsonify(servers().describe(added)), 201


@servers_pages.delete("/api/servers/<name>")
@csrf_exempt
def api_remove_server(name: str) -> Any:
    problem = servers().remove(name)
    if problem:
        return api_error(status_of(problem.kind, SERVER_CHANGE_STATUS), problem.kind, problem.message)
    return jsonify({"deleted": name})


@servers_pages.get("/api/servers/<name>/health")
def api_server_health(name: str) -> Any:
    """Check one server now (at most a few seconds: the check has its own short timeout)."""
    found = servers().get(name)
    if found is None:
        return api_error(404, "unknown_server", servers().unknown(name).message)
    found.check()
    return jsonify(servers().describe(found))
