"""Pause the cyclic garbage collector while a batch of events is decoded or folded.

Decoding a few thousand events allocates tens of thousands of short-lived objects that
reference counting frees; each allocation burst makes the cyclic collector walk the whole
heap (in the worker, Temporal's SDK and SQLAlchemy included), several times per batch,
for nothing: on a replay that cost more than the folding itself. The pause is bounded by
the batch and reentrant, and the collector runs as usual after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Within the block (nested blocks included), no automatic cyclic collection."""
    global _depth
    if _depth == 0 and not gc.isenabled():
        yield  # someone else turned it off: leave it as it is
        return
    _depth += 1
    gc.disable()
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.enable()
