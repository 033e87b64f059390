"""The garbage collector's pace while GraphQL operations run.

CPython's collector runs its young generation every 700 net allocations of container objects,
and a full collection whenever enough survivors have piled up since the last one. A large
lineage answer allocates hundreds of thousands of containers (rows, nodes, their attribute
dicts, the answer's dicts), all alive until the answer is returned: at 700 the collector keeps
walking them, over and over, and with the process's whole heap in the full collections. That
was half the time of a 10,000-node page in-process (270 ms of which 130 ms collecting, see
bench/README.md), and it grows faster than the answer.

`fewer_collections()` raises the first threshold to OPERATION_THRESHOLD (the other two are left
as they are) while at least one operation runs, and puts back what it found when the last one
ends. The collector still runs, every OPERATION_THRESHOLD allocations instead of 700, so
cyclic garbage made meanwhile (by the caller's other threads too) is still collected, just in
larger batches; nothing is switched off, even when operations overlap without pause. A program
that changes the thresholds itself while an operation runs keeps its own: they are put back
only if they are still the ones set here.

A served process (`lineageql serve`) is the server's own, so it sets the threshold once at
start (`serve_thresholds`), with `gc.freeze()`.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

OPERATION_THRESHOLD = 10_000
"""The first generation's threshold during operations: past about 10,000 the gain stops
(a 10,000-node page: 270 ms at 700, 135 ms at 10,000, 145 ms at 100,000 or disabled)."""

_lock = threading.Lock()
_running = 0
_saved: tuple[int, int, int] | None = None  # the thresholds found by the first operation
_raised: tuple[int, int, int] | None = None  # the thresholds it set


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Within, the collector's first threshold is at least OPERATION_THRESHOLD."""
    _enter()
    try:
        yield
    finally:
        _exit()


def _raised_from(found: tuple[int, int, int]) -> tuple[int, int, int] | None:
    """`found` with the first threshold at OPERATION_THRESHOLD; None when it is there already,
    or 0 (the collector is off)."""
    first, second, third = found
    if first == 0 or first >= OPERATION_THRESHOLD:
        return None
    return (OPERATION_THRESHOLD, second, third)


def _enter() -> None:
    global _running, _saved, _raised
    with _lock:
        _running += 1
        if _running == 1:
            found = gc.get_threshold()
            _raised = _raised_from(found)
            _saved = None if _raised is None else found
            if _raised is not None:
                gc.set_threshold(*_raised)


def _exit() -> None:
    global _running, _saved, _raised
    with _lock:
        _running -= 1
        if _running == 0:
            if _saved is not None and gc.get_threshold() == _raised:
                gc.set_threshold(*_saved)
            _saved = _raised = None


def serve_thresholds() -> None:
    """A served process's setting, for its lifetime: the same first threshold."""
    raised = _raised_from(gc.get_threshold())
    if raised is not None:
        gc.set_threshold(*raised)
