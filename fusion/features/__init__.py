"""Features from price, on-chain and sentiment data, built by one function (builder.py)."""

from fusion.features.base import GROUPS, CustomFeature, FeatureSpec, Group
from fusion.features.builder import FeatureFrame, FeatureRow, build_features, feature_row

__all__ = [
    "GROUPS",
    "CustomFeature",
    "FeatureFrame",
    "FeatureRow",
    "FeatureSpec",
    "Group",
    "build_features",
    "feature_row",
]
