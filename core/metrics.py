"""The process's Prometheus metrics, defined once (``/metrics`` serves them).

The pipeline, the API, the stream broker and the webhook dispatcher each update their own;
figures that are a property of the stored data (index lag) are read at scrape time by
:class:`api.metrics.StoreCollector` instead.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "cryptosense_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "cryptosense_http_request_seconds",
    "time to answer an HTTP request (to the last byte of the head), by route template",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
ITEMS_INGESTED = Counter(
    "cryptosense_items_ingested",
    "items stored by the pipeline's collectors (new documents, candles, on-chain values)",
    ["source", "kind"],
)
SCORING_SECONDS = Histogram(
    "cryptosense_model_seconds",
    "sentiment model latency: seconds per scoring batch (documents scored and stored)",
    buckets=_LATENCY_BUCKETS,
)
DOCUMENTS_SCORED = Counter("cryptosense_documents_scored", "documents scored by the pipeline")
SUBSCRIBERS = Gauge("cryptosense_subscribers", "open stream subscriptions", ["topic", "transport"])
SUBSCRIBERS_DROPPED = Counter(
    "cryptosense_subscribers_dropped",
    "stream subscribers dropped because their queue was full (they fell behind)",
)
EVENTS_PUBLISHED = Counter(
    "cryptosense_events_published", "events written to the event log", ["topic"]
)
WEBHOOK_DELIVERIES = Counter(
    "cryptosense_webhook_deliveries",
    "webhook delivery attempts, by outcome (delivered, retry, failed)",
    ["outcome"],
)
