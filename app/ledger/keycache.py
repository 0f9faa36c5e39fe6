"""A bounded, expiring in-process cache of verified API keys.

Only successful verifications are stored, so unknown or wrong keys can neither
hit nor evict good entries. An entry is served for at most ``ttl`` seconds after
the moment its verification query started; after that it is verified again.
The bounded, expiring map is cachetools' TLRUCache (its per-entry expiry is what
"from the start of the verification" needs); this module adds the tickets that
keep a verification racing an invalidation from being stored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cachetools import TLRUCache

V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Ticket:
    """Taken before a verification query: when it started, and the cache's generation then."""

    generation: int
    started_at: float


class KeyCache(Generic[V]):
    """An LRU of at most ``max_entries`` values, each valid ``ttl`` seconds (0 disables it)."""

    def __init__(
        self,
        ttl: float,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not math.isfinite(ttl) or ttl < 0:
            raise ValueError(f"the cache lifetime must be a finite number >= 0, not {ttl!r}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries!r}")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        # key -> (expires_at, value): each entry expires when its own ticket says.
        self._entries: TLRUCache[Hashable, tuple[float, V]] = TLRUCache(
            max_entries, ttu=_expires_at, timer=clock
        )
        # Bumped by every invalidation: a verification that started before one may
        # have read what was just revoked, so its result is not stored.
        self._generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        """The value stored under ``key`` if it has not expired."""
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def ticket(self) -> Ticket:
        """To take before the query whose result will be ``put``."""
        return Ticket(self._generation, self._clock())

    def put(self, key: Hashable, value: V, ticket: Ticket) -> None:
        """Stores ``value`` unless the cache was invalidated since ``ticket`` was taken."""
        if self.ttl == 0 or ticket.generation != self._generation:
            return
        self._entries[key] = (ticket.started_at + self.ttl, value)

    def drop(self, predicate: Callable[[V], bool]) -> int:
        """Removes the values matching ``predicate`` (and voids verifications in flight)."""
        self._generation += 1
        doomed = []
        for key in list(self._entries):  # a snapshot: an entry may expire meanwhile
            entry = self._entries.get(key)
            if entry is not None and predicate(entry[1]):
                doomed.append(key)
        for key in doomed:
            self._entries.pop(key, None)
        return len(doomed)


def _expires_at(_key: Hashable, entry: tuple[float, object], _now: float) -> float:
    return entry[0]
