"""The forked `tailor` runner the command-line tests use (tests/forked_cli.py) gives each command what a started
process has: its own environment, folder and streams, the exit code, and a timeout that ends it."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.conftest import free_port
from tests.forked_cli import run_tailor


def test_each_command_gets_its_own_environment_folder_and_exit_code(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    made = run_tailor(["keys", "create", "ci"], env={**os.environ, "TAILOR_HOME": str(first)})
    assert made.returncode == 0 and (first / "tailor.db").exists(), made.stderr
    listed = run_tailor(["keys", "list"], env={**os.environ, "TAILOR_HOME": str(second)})
    assert listed.returncode == 0 and "ci" not in listed.stdout and (second / "tailor.db").exists()
    relative = run_tailor(["keys", "list"], env={**os.environ, "TAILOR_HOME": "var"}, cwd=tmp_path)
    assert relative.returncode == 0 and (tmp_path / "var" / "tailor.db").exists()  # the folder it was given
    wrong = run_tailor(["keys", "nope"])
    assert wrong.returncode == 2 and "No such command 'nope'" in wrong.stderr and wrong.stdout == ""


def test_a_command_past_its_timeout_is_ended(tmp_path):
    env = {**os.environ, "TAILOR_HOME": str(tmp_path), "TAILOR_API_PORT": str(free_port())}
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_tailor(["serve"], env=env, timeout=3)
    assert time.monotonic() - started < 30
    after = run_tailor(["keys", "list"], env=env)  # the runner goes on
    assert after.returncode == 0, after.stderr
