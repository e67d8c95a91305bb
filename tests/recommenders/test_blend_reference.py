"""The blend's fit on 150 real customers gives, to the bit, what it gave before its lines were integer-coded.

`blend_reference.json` holds the learned weights (as exact hexadecimal floats) and SHA-256 digests of the score
matrix and of every customer's top-20 list, as the fit on string ids computed them. EASE's inversion and LightGBM may
round otherwise on another processor or library version, so the reference names the platform it was computed on and
is compared only there; ``python -m tests.recommenders.test_blend_reference`` writes it again for this one.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

REFERENCE = Path(__file__).with_name("blend_reference.json")
CUSTOMERS = 150


def fingerprint() -> dict:
    """What the fit's rounding depends on besides the code: the processor and the numerical libraries, read after a
    fit (the BLAS libraries loaded depend on what was imported: scipy's own comes with scipy.linalg)."""
    from threadpoolctl import threadpool_info

    blas = sorted(
        {f"{pool['internal_api']} {pool['version']} {pool.get('architecture')}" for pool in threadpool_info()
         if pool["user_api"] == "blas"}
    )  # fmt: skip
    packages = {name: metadata.version(name) for name in ("numpy", "scipy", "scikit-learn", "lightgbm", "pandas")}
    return {"machine": platform.machine(), "processor": _cpu_model(), "blas": blas, "packages": packages}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            return next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        return platform.processor()


def digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()


def blend_results() -> dict:
    """The default blend fitted on `CUSTOMERS` Online Retail 2010–11 customers: its weights, scores and top-20s."""
    from evals.scale.recommender_fit import sample
    from recommenders.blend import BlendRecommender

    model = BlendRecommender().fit(*sample(CUSTOMERS))
    customers = list(model.vocabulary.customers)
    top = model.recommend(customers, k=20)
    return {
        "weights": {kind: [float(w).hex() for w in weights] for kind, weights in model.weights.items()},
        "learned": bool(model.learned),
        "scores": digest(model._score(np.arange(len(customers)))),
        "top_20": digest(top["product_id"].to_numpy(dtype=str)) + " " + digest(top["score"].to_numpy(dtype=float)),
        "top_20_rows": len(top),
        "first_list": top[top["customer_id"] == customers[0]]["product_id"].tolist(),
    }


@pytest.mark.slow
def test_the_blend_fits_to_the_bit_what_it_fitted_on_string_ids():
    from evals.datasets import DatasetMissing

    reference = json.loads(REFERENCE.read_text())
    # A platform the reference was not computed on is told before the fit (5 CPU-s), where it can be: the processor
    # and packages do not change with it, and a BLAS library loaded now stays loaded through it
    unlike = _unlike_before_the_fit(reference["platform"], fingerprint())
    if unlike:
        pytest.skip(f"the reference was computed on another platform ({unlike}): {reference['platform']}")
    try:
        results = blend_results()
    except DatasetMissing as missing:
        pytest.skip(str(missing))
    if reference["platform"] != fingerprint():
        pytest.skip(f"the reference was computed on another platform: {reference['platform']}")
    assert results["learned"] and len(results["weights"]["seen"]) > 20
    assert results == reference["results"]


def test_a_platform_told_before_the_fit_is_unlike_only_where_the_fit_could_not_make_it_alike():
    """The early skip: BLAS libraries loaded before the fit are fewer than after it, never others."""
    reference = json.loads(REFERENCE.read_text())["platform"]
    assert _unlike_before_the_fit(reference, reference) == ""
    assert _unlike_before_the_fit(reference, {**reference, "blas": reference["blas"][-1:]}) == ""
    assert _unlike_before_the_fit(reference, {**reference, "blas": ["openblas 0.3.30 Haswell"]}) == (
        "blas openblas 0.3.30 Haswell"
    )
    other = {**reference, "processor": "another", "packages": {**reference["packages"], "numpy": "0"}}
    assert _unlike_before_the_fit(reference, other) == "processor, packages"


def _unlike_before_the_fit(reference: dict, now: dict) -> str:
    """What of ``now``, read before the fit, already differs from the reference platform's fingerprint read after
    one ("" where nothing does yet): its machine, processor or packages, or a BLAS library the reference's lacks."""
    unlike = [name for name in ("machine", "processor", "packages") if now[name] != reference[name]]
    unlike += [f"blas {library}" for library in now["blas"] if library not in reference["blas"]]
    return ", ".join(unlike)


if __name__ == "__main__":
    computed = blend_results()
    REFERENCE.write_text(json.dumps({"platform": fingerprint(), "results": computed}, indent=1) + "\n")
