"""Background work of the server: leases (one process at a time per job) and each job
(posting scheduled entries when due; webhook deliveries run from app/webhooks)."""
