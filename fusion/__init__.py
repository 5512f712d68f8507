"""Fusion: sentiment indices + price + on-chain features -> signals (walk-forward, as-of)."""
