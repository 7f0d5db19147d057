"""/health: whether the service is up, what it serves from, and how its query workers and cache are doing."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from service import __version__
from service.http.context import services

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    found = services()
    return jsonify(
        status="ok",
        version=__version__,
        store=found.store.describe_location(),
        named_graphs=len(found.store.named_graphs()),
        **found.executor.status(),
        **found.cache.stats(),
    )
