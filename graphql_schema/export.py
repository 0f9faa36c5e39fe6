"""The committed GraphQL contract: graphql_schema/schema.graphql, the SDL of the code.

    python -m graphql_schema.export           writes the file (``make schema``)
    python -m graphql_schema.export --check   exit 1 when the file is not the code's SDL

The SDL is that of the default schema: the benchmark-only mutations
(LEDGERQL_BENCHMARK_MUTATIONS=1) are never part of the contract, whatever the
environment of the process that writes or checks it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from strawberry.printer import print_schema

from graphql_schema.benchmark import ENV_VAR as BENCHMARK_ENV_VAR

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.graphql"
REGENERATE = "run `make schema` (python -m graphql_schema.export) and commit the result"


@contextmanager
def _without_benchmark_mutations() -> Iterator[None]:
    saved = os.environ.pop(BENCHMARK_ENV_VAR, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[BENCHMARK_ENV_VAR] = saved


def sdl() -> str:
    """The SDL of the default schema, built afresh (not the module's, which the
    environment of the importing process may have given benchmark mutations)."""
    from graphql_schema.schema import build_schema  # imported here: heavy, and env-read

    with _without_benchmark_mutations():
        return print_schema(build_schema()).rstrip("\n") + "\n"


def stale(path: Path = SCHEMA_FILE) -> bool:
    """Whether ``path`` differs from the code's SDL (a missing file is stale)."""
    return not path.exists() or path.read_text(encoding="utf-8") != sdl()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graphql_schema.export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when stale")
    args = parser.parse_args(argv)
    if args.check:
        if stale():
            print(f"{SCHEMA_FILE} is not the schema of the code: {REGENERATE}", file=sys.stderr)
            return 1
        print(f"{SCHEMA_FILE} is up to date")
        return 0
    SCHEMA_FILE.write_text(sdl(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
