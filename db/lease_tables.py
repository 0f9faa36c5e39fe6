"""The table of leases: which process runs a background job.

(app/jobs/leases.py, app/jobs/scheduler.py)

One row per job name. A process holds the job while ``expires_at`` is in the future
and ``holder`` is its id; it renews the row well before then. A process that dies
stops renewing, and another takes the row over once it has expired.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from db.tables import utcnow


class Lease(SQLModel, table=True):
    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=100)
    # hostname:pid:random of the process that holds (or last held) the lease.
    holder: str = Field(max_length=200)
    # When the current holder took it (kept across renewals): how long it has run the job.
    acquired_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
