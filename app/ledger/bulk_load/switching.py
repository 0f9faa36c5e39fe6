"""Python's thread switch interval, shortened while a file is imported.

An import runs two threads: the event loop's, which parses and plans chunks, and the
writer's, which runs each chunk's statements. SQLite runs a statement without the
GIL, and every time it returns (each statement, each row read) the writer asks for
the GIL back; while the other thread is busy in Python it gets it only after the
interpreter's switch interval, 5 ms by default. Over an import that wait kept the two
threads from overlapping: 50,000 entries took 6.6 s with 6.7 s of CPU (one thread
idle whenever the other ran), and 5.5 s with a 0.5 ms interval.

Process-wide, like the paused collector (batch.collector_paused): a counter keeps it
short while imports overlap and puts it back as it was when the last one ends.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

QUICK_SWITCH_S = 0.0005

_lock = threading.Lock()
_users = 0
_previous = 0.0


@contextmanager
def quick_switches() -> Iterator[None]:
    """The switch interval at QUICK_SWITCH_S (if it was longer) inside the block."""
    global _users, _previous
    with _lock:
        if _users == 0:
            _previous = sys.getswitchinterval()
            sys.setswitchinterval(min(_previous, QUICK_SWITCH_S))
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                sys.setswitchinterval(_previous)
