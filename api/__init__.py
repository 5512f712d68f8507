"""HTTP API (FastAPI): sentiment series, documents, sources; later chat, subscriptions."""
