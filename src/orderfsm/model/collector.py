"""The garbage collector paused while a table is built.

Compiling a large table allocates hundreds of thousands of objects that all stay alive
(frozen value objects, the index of the compiled machine): every collection the
allocations trigger finds nothing to free, and each full one walks everything built so
far, so with the collector running the time to load grows faster than the table (30,000
statuses: 5.5 s instead of 3.2 s). :func:`collector_paused` turns it off for the
duration and back on afterwards, also when the table is refused.

Turned back on, the collector would still walk every object the pause allocated once
(its youngest generation holds them all): at 100,000 statuses about 3 s of CPU spent
finding nothing. So after a pause that allocated more than :data:`FREEZE_AFTER` objects
it first moves every object then alive into the permanent generation (:func:`gc.freeze`),
which collections never walk; refcounting still frees them. The price, for such a
process only: a reference cycle among those objects that becomes garbage later is not
collected unless the caller calls :func:`gc.unfreeze`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["FREEZE_AFTER", "collector_paused"]

FREEZE_AFTER = 1_000_000
"""More objects than this allocated during a pause are frozen at its end (a table of
about 100,000 transitions or more); fewer are left to the collector."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body (or, as a decorator, the function) with the garbage collector
    disabled, enabling it again however the body ends. A collector the caller disabled
    stays disabled; nested uses leave it to the outermost. Process-wide, like the
    collector: another thread allocating meanwhile is not collected either."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_count()[0] > FREEZE_AFTER:
            gc.freeze()
        gc.enable()
