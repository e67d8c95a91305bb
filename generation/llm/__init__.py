"""The LLM gateway (litellm only) and the registry of models it can reach."""

from generation.llm.gateway import Usage, complete_json
from generation.llm.registry import Endpoint, model_locales, names, register, resolve

__all__ = ["Endpoint", "Usage", "complete_json", "model_locales", "names", "register", "resolve"]
