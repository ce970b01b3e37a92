"""Settings are said once: one set of defaults (that the environment is read in settings.py only: test_house.py)."""

from proofsheet import settings
from proofsheet.running.runner import Runner
from proofsheet.upstream.client import ImageServerClient


def test_the_app_its_clients_and_its_runner_share_one_set_of_defaults(make_app, tmp_path, demo_server):
    app = make_app(tmp_path, demo_server.api_base, TIMEOUT=settings.TIMEOUT)
    made = app.extensions["servers"].default.client
    bare = ImageServerClient(demo_server.api_base)
    for client in (made, bare):
        assert (client.timeout, client.max_response_bytes, client.max_image_bytes, client.image_timeout) == \
            (300.0, 64 * 1024 * 1024, 32 * 1024 * 1024, 60.0)
    assert app.extensions["runner"].max_in_flight == 72 == Runner.__init__.__defaults__[0]
    assert settings.in_flight_for(settings.THREADS) == 72  # 96 threads, 16 kept for pages, 8 for live pages


def test_a_server_given_at_start_reads_its_key_from_its_own_variable(make_app, tmp_path, demo_server, monkeypatch):
    monkeypatch.setenv("PROOFSHEET_API_KEY_SECOND_ONE", "sk-second")
    app = make_app(tmp_path, demo_server.api_base, SERVERS=[("second-one", demo_server.api_base)])
    second = app.extensions["servers"].get("second-one")
    assert second.client.has_key and second.key_env == "PROOFSHEET_API_KEY_SECOND_ONE"
