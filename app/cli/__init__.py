"""The ledgerql command line (click): app.cli.main is the entry point; one module per
command group beside it."""
