"""Audience intelligence: RFM segments, clusters, churn risk, lifetime value and next purchase dates."""
