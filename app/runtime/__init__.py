"""What the running process holds, below the ledger core: its settings (from the
environment) and its Prometheus metrics."""
