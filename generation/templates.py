"""Loading and rendering the jinja2 files in prompts/: prompt messages, template fallback copy, email strings.

Everything renders in a sandboxed environment with StrictUndefined: templates are user-editable data, so they
must not reach Python internals, and a missing variable fails loudly instead of leaving a hole in an email.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from generation.brands import PROMPTS_DIR
from generation.errors import UnknownCampaignType, UnsupportedLocale
from generation.schemas import CAMPAIGN_TYPES, LOCALES

LANGUAGE_NAMES = {
    "en": "English", "de": "German", "pl": "Polish", "ru": "Russian", "bg": "Bulgarian",
    "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch",
}  # fmt: skip


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """Autoescaping for .html templates, plain text for the rest."""
    return SandboxedEnvironment(
        loader=FileSystemLoader(PROMPTS_DIR),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_file(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def render_string(source: str, **context: Any) -> str:
    return _compiled(source).render(**context)


@lru_cache(maxsize=256)
def _compiled(source: str):
    """A string template compiled once: the sources are the few fixed sentences of strings.yaml, rendered for
    every customer, and compiling each time was about 40 % of personalizing a campaign's drafts."""
    return environment().from_string(source)


def check_locale(locale: str) -> None:
    if locale not in LOCALES:
        raise UnsupportedLocale(locale, list(LOCALES))


@lru_cache(maxsize=16)
def campaign(campaign_type: str) -> dict[str, Any]:
    """A campaign type's goal (told to the model) and its fallback copy per locale."""
    if campaign_type not in CAMPAIGN_TYPES:
        raise UnknownCampaignType(campaign_type, list(CAMPAIGN_TYPES))
    path = PROMPTS_DIR / "campaigns" / f"{campaign_type}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def goal_words(campaign_type: str, locale: str) -> list[str]:
    """The words of which a campaign type's copy must hold one for the locale (the campaign_goal check); []
    where its file names none."""
    return list(campaign(campaign_type).get("goal_words", {}).get(locale, []))


def fallback_copies(campaign_type: str, locale: str) -> list[dict[str, str]]:
    """The template's own copy for a locale: subject, preheader and intro, one dict per variant."""
    check_locale(locale)
    return [dict(copy) for copy in campaign(campaign_type)["fallback"][locale]]  # callers must not edit the cache


@lru_cache(maxsize=1)
def _strings() -> dict[str, Any]:
    return yaml.safe_load((PROMPTS_DIR / "email" / "strings.yaml").read_text(encoding="utf-8"))


def strings(locale: str) -> dict[str, Any]:
    """Fixed wording of the email frame (greeting, offer sentence, link label) for a locale."""
    check_locale(locale)
    return _strings()[locale]
