"""Subscriptions to index updates and signals: the broker that fans events out of the event
log, and the SSE and WebSocket transports (see docs/api.md, "Subscriptions")."""
