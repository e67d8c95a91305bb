"""Audience evals: BG/NBD and Gamma-Gamma against published CDNOW results, churn risk on Online Retail."""
