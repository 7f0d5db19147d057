"""The application factory: one store per app, blueprints per concern, no state in globals."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from service import __version__
from service.config import Config
from service.ingest.shipped import shipped_sources, sync
from service.store import EmbeddedStore, RemoteStore, Store


@dataclass
class Services:
    """What request handlers share, kept on the app (`app.extensions["samverkan"]`)."""

    config: Config
    store: Store


def open_store(config: Config) -> Store:
    if config.query_url:
        return RemoteStore(config.query_url, config.update_url)
    return EmbeddedStore(config.store_path)


def services() -> Services:
    return current_app.extensions["samverkan"]  # type: ignore[no-any-return]


def create_app(config: Config | None = None, store: Store | None = None) -> Flask:
    config = config or Config()
    store = store or open_store(config)
    if config.load_shipped_data:
        sync(store, shipped_sources(config.data_root))

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    app.extensions["samverkan"] = Services(config=config, store=store)

    from service.sparql_protocol import bp as sparql_bp

    app.register_blueprint(sparql_bp)

    @app.get("/health")
    def health() -> Response:
        graphs = services().store.named_graphs()
        return jsonify(status="ok", version=__version__, store=store.describe_location(), named_graphs=len(graphs))

    @app.after_request
    def cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type, Authorization"
        response.headers["Access-Control-Expose-Headers"] = "Content-Type, Content-Length, ETag, Link"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        """Errors in plain words: JSON for the API and health, plain text for SPARQL clients."""
        status = error.code or 500
        message = error.description or error.name
        allowed = ", ".join(error.valid_methods or []) if isinstance(error, MethodNotAllowed) else ""
        if allowed:
            message = f"{request.method} is not allowed on {request.path}; use {allowed}."
        if request.path.startswith(("/api/", "/health")):
            response = jsonify(error=error.name, status=status, message=message)
        else:
            response = Response(f"{status} {error.name}: {message}\n", mimetype="text/plain")
        response.status_code = status
        if allowed:
            response.headers["Allow"] = allowed
        return response

    return app
