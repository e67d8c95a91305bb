"""The model registry: a name maps to a factory that returns how litellm reaches that model.

Built-in models (`local`, `fake`, `replay`) register through `register`, the same hook a provider plugin would use;
a model string that names no registered entry is handed to litellm as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generation.settings import LLMSettings


@dataclass(frozen=True)
class Endpoint:
    """What litellm.completion needs to reach one model."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    mock: Callable[[list[dict], dict], str] | None = None  # answers without a server (unit tests)
    # A streamed call's mock answer comes in one piece (``generation.llm.gateway``); True: in litellm's own pieces of
    # 3 characters, each costing litellm's whole handling of a stream (for a test of many pieces)
    mock_in_small_pieces: bool = False


EndpointFactory = Callable[[str, LLMSettings], Endpoint]
_FACTORIES: dict[str, EndpointFactory] = {}
_LOCALES: dict[str, tuple[str, ...]] = {}


def register(name: str, locales: tuple[str, ...] | None = None) -> Callable[[EndpointFactory], EndpointFactory]:
    """Register a factory for model strings `name` or `name/<variant>`; `locales`, when given, are the only
    languages the model writes acceptably (customers in other locales get the template's copy, uncalled)."""

    def decorator(factory: EndpointFactory) -> EndpointFactory:
        _FACTORIES[name] = factory
        if locales is not None:
            _LOCALES[name] = tuple(locales)
        return factory

    return decorator


def model_locales(settings: LLMSettings) -> set[str] | None:
    """The locales the configured model is asked to write (None: all): `settings.locales` when set, else what
    the model was registered with. Starts no server."""
    if settings.locales:
        return {locale.strip() for locale in settings.locales.split(",") if locale.strip()}
    _load_builtins()
    registered = _LOCALES.get(settings.model.split("/", 1)[0])
    return set(registered) if registered is not None else None


def names() -> list[str]:
    _load_builtins()
    return sorted(_FACTORIES)


def resolve(settings: LLMSettings) -> Endpoint:
    """The endpoint for `settings.model`: a registered model, or any litellm model string."""
    _load_builtins()
    prefix = settings.model.split("/", 1)[0]
    if prefix in _FACTORIES:
        return _FACTORIES[prefix](settings.model, settings)
    return Endpoint(model=settings.model, api_base=settings.api_base, api_key=settings.api_key)


def _load_builtins() -> None:
    from generation.llm import fake, local, replay  # noqa: F401  (registration happens at import)
