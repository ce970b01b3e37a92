"""The room vote as the tests drive it: a blind round to open, and voters, each a phone with its own cookie jar
(and, when asked, its own loopback address, as each phone on a room's Wi-Fi has its own)."""
from __future__ import annotations

import re

import requests
from requests.adapters import HTTPAdapter

CHECK = re.compile(r'name="check" value="([0-9a-f]+)"')


def arena_round(client, models=("flux", "sdxl-turbo")) -> int:
    """A blind round of the demo server's images, every contender back (the API answers once they are)."""
    answer = client.post("/api/arena", json={"prompt": "a lighthouse at dusk",
                                             "contenders": [{"model": model} for model in models]})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()["id"]


def open_to_room(client, round_id: int) -> str:
    answer = client.post(f"/api/arena/{round_id}/room")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()["url"]


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Voter:
    """One phone: its own cookies; `source` a loopback address of its own to send from."""

    def __init__(self, source: str | None = None) -> None:
        self.session = requests.Session()
        if source:
            self.session.mount("http://", _FromAddress(source))
        self.check = ""

    def open(self, url: str) -> requests.Response:
        page = self.session.get(url, timeout=10)
        found = CHECK.search(page.text)
        self.check = found.group(1) if found else self.check
        return page

    def vote(self, url: str, choice: str, **headers: str) -> requests.Response:
        if not self.check:
            self.open(url)
        return self.session.post(url, data={"choice": choice, "check": self.check}, headers=headers, timeout=10)

    def close(self) -> None:
        self.session.close()


def voter_address(index: int) -> str:
    """A loopback address of its own for the index-th voter (127.0.1.1, 127.0.1.2, … 127.0.4.250)."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"
