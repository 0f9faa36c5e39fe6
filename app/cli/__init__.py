"""The ledgerql command line (click), one module per command group.

app.cli.main is the entry point: the root group, the commands on the whole server
(serve, migrate, post-due), and the line that names each group. A group lives in the
module of its name: ``ledgerql tenant`` in tenants.py, ``key`` in keys.py, ``period``
in periods.py, ``report`` in reports.py, ``rates`` in rates.py, ``webhook`` in
webhooks.py, ``demo`` in demo.py, ``import`` in import_export.py, ``export`` in export.py.
What they share (running against the database, ``--tenant SLUG``) is in common.py;
the groups import common, main names the groups (and imports the one that runs), never
the other way round. The work itself, queries included, is the ledger core's
(app.ledger): no SQL here.
"""
