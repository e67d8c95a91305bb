"""Offline evaluation of Tailor's recommenders on real data: protocols, metrics, tuning, benchmarks."""
