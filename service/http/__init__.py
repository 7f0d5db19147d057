"""The HTTP face of the service: the application factory, with one blueprint per concern.

Layers (checked by import-linter, pyproject.toml): this factory registers the blueprints (sparql, update,
graph_store, api, health, pages); they reach the shared services through `context` and share the request
helpers (answers, auth, saved, params, errors); none imports the factory or another blueprint. The core
(service/*.py outside this package) never imports Flask.
"""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

from service.config import Config
from service.http import api, graph_store, health, publish, sparql, update
from service.http.context import EXTENSION
from service.http.errors import register_error_handlers
from service.http.pages import cite, resources, web
from service.http.pages.rendering import PAGES, setup_pages
from service.runtime import open_services
from service.store import Store

EXPOSED_HEADERS = [
    "Content-Type",
    "Content-Length",
    "ETag",
    "Link",
    "Samverkan-Cache",
    "Samverkan-Release",
    "Samverkan-Query-Version",
    "Samverkan-Rows",
    "Samverkan-Offset",
    "Samverkan-Limit",
    "Samverkan-Truncated",
]


def create_app(config: Config | None = None, store: Store | None = None) -> Flask:
    """One application: its own store (or the one given), loaded with the shipped data unless told not to."""
    config = config or Config()
    app = Flask(__name__, static_folder=PAGES / "static", template_folder=PAGES / "templates")
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    app.extensions[EXTENSION] = open_services(config, store)
    # Any page may query the endpoint from the browser: CORS on every response, as public SPARQL services do.
    CORS(
        app,
        origins="*",
        methods=["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"],
        allow_headers=["Accept", "Content-Type", "Authorization"],
        expose_headers=EXPOSED_HEADERS,
        send_wildcard=True,
        vary_header=False,
    )
    register_error_handlers(app)
    setup_pages(app)
    for blueprint in (
        sparql.bp,
        update.bp,
        graph_store.bp,
        api.bp,
        publish.bp,
        health.bp,
        web.bp,
        resources.bp,
        cite.bp,
    ):
        app.register_blueprint(blueprint)
    return app
