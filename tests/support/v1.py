"""Proofsheet's /v1 as a program calls it (the openai SDK), and the history's copy of such a call."""
import time

import openai
import requests


def sdk(live, api_key: str = "sk-caller-key-0123456789") -> openai.OpenAI:
    return openai.OpenAI(base_url=live.url + "/v1", api_key=api_key, max_retries=0, timeout=30)


def kept(live, generation_id, wait: float = 5.0) -> dict:
    """The generation as the history has it, once it is no longer running (kept beside the relay)."""
    deadline = time.monotonic() + wait
    while True:
        generation = requests.get(f"{live.url}/api/generations/{generation_id}", timeout=5).json()
        if generation["status"] != "running" or time.monotonic() > deadline:
            return generation
        time.sleep(0.05)
