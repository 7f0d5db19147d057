"""Python's cyclic garbage collector, paused while a load makes millions of objects.

A study of 100,000 rows becomes millions of small objects (terms, triples, quads) that hold no reference
cycles. Each allocation counts towards the collector's next pass, and its passes walk every live object: with
the rows and the study's triples alive, that was a third of the time of building a study and storing it
(BENCHMARKS.md). Reference counting still frees what a load lets go of; cycles wait for the next pass after it.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No collector passes inside the block (blocks may nest; the outermost turns it back on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def give_back_freed_memory() -> None:
    """Return to the system the memory the process has freed (glibc only; elsewhere nothing happens).

    glibc keeps freed memory for later allocations from the same thread's arena, but the bulk loader writes
    from threads of its own: what it freed stayed counted in the process's memory while the next step made
    more (about 1.3 GB for a study of 100,000 rows). It holds each arena while it trims it (a second or so on a
    large study's heap), so a replace calls it in its writing thread, after each graph (store.Replacement).
    """
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)
