"""Collectors: pull news, Reddit, RSS, prices and on-chain metrics into typed records.

Every source implements :class:`collectors.base.Collector`; :mod:`collectors.runner` polls
them with retries, a per-source circuit breaker and crash-safe cursors.
"""
