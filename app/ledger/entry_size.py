"""How many lines an entry may have, in a module of its own so that the ledger files'
readers and writers read it without loading the tables (app.ledger.entries, which
re-exports it with the other limits, imports the database's tables)."""

from __future__ import annotations

MAX_LINES = 1000
