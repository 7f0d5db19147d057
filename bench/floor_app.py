"""The least a lookup can cost in our stack: a bare Flask route under gunicorn as `samverkan serve` runs it, answering
`/sparql` with nothing of the service's own (no parameters checked, no result cache, ETag, CORS or release mark).

    python bench/floor_app.py hop STORE PORT      # the query runs in a query worker process, as the service does
    python bench/floor_app.py inline STORE PORT   # the query runs in the request's thread (it could not be stopped)

bench/cheap_requests.py `--floors` serves both beside ours and Oxigraph's server: the distance from a floor to ours
is what the service's own work costs; the distance from `hop` to `inline` is what stopping a runaway query costs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from gunicorn.app.base import BaseApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.executor import InlineExecutor, Limits, QueryJob, WorkerPoolExecutor
from service.store import EmbeddedStore

QUERY_WORKERS = 2  # as cheap_requests.py starts ours


def floor_app(kind: str, store: str) -> Flask:
    if kind == "hop":
        executor: WorkerPoolExecutor | InlineExecutor = WorkerPoolExecutor(store, Limits(), QUERY_WORKERS)
    else:
        executor = InlineExecutor(EmbeddedStore(store), Limits())
    app = Flask(__name__)

    @app.post("/sparql")
    def sparql() -> Response:
        answer = executor.run(QueryJob(request.form["query"], accept=request.headers.get("Accept", "")))
        return Response(answer.body, content_type=answer.media_type)

    @app.get("/health")
    def health() -> str:
        return "ok"

    return app


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn with the options service/http/serving.py gives it for `samverkan serve --workers 1`."""

    def __init__(self, kind: str, store: str, port: int) -> None:
        self.kind, self.store, self.port = kind, store, port
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": f"127.0.0.1:{self.port}",
            "workers": 1,
            "threads": 8,  # samverkan serve's default
            "worker_class": "gthread",
            "loglevel": "warning",
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return floor_app(self.kind, self.store)


if __name__ == "__main__":
    kind, store, port = sys.argv[1:4]
    if kind not in ("hop", "inline"):
        raise SystemExit(f"the floor is 'hop' or 'inline', not '{kind}'")
    _Gunicorn(kind, store, int(port)).run()
