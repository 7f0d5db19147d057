"""Serving over HTTP: gunicorn with N worker processes (each with its own query workers) over one store.

The shipped data is brought up to date once, in a short-lived process of its own, before gunicorn
starts: the gunicorn master never opens the store, so its forked workers inherit no database state.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from service.config import Config
from service.store import memory_folder


def prepare_store(config: Config) -> str | None:
    """Load what changed in ontology/ and data/; returns an error message for the researcher, or None."""
    from service.ingest import DataFileError
    from service.runtime import load_shipped_data
    from service.store import StoreError, open_store

    try:
        load_shipped_data(config, open_store(config))
    except (DataFileError, StoreError) as error:
        return str(error)
    return None


@contextmanager
def store_folder(config: Config) -> Iterator[Config]:
    """The config with an on-disk store every process can open: a temporary one in memory if none is given."""
    if config.store_path or config.query_url:
        yield config
        return
    with tempfile.TemporaryDirectory(prefix="samverkan-store-", dir=memory_folder()) as folder:
        yield replace(config, store_path=folder)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, config: Config, options: dict[str, Any]) -> None:
        self.config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from service.http import create_app

        return create_app(replace(self.config, load_shipped_data=False))


def serve(config: Config, host: str, port: int, workers: int, threads: int) -> str | None:
    """Prepare the store, then serve until stopped; returns an error message if the data cannot be loaded."""
    with store_folder(config) as config:
        if config.load_shipped_data:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                problem = pool.submit(prepare_store, config).result()
            if problem:
                return problem
        options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": int(config.query_timeout) + 30,  # a worker busy with a query is not stuck
            "graceful_timeout": 5,
            "loglevel": "warning",
        }
        _Gunicorn(config, options).run()
    return None
