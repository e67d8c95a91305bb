"""`make test` runs the tests marked llm alone, from the files its grep finds: one marked otherwise is refused.

This file spells the mark in two pieces, so that the grep does not find it.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.conftest import pytest_collection_modifyitems

MARK = "pytest.mark" + ".llm"


def _item(path, marked: bool):
    return SimpleNamespace(
        path=path, nodeid=f"{path.name}::test_one", get_closest_marker=lambda name: object() if marked else None
    )


def test_a_test_marked_llm_in_a_file_that_does_not_say_mark_llm_is_refused(tmp_path):
    aliased = tmp_path / "test_aliased.py"
    aliased.write_text('import pytest\n\nslow = getattr(pytest.mark, "llm")\n', encoding="utf-8")
    written = tmp_path / "test_written.py"
    written.write_text(f"import pytest\n\npytestmark = {MARK}\n", encoding="utf-8")
    pytest_collection_modifyitems(None, [_item(written, True), _item(aliased, False)])  # nothing to refuse
    with pytest.raises(pytest.UsageError, match="test_aliased.py::test_one is marked llm, but its file does not say"):
        pytest_collection_modifyitems(None, [_item(written, True), _item(aliased, True)])


def test_the_makefile_looks_for_the_llm_tests_as_the_check_does():
    """The Makefile's grep pattern is the one the check holds the files to, and finds today's LLM test files."""
    import re
    import subprocess

    from tests.conftest import _LLM_MARK_WRITTEN, PROJECT_ROOT

    (pattern,) = re.findall(r"grep -rlE '([^']+)' tests", (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8"))
    assert pattern == _LLM_MARK_WRITTEN.pattern
    found = subprocess.run(
        ["grep", "-rlE", pattern, "tests", "--include=test_*.py"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert {"tests/generation/test_eval.py", "tests/service/test_end_to_end.py"} <= set(found), found
