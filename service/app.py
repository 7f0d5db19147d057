"""The application factory: one store per app, blueprints per concern, no state in globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from service import __version__
from service.config import Config
from service.executor import Executor, InlineExecutor, Limits, WorkerPoolExecutor
from service.fetch_policy import FetchRefused
from service.formats import NotAcceptable
from service.ingest.shipped import BuildCache, shipped_sources, sync
from service.store import EmbeddedStore, QueryTimeoutError, RemoteStore, Store, StoreError

if TYPE_CHECKING:
    from service.caching import ResultCache


@dataclass
class Services:
    """What request handlers share, kept on the app (`app.extensions["samverkan"]`)."""

    config: Config
    store: Store
    executor: Executor
    cache: ResultCache


def open_store(config: Config) -> Store:
    if config.query_url:
        return RemoteStore(config.query_url, config.update_url)
    return EmbeddedStore(config.store_path)


def open_executor(config: Config, store: Store) -> Executor:
    """Worker processes for the embedded store (so a runaway query can be stopped); inline for a remote one."""
    limits = Limits(
        timeout=config.query_timeout, max_rows=config.max_rows, service_endpoints=config.allowed_service_endpoints
    )
    if isinstance(store, EmbeddedStore):
        return WorkerPoolExecutor(store.path, limits, config.query_workers)
    return InlineExecutor(store, limits)


def services() -> Services:
    return current_app.extensions["samverkan"]  # type: ignore[no-any-return]


def error_response(status: int, message: str) -> Response:
    """An error in plain words: JSON for the API and health, plain text for SPARQL clients and pages."""
    name = HTTP_STATUS_CODES.get(status, "Error")
    if request.path.startswith(("/api/", "/health")):
        response = jsonify(error=name, status=status, message=message)
    else:
        response = Response(f"{status} {name}: {message}\n", mimetype="text/plain")
    response.status_code = status
    return response


def load_shipped_data(config: Config, store: Store) -> list[str]:
    """Bring the store up to date with ontology/ and data/ (only what changed); returns the graphs loaded."""
    cache = BuildCache(config.build_cache) if config.build_cache else None
    return sync(store, shipped_sources(config.data_root, examples=config.load_examples), cache)


def create_app(config: Config | None = None, store: Store | None = None) -> Flask:
    config = config or Config()
    store = store or open_store(config)
    if config.load_shipped_data:
        load_shipped_data(config, store)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    from service.caching import ResultCache

    app.extensions["samverkan"] = Services(
        config=config,
        store=store,
        executor=open_executor(config, store),
        cache=ResultCache(config.result_cache_mb * 1024 * 1024),
    )

    from service.api import bp as api_bp
    from service.graph_store import bp as graph_store_bp
    from service.resources import bp as resources_bp
    from service.sparql_protocol import bp as sparql_bp
    from service.update_protocol import bp as update_bp
    from service.web import bp as web_bp

    app.register_blueprint(sparql_bp)
    app.register_blueprint(update_bp)
    app.register_blueprint(graph_store_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(resources_bp)

    @app.get("/health")
    def health() -> Response:
        graphs = services().store.named_graphs()
        return jsonify(
            status="ok",
            version=__version__,
            store=store.describe_location(),
            named_graphs=len(graphs),
            **services().executor.status(),
            **services().cache.stats(),
        )

    @app.after_request
    def cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type, Authorization"
        response.headers["Access-Control-Expose-Headers"] = (
            "Content-Type, Content-Length, ETag, Link, Samverkan-Cache, Samverkan-Query-Version, Samverkan-Rows, "
            "Samverkan-Offset, Samverkan-Limit, Samverkan-Truncated"
        )
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        message = error.description or error.name
        allowed = ", ".join(error.valid_methods or []) if isinstance(error, MethodNotAllowed) else ""
        if allowed:
            message = f"{request.method} is not allowed on {request.path}; use {allowed}."
        response = error_response(error.code or 500, message)
        if allowed:
            response.headers["Allow"] = allowed
        return response

    @app.errorhandler(NotAcceptable)
    def not_acceptable(error: NotAcceptable) -> Response:
        return error_response(406, str(error))

    @app.errorhandler(FetchRefused)
    def fetch_refused(error: FetchRefused) -> Response:
        return error_response(400, str(error))

    @app.errorhandler(QueryTimeoutError)
    def too_long(error: QueryTimeoutError) -> Response:
        """A query past its time limit: the request asked for more than the service gives, so a 4xx."""
        return error_response(422, str(error))

    @app.errorhandler(StoreError)
    def unavailable(error: Exception) -> Response:
        return error_response(503, str(error))

    return app
