"""Every `tailor` command README.md shows in its shell blocks exists, with every option it gives: a command or
flag renamed in the code and not in the README fails here rather than on a reader's machine."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from service.cli import app
from service.cli_eval import EVAL_AREAS

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def _shown_commands() -> list[str]:
    """Each `tailor ...` command of README's bash blocks, without its comment; `a; b` is two."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL):
        for line in block.splitlines():
            code = line.split("#", 1)[0]
            commands += [part.strip() for part in code.split(";") if part.strip().startswith("tailor ")]
    return commands


def _problems(shown: str) -> list[str]:
    """What of ``shown`` the command line does not have: a command, or an option of the command it reaches."""
    words = shown.split()[1:]
    command = get_command(app)
    while words and hasattr(command, "commands") and words[0] in command.commands:  # a group
        command = command.commands[words.pop(0)]
    if hasattr(command, "commands") and command.name != "audience":  # `tailor audience --orders ...` is its own
        return [f"{shown}: no command {words[0] if words else '(none)'} under {f'tailor {command.name}'.strip()}"]
    if command.name == "eval":
        return [f"{shown}: no eval area {area}" for area in words[0].split("|") if area not in EVAL_AREAS]
    options = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
    given = {re.sub(r"[\[\]]|=.*", "", word) for word in words if word.lstrip("[").startswith("--")}
    return [f"{shown}: {option} is no option of it" for option in sorted(given - options)]


def test_the_readme_shows_its_commands():
    shown = _shown_commands()
    assert len(shown) >= 25  # the blocks are read (Your own data, The command line, rolling back)
    assert {words.split()[1] for words in shown} >= {"import", "train", "generate", "export", "db", "serve", "eval"}


def test_every_command_the_readme_shows_exists_with_the_options_it_gives():
    assert [problem for shown in _shown_commands() for problem in _problems(shown)] == []


def test_every_file_readme_and_architecture_name_exists():
    """README and ARCHITECTURE point readers at some seventy files and folders (`audience/win_back_ladder.yaml`,
    `service/pipeline/model_store.py`); one moved or renamed leaves the reader nowhere."""
    root = Path(__file__).parents[2]
    where = README.split("\n## What is where\n", 1)[1].split("\n## ", 1)[0]
    folders = "|".join(re.findall(r"^\| `(\w+)/` \|", where, flags=re.MULTILINE))  # the table's: service, ...
    named = {
        path
        for document in ("README.md", "ARCHITECTURE.md")
        for path in re.findall(rf"`((?:{folders})/[\w./-]*)`", (root / document).read_text(encoding="utf-8"))
    }
    assert len(named) >= 50

    def exists(path: str) -> bool:  # `service/pipeline/draft_requests.DraftRequests`: a module's class
        return (root / path).exists() or (root / re.sub(r"\.[A-Z]\w*$", ".py", path)).is_file()

    assert sorted(path for path in named if not exists(path)) == []
