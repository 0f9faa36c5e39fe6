"""Webhooks: endpoints a tenant registers, signed deliveries of its events, retries."""
