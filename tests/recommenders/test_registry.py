"""The registry names every model without importing any: a command's --help lists them at once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from recommenders.errors import UnknownModel
from recommenders.registry import model_class, names


def test_each_name_is_the_name_its_model_gives_itself():
    assert names() == sorted(names()) and len(names()) >= 12
    for name in names():
        assert model_class(name).name == name


def test_an_unknown_name_is_refused_with_the_known_ones():
    with pytest.raises(UnknownModel) as refused:
        model_class("alss")
    assert "als" in str(refused.value)


def test_listing_the_names_imports_no_model_library():
    listed = subprocess.run(
        [sys.executable, "-c", "import sys, recommenders.registry as r; r.names(); "
         "print(sorted(m for m in ('implicit', 'sklearn', 'lightgbm', 'pandas', 'scipy') if m in sys.modules))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert listed.stdout.strip() == "[]", listed.stdout


def test_an_unknown_model_error_crosses_a_process_boundary_whole():
    """Raised in a process pool's worker (`python -m evals.scale.recommender_fit --model foo`), it could not be
    unpickled (its __init__ takes two arguments, its args held one): the caller saw BrokenProcessPool instead."""
    import pickle

    from recommenders.errors import UnknownModel

    error = pickle.loads(pickle.dumps(UnknownModel("foo", ["blend", "ease"])))
    assert isinstance(error, UnknownModel) and error.name == "foo"
    assert str(error) == "No recommender called 'foo'. Choose one of: blend, ease."
