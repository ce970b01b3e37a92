"""Running a generation: record it, ask the image server, keep what came back."""
from __future__ import annotations

from generation_request import GenerationRequest
from image_server import ImageServerClient
from store import StoredGeneration, Store


def run_generation(store: Store, client: ImageServerClient, request: GenerationRequest,
                   client_ref: str | None = None) -> StoredGeneration:
    generation_id = store.begin(request.to_body(), client.generations_url, client_ref)
    store.finish(generation_id, client.generate(request))
    return store.get(generation_id)
