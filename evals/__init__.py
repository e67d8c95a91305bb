"""Eval scripts that measure every part of Tailor on real public data and write JSON reports."""
