"""Predictive performance models: P(open), P(click), P(conversion) for drafts and their variants."""
