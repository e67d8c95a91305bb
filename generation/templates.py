"""Loading and rendering the jinja2 files in prompts/: prompt messages, template fallback copy, email strings.

Everything renders in a sandboxed environment with StrictUndefined: templates are user-editable data, so they
must not reach Python internals, and a missing variable fails loudly instead of leaving a hole in an email.
"""

from __future__ import annotations

import traceback
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateSyntaxError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from generation.brands import PROMPTS_DIR
from generation.errors import PromptFileInvalid, UnknownCampaignType, UnsupportedLocale
from generation.schemas import CAMPAIGN_TYPES, LOCALES

LANGUAGE_NAMES = {
    "en": "English", "de": "German", "pl": "Polish", "ru": "Russian", "bg": "Bulgarian",
    "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch",
}  # fmt: skip


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """Autoescaping for .html templates, plain text for the rest."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(PROMPTS_DIR),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # `tojson` writes the prompt's example as its language does: "f\u00fcr Sie" was what the model read of German
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


def render_file(name: str, **context: Any) -> str:
    """A template of prompts/ rendered; one a shop edited into a mistake is refused naming its file and line (jinja2
    said "'nam' is undefined" and nothing of where)."""
    try:
        return environment().get_template(name).render(**context)
    except TemplateError as error:
        path = str(PROMPTS_DIR / name)
        line = _template_line(error, path)
        raise PromptFileInvalid(path, f"{f'line {line}: ' if line else ''}{error.message}") from error


def _template_line(error: TemplateError, path: str) -> int | None:
    """The line of the template at ``path`` that ``error`` is about: a syntax error's own, else the template's last
    frame in the traceback (jinja2 rewrites its frames to the template's file and line)."""
    if isinstance(error, TemplateSyntaxError):
        return error.lineno
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == path]
    return frames[-1].lineno if frames else None


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
    return _read_yaml(PROMPTS_DIR / "campaigns" / f"{campaign_type}.yaml")


def _read_yaml(path: Path) -> Any:
    """A YAML file of prompts/; one edited into a mistake is refused naming the file, where yaml named a
    "<unicode string>"."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        said = " ".join(str(error).replace('in "<unicode string>", ', "").split())
        raise PromptFileInvalid(str(path), said) from error


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
    return _read_yaml(PROMPTS_DIR / "email" / "strings.yaml")


def strings(locale: str) -> dict[str, Any]:
    """Fixed wording of the email frame (greeting, offer sentence, link label) for a locale."""
    check_locale(locale)
    return _strings()[locale]


def render_wording(locale: str, *keys: str, **context: Any) -> str:
    """A sentence of the email frame's wording (``keys`` into the locale's strings, e.g. "offer", "percent_off")
    rendered; one edited into a mistake is refused naming the file and the sentence's keys."""
    source = strings(locale)
    for key in keys:
        source = source[key]
    try:
        return render_string(source, **context)
    except TemplateError as error:
        raise PromptFileInvalid(
            str(PROMPTS_DIR / "email" / "strings.yaml"), f"{'.'.join((locale, *keys))}: {error.message}"
        ) from error
