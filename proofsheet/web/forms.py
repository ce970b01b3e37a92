"""The forms' fields: a sent body back in the generate form, and the compare form's rows of (server, model)."""
from __future__ import annotations

import json
from typing import Any

from proofsheet.asking.generation import PROOFSHEET_FIELDS
from proofsheet.upstream.edits import EDIT_FILES

MAX_FORM_VALUE = 64 * 1024  # an extra field longer than this (as JSON) is not put in the form, which sends 1 MB at most
FORM_FIELDS = ("prompt", "model", "response_format", "n", "size", "seed", "negative_prompt")
# Options with a control of their own in the form (by dialect); any other field goes to Extra fields (JSON).
FORM_OPTIONS = ("quality", "style", "background", "output_format", "output_compression", "moderation", "stream",
                "partial_images", "provider", "aspect_ratio", "num_inference_steps", "guidance_scale")


def form_values(body: dict[str, Any]) -> dict[str, Any]:
    """A sent body back in the form: fields with a control in their boxes, the rest in Extra fields (JSON)."""
    values = {name: body[name] for name in (*FORM_FIELDS, *FORM_OPTIONS) if body.get(name) is not None}
    values["response_format"] = body.get("response_format") or ""
    if "stream" in values:
        values["stream"] = "on" if body["stream"] is True else ""
    extras = {name: value for name, value in body.items() if name not in FORM_FIELDS and name not in FORM_OPTIONS
              and name not in PROOFSHEET_FIELDS and name not in EDIT_FILES}
    # A program's call through /v1 may carry megabytes (reference images as base64): more than a form sends.
    sizes = {name: len(json.dumps(value, ensure_ascii=False)) for name, value in extras.items()}
    values["left_out"] = {name: size for name, size in sizes.items() if size > MAX_FORM_VALUE}
    kept = {name: value for name, value in extras.items() if name not in values["left_out"]}
    if kept:
        values["extra_fields"] = json.dumps(kept, ensure_ascii=False)
    return values


def compare_fields(form: Any) -> dict[str, Any]:
    """The form's fields, its rows of (server, model) as `targets`."""
    fields = {name: form.get(name) for name in form.keys() if name not in ("target_server", "target_model")}
    models, servers = form.getlist("target_model"), form.getlist("target_server")
    fields["targets"] = [{"server": (servers[index] if index < len(servers) else None) or None, "model": model}
                         for index, model in enumerate(models)]
    return fields
