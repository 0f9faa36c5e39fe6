"""Pennylane external API v2 (seed 003): ledger entries, journals, ledger accounts, attachments."""
