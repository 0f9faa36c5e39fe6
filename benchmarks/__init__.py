"""Benchmarks of ledgerql; see docs/benchmarks.md."""
