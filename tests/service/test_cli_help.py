"""`tailor --help` and every command's help read as their docstrings are written: sentences are not cut where the
source's lines end, and markup (`code`) is shown as such, not as backticks."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from service.cli import app
from service.cli_eval import EVAL_AREAS

WIDE = {"COLUMNS": "200"}  # wider than any docstring's line, so that a line ending in the output is the source's


def _commands(group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """Every command and group under ``group``, with the words that run it."""
    found = []
    for name, command in group.commands.items():
        found.append(((*path, name), command))
        if hasattr(command, "commands"):  # a group
            found += _commands(command, (*path, name))
    return found


COMMANDS = _commands(get_command(app))


def _help(*words: str) -> str:
    result = CliRunner().invoke(app, [*words, "--help"], prog_name="tailor", env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def _joins(text: str) -> list[str]:
    """The words either side of each line break inside ``text``'s first paragraph ("and their"), as shown."""
    lines = inspect.cleandoc(text).split("\n\n")[0].replace("`", "").split("\n")
    return [f"{before.split()[-1]} {after.split()[0]}" for before, after in zip(lines, lines[1:], strict=False)]


GROUPS = [((), get_command(app))] + [(path, command) for path, command in COMMANDS if hasattr(command, "commands")]


@pytest.mark.parametrize("path, group", GROUPS, ids=[" ".join(path) or "tailor" for path, _group in GROUPS])
def test_a_list_of_commands_does_not_break_lines_where_the_docstrings_do(path, group):
    """The list in `tailor --help` kept each docstring's line breaks: "(the first 20 and" ended a line, and "their
    count on the screen" began the next, half a line further on."""
    shown = _help(*path).splitlines()
    for name, command in group.commands.items():
        for words in _joins(command.help or ""):
            assert any(words in line for line in shown), f"{name}'s '{words}' is cut in two"


@pytest.mark.parametrize("path", [path for path, _command in COMMANDS], ids=" ".join)
def test_every_command_s_help_shows_its_words_without_markup(path):
    shown = _help(*path)
    assert f"Usage: tailor {' '.join(path)}" in shown
    assert "`" not in shown, "a `code` span shown with its backticks"


@pytest.mark.parametrize("words", [["--help"], ["eval", "--help"], ["drafts", "suggest", "--help"]], ids=" ".join)
def test_help_imports_none_of_the_heavy_libraries(words):
    """Help shown as markdown must not cost `tailor --help` its speed: no model library is imported for it. `tailor
    eval --help` imported pandas (the evals' datasets) before it looked at its argument: 1.2 s, where 0.5 s."""
    heavy = ("litellm", "torch", "implicit", "pandas", "sqlalchemy")
    shown = subprocess.run(
        [sys.executable, "-c", f"{help_then_modules(words)}; print(*[m for m in {heavy!r} if m in sys.modules])"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[-1] == ""


def help_then_modules(words: list[str]) -> str:
    """Python that runs `tailor WORDS` in-process, leaving its imports in sys.modules."""
    return (
        f"import sys, contextlib; sys.argv = ['tailor', *{words!r}]; from service.cli import main; "
        "exec('with contextlib.suppress(SystemExit): main()')"
    )


@pytest.mark.parametrize(
    "path", [(), *[path for path, _command in COMMANDS]], ids=lambda path: " ".join(path) or "tailor"
)
def test_no_command_s_help_names_a_request_of_the_api(path):
    """`tailor --help` told a marketer that `tailor send` does "as POST /campaigns/{id}/send does", and `tailor jobs
    cancel --help` "as POST /jobs/{id}/cancel does": words about an API they never call, in place of what the
    command does."""
    shown = _help(*path)
    assert not re.search(r"\b(GET|POST|PUT|PATCH|DELETE) /", shown), shown


@pytest.mark.parametrize("area", EVAL_AREAS)
def test_every_option_of_an_eval_says_what_it_does(area):
    """`tailor eval recommenders --help` listed `--dataset {online_retail,...}` and `--protocol {last_basket,...}`
    with no word of what they choose or which is the default; `--seed` and `--variants` likewise."""
    shown = CliRunner().invoke(app, ["eval", area, "--help"], prog_name="tailor", env=WIDE)
    assert shown.exit_code == 0, shown.output
    options = shown.output.split("options:\n")[1].splitlines()
    for line, after in zip(options, [*options[1:], ""], strict=True):
        described = re.match(r"  -\S.*?\S {2,}\S", line) or re.match(r" {3,}\S", after)
        assert not line.startswith("  -") or described, f"{line.strip()} says nothing of what it does"


def test_listing_campaigns_imports_no_model_library(tmp_path):
    """`tailor campaigns list` took 4 s on a 2-core machine, 2.8 of them importing scikit-learn for the copy model,
    which the `scoring` package loaded whole for the experiments' statistics (and so did `tailor drafts`, `tailor
    export` and `tailor send`): a list of campaigns fits none."""
    listed = subprocess.run(
        [sys.executable, "-c", f"{help_then_modules(['campaigns', 'list'])}; "
         "print(*[m for m in ('sklearn', 'lightgbm', 'implicit', 'litellm') if m in sys.modules])"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TAILOR_HOME": str(tmp_path)},
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[-1] == ""
