"""REST shims: one module per vendor dialect.

Each validates the vendor's JSON, executes the matching GraphQL mutation in-process
against the same schema, and renders the vendor's response. None touches the database.
"""
