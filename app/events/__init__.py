"""Live events: announcing new outbox rows and delivering them to subscribers."""
