"""The partial images of generations that stream (web/streaming.py), served from memory while they are fresh."""
from __future__ import annotations

from flask import Blueprint, Response, abort

from proofsheet.web.context import runner

partials = Blueprint("streaming", __name__)  # named "streaming" as before: its endpoint stays streaming.partial_image


@partials.get("/generations/<id:generation_id>/partials/<int:index>")
def partial_image(generation_id: int, index: int) -> Response:
    image = runner().partials.get(generation_id, index) or abort(404)
    response = Response(image.data, mimetype=image.mime)
    response.headers["Cache-Control"] = "no-store"  # partials are not kept; the finished image is
    return response
