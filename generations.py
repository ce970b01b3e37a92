"""Running generations: record them, ask the image server, keep what came back."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from generation_request import CompareRequest, GenerationRequest
from image_server import ImageServerClient
from store import Group, StoredGeneration, Store


def run_generation(store: Store, client: ImageServerClient, request: GenerationRequest,
                   client_ref: str | None = None, group: tuple[int, int] | None = None) -> StoredGeneration | None:
    """None only when the generation was deleted while it ran."""
    generation_id = store.begin(request.to_body(), client.generations_url, client_ref, group)
    store.finish(generation_id, client.generate(request))
    return store.get(generation_id)


def start_compare(store: Store, compare: CompareRequest) -> int:
    return store.create_group(compare.prompt, [cell.to_body() for cell in compare.cells])


def run_compare(store: Store, client: ImageServerClient, compare: CompareRequest) -> Group:
    """Every cell at once, in parallel: the grid takes as long as its slowest cell."""
    group_id = start_compare(store, compare)
    with ThreadPoolExecutor(max_workers=len(compare.cells), thread_name_prefix="compare") as pool:
        for position, cell in enumerate(compare.cells):
            pool.submit(run_generation, store, client, cell, None, (group_id, position))
    return store.group(group_id)
