"""The copywriters' review page (and the recipients' unsubscribe page): server-rendered jinja2 templates and
their stylesheet."""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
