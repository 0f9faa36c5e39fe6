"""``python -m app.cli``: the ``ledgerql`` command without its installed script."""

from app.cli.main import main

main(prog_name="ledgerql")
