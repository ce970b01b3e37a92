"""The request as a person can paste it elsewhere: a curl command and a Python snippet, exactly as it was sent."""
from __future__ import annotations

import json
import shlex
from typing import Any

KEY_PLACEHOLDER = "$PROOFSHEET_API_KEY"


def curl_command(endpoint: str, body: dict[str, Any], with_key: bool) -> str:
    lines = [f"curl {shlex.quote(endpoint)}", "-H 'Content-Type: application/json'"]
    if with_key:
        lines.append(f'-H "Authorization: Bearer {KEY_PLACEHOLDER}"')
    lines.append(f"-d {shlex.quote(json.dumps(body, ensure_ascii=False))}")
    return " \\\n  ".join(lines)


def python_snippet(endpoint: str, body: dict[str, Any], with_key: bool) -> str:
    headers = ', headers={"Authorization": "Bearer " + os.environ["PROOFSHEET_API_KEY"]}' if with_key else ""
    imports = "import os\n\nimport requests" if with_key else "import requests"
    return (f"{imports}\n\nurl = {endpoint!r}\nbody = {body!r}\n"
            f"data = requests.post(url, json=body{headers}).json()\n")
