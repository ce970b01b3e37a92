"""Running what was asked: the runner and admission, /v1 recording, live events."""
