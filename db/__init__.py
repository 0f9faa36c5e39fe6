"""Storage: SQLModel tables, async engines and sessions, Alembic migrations."""
