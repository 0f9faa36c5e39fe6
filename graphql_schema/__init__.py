"""The Strawberry GraphQL schema of ledgerql: the one public contract."""
