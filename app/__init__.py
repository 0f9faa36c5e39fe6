"""ledgerql: a double-entry accounting ledger served as a GraphQL API."""
