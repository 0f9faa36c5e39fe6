"""What ``ledgerql verify`` finds, shared by its passes (audit_links, audit_books,
audit_balances): each problem named, a bounded list of them, and the progress hook.

A module of its own so that the passes and audit_verify.py, which runs them, import it
rather than each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

MAX_PROBLEMS = 20
"""After this many problems verify stops: one tamper often shows in many places, and the
first ones are what an auditor reads."""


@dataclass(frozen=True)
class Problem:
    """One thing that does not match. ``check`` is the pass that found it ("chain",
    "books" or "balances"); ``link`` and ``entry_id`` name where, when known."""

    check: str
    message: str
    link: int | None = None
    entry_id: int | None = None

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass
class Findings:
    """The problems found so far, at most ``limit``; ``full`` tells the passes to stop."""

    limit: int = MAX_PROBLEMS
    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(problem)

    @property
    def full(self) -> bool:
        return len(self.problems) >= self.limit


@dataclass
class Counts:
    """What was checked: links of the chain, entries and lines of the books, balance
    rows (account_balances, balance_days, balance_months), and scheduled entries left
    out (they have no link until they post)."""

    links: int = 0
    entries: int = 0
    lines: int = 0
    balances: int = 0
    scheduled: int = 0


class Progress(Protocol):
    """Told how far a pass got (the CLI draws a progress bar from it)."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, done: int) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    """A Progress that shows nothing."""

    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def finish(self) -> None:
        pass
