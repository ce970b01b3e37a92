"""How the app is served: loopback by default, a warning otherwise, and slow generations never block pages."""
import threading

import requests

from app import exposure_warning
from proofsheet.demo.server import DemoImageServer
from tests.support import start_app_process


def test_loopback_addresses_need_no_warning():
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert exposure_warning(host) is None


def test_other_addresses_get_a_clear_warning():
    for host in ("0.0.0.0", "192.168.1.20", "::", "my-laptop.local"):
        warning = exposure_warning(host)
        assert warning.startswith(f"WARNING: Proofsheet is listening on {host}, not only on this machine")
        assert "--host 127.0.0.1" in warning


def test_pages_load_while_slow_generations_are_in_flight(tmp_path):
    slow_generations = 12
    with DemoImageServer(delay=4.0) as slow:
        process, url = start_app_process(tmp_path / "data", slow.api_base)
        try:
            finished = []
            posts = [threading.Thread(target=lambda: finished.append(
                requests.post(url + "/api/generate", json={"prompt": "slow", "size": "64x64"}, timeout=30)))
                for _ in range(slow_generations)]
            for post in posts:
                post.start()
            for _ in range(100):
                if len(slow.requests_seen) == slow_generations:
                    break
                threading.Event().wait(0.05)
            assert len(slow.requests_seen) == slow_generations
            for path in ("/", "/generations", "/compare", "/healthz"):
                assert requests.get(url + path, timeout=10).status_code == 200
            assert finished == [], "the pages should have loaded while every generation was still waiting"
            for post in posts:
                post.join(timeout=30)
            assert [response.status_code for response in finished] == [200] * slow_generations
        finally:
            process.kill()
            process.wait()
