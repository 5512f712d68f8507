"""Webhooks: conditions on published events, Standard Webhooks signing, and the dispatcher
that delivers with retries off the pipeline's path (see docs/api.md, "Webhooks")."""
