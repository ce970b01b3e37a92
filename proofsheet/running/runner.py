"""Running generations: record them, ask the image server, keep what came back.

A `Runner` is the one way in. Each generation, edit and comparison first takes a place (running/admission.py: at
most `max_in_flight` at once, a plain "busy" beyond that). It does not start a generation whose asker has already
gone, abandons one whose asker leaves while it waits, and cuts the upstream connection at once on Cancel.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol, TypeVar

from proofsheet import settings
from proofsheet.running.admission import ABANDONED, Admission, Gone, Place
from proofsheet.upstream.cancellation import Flight, Flights
from proofsheet.asking.asked_vs_got import asked_vs_got
from proofsheet.asking.edit import EditRequest
from proofsheet.running.events import EventBus
from proofsheet.asking.compare import CompareRequest
from proofsheet.asking.generation import GenerationRequest, RequestErrors, parse_request
from proofsheet.upstream.dialects import asked_body, provider_route
from proofsheet.upstream.servers import Server, ServerRegistry
from proofsheet.upstream.edits import EDIT_FILES, kept_request
from proofsheet.results import Problem, VerifiedImage
from proofsheet.history.records import Group, StoredGeneration
from proofsheet.history.store import StorageError, Store

T = TypeVar("T")
PARTIALS_KEPT = 48  # partial images kept in memory for the page to fetch; they are not part of the history


class Listener(Protocol):
    """Told about a generation while it runs: when it is recorded, and each partial image as it arrives."""

    def started(self, generation_id: int) -> None: ...

    def partial(self, generation_id: int, index: int, image: VerifiedImage) -> None: ...


class PartialImages:
    """The latest partial images of streamed generations, in memory and bounded, for the page to show."""

    def __init__(self) -> None:
        self._images: OrderedDict[tuple[int, int], VerifiedImage] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, generation_id: int, index: int, image: VerifiedImage) -> None:
        with self._lock:
            self._images[(generation_id, index)] = image
            while len(self._images) > PARTIALS_KEPT:
                self._images.popitem(last=False)

    def get(self, generation_id: int, index: int) -> VerifiedImage | None:
        with self._lock:
            return self._images.get((generation_id, index))
INTERNAL_ERROR = "Something went wrong inside Proofsheet while this generation ran. The details are in its log."


class Runner:
    def __init__(self, store: Store, servers: ServerRegistry, max_in_flight: int = settings.MAX_IN_FLIGHT,
                 events: EventBus | None = None) -> None:
        self.store = store
        self.servers = servers
        self.events = events or EventBus()
        self.flights = Flights(self._abandon)
        self.admission = Admission(max_in_flight, self.flights)
        self.partials = PartialImages()

    def generate(self, request: GenerationRequest, client_ref: str | None = None,
                 group: tuple[int, int] | None = None, gone: Gone | None = None,
                 listener: Listener | None = None) -> StoredGeneration | Problem:
        """The kept generation, or a Problem when it could not start (busy, disk full, asker gone, deleted)."""
        return self._in_a_place(gone, lambda place: self._generate(place, request, client_ref, group, listener))

    def generate_in(self, place: Place, request: GenerationRequest,
                    listener: Listener | None = None) -> StoredGeneration | Problem:
        """A generation in a place already taken: a run's worker waits for its place, then claims its cell. Kept
        `via` "run": the History shows the run as one entry, not its thousands of generations."""
        return self._generate(place, request, None, None, listener, via="run")

    def edit(self, edit: EditRequest, client_ref: str | None = None, gone: Gone | None = None,
             listener: Listener | None = None) -> StoredGeneration | Problem:
        """An edit, kept like a generation with its input images and mask, and a link to the image it started from."""
        def work(place: Place) -> StoredGeneration | Problem:
            return self._generate(place, edit.request, client_ref, None, listener, edit)
        return self._in_a_place(gone, work)

    def rerun(self, generation: StoredGeneration, without_stream: bool = False,
              gone: Gone | None = None) -> StoredGeneration | Problem:
        """The same request again; an edit is sent its kept images and mask again."""
        asked = asked_body(generation.request, generation.endpoint)
        body = {name: value for name, value in asked.items() if name not in EDIT_FILES}
        if without_stream:
            body.pop("stream", None)
            body.pop("partial_images", None)
        request = parse_request({**body, "server": generation.server})
        if isinstance(request, RequestErrors):
            return Problem("bad_request", request.summary())
        if generation.kind != "edit":
            return self.generate(request, gone=gone)
        kept = self.store.input_images(generation.id)
        if isinstance(kept, Problem):
            return kept
        images, mask = kept
        source = (generation.source_generation, generation.source_image or 0) if generation.source_generation else None
        return self.edit(EditRequest(request, images, mask, source), gone=gone)

    def compare(self, compare: CompareRequest, gone: Gone | None = None,
                on_start: Callable[[int], None] | None = None) -> Group | Problem:
        """Every cell at once, in parallel: the grid takes as long as its slowest cell. `on_start` hears of the
        comparison's id once it is kept, before any cell is asked for."""
        return self._in_a_place(gone, lambda place: self._compare(place, compare, on_start))

    def start_compare(self, compare: CompareRequest) -> int | Problem:
        try:
            return self.store.create_group(compare.prompt, [cell.to_cell() for cell in compare.cells], compare.layout)
        except StorageError as error:
            return error.problem

    def cancel(self, client_ref: str) -> int | None:
        """Cancel the running generation sent with `client_ref`: recorded as cancelled, its connection cut."""
        generation_id = self.store.running_id(client_ref)
        if generation_id is None or not self.store.cancel(generation_id):
            return None
        self.flights.cancel(generation_id)
        self.announce(generation_id)
        return generation_id

    def delete(self, generation_id: int) -> bool:
        """Delete a generation and its files, and tell the pages showing the history live; False if there was none."""
        deleted = self.store.delete(generation_id)
        if deleted:
            self.announce(generation_id, "deleted")
        return deleted

    def announce(self, generation_id: int, status: str | None = None, via: str | None = None) -> None:
        """Tell the pages showing the history live that this generation began, changed or ended (one of a run's
        says `"via": "run"`: the History lists the run, not it)."""
        if status is None:
            generation = self.store.get(generation_id)
            status = generation.status if generation else "deleted"
        event = {"type": "generation", "id": generation_id, "status": status,
                 "permalink": f"/generations/{generation_id}"}
        self.events.publish({**event, "via": via} if via == "run" else event)

    def place(self, gone: Gone | None = None, wait: float = 0.0) -> Place | Problem:
        """A place among the conversations with image servers in flight, held in a `with` block; or why there is
        none (busy, or the asker has gone). Everything that asks an image server takes one first."""
        return self.admission.place(gone, wait)

    @property
    def max_in_flight(self) -> int:
        return self.admission.limit

    def _in_a_place(self, gone: Gone | None, work: Callable[[Place], T]) -> T | Problem:
        place = self.place(gone)
        if isinstance(place, Problem):
            return place
        with place:
            return work(place)

    def _compare(self, place: Place, compare: CompareRequest,
                 on_start: Callable[[int], None] | None) -> Group | Problem:
        """One place for the whole grid: its cells are asked for at once, on threads of their own."""
        group_id = self.start_compare(compare)
        if isinstance(group_id, Problem):
            return group_id
        if on_start:
            on_start(group_id)
        with ThreadPoolExecutor(max_workers=len(compare.cells), thread_name_prefix="compare") as pool:
            for position, cell in enumerate(compare.cells):
                pool.submit(self._cell, place, cell, (group_id, position))
        return self.store.group(group_id) or Problem("deleted", "The comparison was deleted while it ran.")

    def _generate(self, place: Place, request: GenerationRequest, client_ref: str | None,
                  group: tuple[int, int] | None, listener: Listener | None = None,
                  edit: EditRequest | None = None, via: str = "proofsheet") -> StoredGeneration | Problem:
        server = self.servers.get(request.server)
        if server is None:
            return self.servers.unknown(request.server or "")
        try:
            # Built once: kept as sent, and posted as it is.
            url, body = _route(request, server) if edit is None else (server.client.edits_url, request.to_body())
            if edit is None:
                generation_id = self.store.begin(body, url, client_ref, group, via=via, server=server.name)
            else:
                generation_id = self._begin_edit(edit, client_ref, server)
        except StorageError as error:
            return error.problem
        self.announce(generation_id, "running", via)
        on_partial = self._partials_to(listener, generation_id) if listener else None
        try:
            with place.flying(generation_id):
                result = server.client.generate(body, request.streams, on_partial, url) if edit is None else \
                    server.client.edit(body, edit.images, edit.mask, request.streams, on_partial)
        except Exception:  # a fault of Proofsheet's own: recorded as failed, never left running
            self.store.fail(generation_id, Problem("internal_error", INTERNAL_ERROR))
            self.announce(generation_id, via=via)
            raise
        result.notes += asked_vs_got(request, result)
        self.announce(generation_id, self.store.finish(generation_id, result), via)
        return self.store.get(generation_id) or Problem("deleted", "The generation was deleted while it ran.")

    def _begin_edit(self, edit: EditRequest, client_ref: str | None, server: Server) -> int:
        body = kept_request(edit.request.to_body(), edit.images, edit.mask)
        generation_id = self.store.begin(body, server.client.edits_url, client_ref, kind="edit", source=edit.source,
                                         server=server.name)
        try:
            self.store.add_inputs(generation_id, edit.images, edit.mask)
        except StorageError as error:
            self.store.fail(generation_id, error.problem)  # recorded, never left running
            raise
        return generation_id

    def _partials_to(self, listener: Listener, generation_id: int) -> Callable[[int, VerifiedImage], None]:
        listener.started(generation_id)

        def on_partial(index: int, image: VerifiedImage) -> None:
            self.partials.keep(generation_id, index, image)
            listener.partial(generation_id, index, image)
        return on_partial

    def _cell(self, place: Place, cell: GenerationRequest, group: tuple[int, int]) -> None:
        try:
            self._generate(place, cell, None, group)
        finally:
            self.store.release_connection()  # this thread ends with the comparison: close its database handle

    def _abandon(self, flight: Flight) -> None:
        if flight.generation_id < 0:  # a relay that could not be recorded: only its connection to cut
            flight.cancel()
        elif self.store.cancel(flight.generation_id, ABANDONED):
            flight.cancel()
            self.announce(flight.generation_id)


def _route(request: GenerationRequest, server: Server) -> tuple[str, dict[str, Any]]:
    """The URL and body a generation is sent with (a gpt4free provider goes in the path: see provider_route)."""
    body = request.to_body()
    return provider_route(server.client.generations_url, body, server.catalog.server_kind(ask="provider" in body))
