"""Tailor's service: persistence, import, jobs, REST API, review page, CLI and the demo store."""
