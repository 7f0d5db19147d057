"""Python's cyclic garbage collector, paused while a load makes millions of objects.

A study of 100,000 rows becomes millions of small objects (terms, triples, quads) that hold no reference
cycles. Each allocation counts towards the collector's next pass, and its passes walk every live object: with
the rows and the study's triples alive, that was a third of the time of building a study and storing it
(BENCHMARKS.md). Reference counting still frees what a load lets go of; cycles wait for the next pass after it.
"""

from __future__ import annotations

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
