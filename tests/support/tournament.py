"""A finished run to judge, for the tournament's tests (in one process and in Chromium)."""
from __future__ import annotations

from typing import Any

from tests.support.waiting import wait_until

ANIMALS = ["a fox in the snow", "a whale at dusk", "an owl on a branch", "a hare in a field", "a heron in reeds",
           "a crab on a rock"]


def finished_run(client: Any, targets: list[dict[str, Any]], prompts: list[str] = ANIMALS,
                 name: str = "animals") -> dict[str, Any]:
    """Start a run through the API (a Flask test client) and wait until it has ended; its progress."""
    started = client.post("/api/runs", json={"prompts": prompts, "targets": targets, "name": name})
    assert started.status_code == 201, started.get_json()
    run_id = started.get_json()["id"]
    assert wait_until(lambda: client.get(f"/api/runs/{run_id}").get_json()["status"] != "running", 60)
    return client.get(f"/api/runs/{run_id}").get_json()


def image_owners(client: Any, run_id: int) -> dict[str, tuple[int, int]]:
    """Each image of a run, by the address a page shows it at: (target index, prompt index) of the cell it is."""
    owners = {}
    cells = client.get(f"/api/runs/{run_id}/cells?per_page=1000").get_json()["cells"]
    for cell in cells:
        if cell["generation_id"]:
            generation = client.get(f"/api/generations/{cell['generation_id']}").get_json()
            for image in generation["images"]:
                if image.get("src"):
                    owners[image["src"]] = (cell["target_index"], cell["prompt_index"])
    return owners
