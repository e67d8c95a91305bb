"""The forked `tailor` commands and `python -c` scripts the tests run (tests/forked_cli.py) have what a started
process has: their own environment, folder, arguments and streams, the exit code, signals and a timeout that end
them; several run at once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import free_port
from tests.forked_cli import popen, run, run_tailor


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


def test_commands_run_at_once_are_each_forked(tmp_path, monkeypatch):
    """Two commands at once: the second was started as a new interpreter (3-5 CPU-s of imports) while the first held
    the zygote; now each is a child of its own."""
    env = {**os.environ, "TAILOR_HOME": str(tmp_path)}
    assert run_tailor(["keys", "list"], env=env).returncode == 0  # the zygote, started

    def no_interpreter(*args, **kwargs):
        raise AssertionError(f"started as a new interpreter: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_interpreter)
    ended: list[BaseException] = []

    def serve() -> None:
        try:
            run_tailor(["serve", "--port", str(free_port())], env=env, timeout=8)
        except BaseException as stopped:  # noqa: BLE001 (asserted below)
            ended.append(stopped)

    servers = [threading.Thread(target=serve) for _ in range(2)]
    for server in servers:
        server.start()
    for server in servers:
        server.join(60)
    assert [type(stopped) for stopped in ended] == [subprocess.TimeoutExpired] * 2, ended


SIDE_BY_SIDE = """
import os, sys, time
from pathlib import Path
folder, me, other = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
(folder / me).touch()
deadline = time.monotonic() + 60
while not (folder / other).exists() and time.monotonic() < deadline:
    time.sleep(0.01)
print(os.getppid(), (folder / other).exists())
"""


def test_scripts_run_side_by_side_as_processes_of_their_own(tmp_path):
    """Two `python -c` scripts at once, each waiting for the other: both run, children of the one zygote."""
    both = [
        popen([sys.executable, "-c", SIDE_BY_SIDE, str(tmp_path), me, other], stdout=subprocess.PIPE, text=True)
        for me, other in (("first", "second"), ("second", "first"))
    ]
    outputs = [process.communicate(timeout=120)[0].split() for process in both]
    assert [process.returncode for process in both] == [0, 0]
    assert outputs[0] == outputs[1] and outputs[0][1] == "True" and int(outputs[0][0]) != os.getpid()


def test_a_forked_script_is_what_python_c_runs(tmp_path):
    """Its arguments, environment, folder and streams; its exit status for each way a script ends; its own
    module ``__main__`` and Tailor's modules not yet imported (a script replaces what they read before importing
    them: the clock, the host's name)."""
    shown = (
        "import os, sys; print(sys.argv, os.environ.get('ONLY'), len(os.environ), os.getcwd(), __name__, "
        "sys.modules['__main__'].__dict__ is globals(), [m for m in sys.modules if m.startswith('service')]); "
        "print(input().upper(), file=sys.stderr)"
    )
    done = run([sys.executable, "-c", shown, "a", "b c"], input="typed\n", capture_output=True, text=True,
               env={"ONLY": "this"}, cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stderr == "TYPED\n"
    assert done.stdout == f"['-c', 'a', 'b c'] this 1 {tmp_path} __main__ True []\n"
    ends = {
        "import sys; sys.exit(3)": (3, ""), "raise ValueError('no')": (1, "ValueError: no\n"),
        "import sys; sys.exit('said')": (1, "said\n"),
        "raise KeyboardInterrupt": (-signal.SIGINT, "KeyboardInterrupt\n"),
        "import atexit; atexit.register(print, 'at exit')": (0, ""),
    }  # fmt: skip
    for script, (code, said) in ends.items():
        ended = run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert (ended.returncode, ended.stderr[-len(said) :] if said else ended.stderr) == (code, said), script
    assert run([sys.executable, "-c", "import atexit; atexit.register(print, 'at exit')"], capture_output=True,
               timeout=120).stdout == b"at exit\n"  # fmt: skip


def test_a_script_forked_with_tailor_imported_is_what_python_c_runs_on_the_tailor_zygote_s_imports(tmp_path):
    """A script that replaces nothing before it imports Tailor's modules is forked from the tailor zygote, where
    they are imported already (about 1.2 CPU-s a script): its arguments, environment, folder, streams, the folder it
    imports from ('' as `python -c` has it) and ``__main__`` are still a script's, and its jobs name its own start."""
    from service.jobs.recovery import process_start
    from tests import forked_cli

    shown = (
        "import os, sys; from service.jobs.recovery import worker_name; "
        "print(sys.argv, os.environ.get('ONLY'), len(os.environ), os.getcwd(), __name__, repr(sys.path[0]), "
        "'service.pipeline.sending' in sys.modules, worker_name()); print(input().upper(), file=sys.stderr)"
    )
    done = run([sys.executable, "-c", shown, "a", "b c"], input="typed\n", capture_output=True, text=True,
               env={"ONLY": "this"}, cwd=tmp_path, timeout=120, tailor_imported=True)  # fmt: skip
    assert done.returncode == 0 and done.stderr == "TYPED\n", done.stderr
    *said, worker = done.stdout.split()
    assert " ".join(said) == f"['-c', 'a', 'b c'] this 1 {tmp_path} __main__ '' True"
    _host, pid, boot = worker.split(":")
    zygote = forked_cli._zygotes["tailor"].process.pid
    assert int(pid) not in (zygote, os.getpid()) and boot.startswith(process_start(zygote).split("_")[0] + "_")
    assert boot != process_start(zygote)
    ended = run([sys.executable, "-c", "import sys; sys.exit(3)"], capture_output=True, tailor_imported=True)
    assert ended.returncode == 3


def test_a_forked_script_is_signalled_killed_and_timed_out_as_a_process(tmp_path):
    waiting = "import sys, time; print('up', flush=True); time.sleep(300)"
    for stop, code in ((lambda p: p.terminate(), -signal.SIGTERM), (lambda p: p.kill(), -signal.SIGKILL)):
        process = popen([sys.executable, "-c", waiting], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline() == "up\n" and process.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(0.2)
        stop(process)
        assert process.wait(30) == code and process.poll() == code
        process.stdout.close()
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as late:
        run([sys.executable, "-c", waiting], capture_output=True, text=True, timeout=3)
    assert time.monotonic() - started < 60 and late.value.output == "up\n"


def test_a_forked_command_s_jobs_name_its_own_start_not_the_zygote_s(tmp_path):
    """The jobs' boot id (service.jobs.recovery.BOOT_ID: when the process started) is drawn at import: every forked
    command's jobs named the zygote's start, so that another process judged a live command's job orphaned (a live
    pid whose start is another)."""
    import sqlite3

    from service.jobs.recovery import process_start
    from tests import forked_cli

    trained = run_tailor(["train"], env={**os.environ, "TAILOR_HOME": str(tmp_path)})  # fails: no customers yet
    assert trained.returncode == 2, trained.stderr
    with contextlib.closing(sqlite3.connect(tmp_path / "tailor.db")) as database:
        [(worker,)] = database.execute("SELECT worker FROM jobs WHERE kind = 'train'").fetchall()
    _host, pid, boot = worker.split(":")
    zygote = forked_cli._zygotes["tailor"].process.pid
    assert int(pid) != zygote and boot.startswith(process_start(zygote).split("_")[0] + "_")
    assert boot != process_start(zygote)


def test_a_forked_script_s_collections_leave_the_zygote_s_imports_alone():
    """The zygote's imports (pandas, SQLAlchemy, FastAPI: hundreds of thousands of objects) were scanned by each
    child's full collections, which wrote to each object's header and so copied every page of them (0.5-3 CPU-s a
    command); they are frozen, as a started interpreter's modules are never freed, and the child still collects
    what it makes itself."""
    script = (
        "import gc; looped = []; looped.append(looped); del looped; "
        "print(gc.isenabled(), gc.get_freeze_count(), len(gc.get_objects()), gc.collect())"
    )
    done = run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    enabled, frozen, scanned, collected = done.stdout.split()
    assert enabled == "True" and int(frozen) > 100_000 and int(scanned) < int(frozen) // 10, done.stdout
    assert int(collected) >= 1  # the list that held itself


@pytest.mark.parametrize("args", [["--help"], ["drafts", "reject", "--help"], ["drafts", "reject", "1", "--revision"]])
def test_a_forked_command_s_help_and_usage_errors_are_those_of_the_commands_built_anew(tmp_path, args):
    """The tailor zygote builds the click group of the commands once for every child (typer built it again at each
    call): a child answers as the group this process builds from the commands' signatures now answers."""
    from typer.testing import CliRunner

    from service.cli import app

    env = {"TAILOR_HOME": str(tmp_path), "COLUMNS": "100", "NO_COLOR": "1"}
    forked = run_tailor(args, env={**os.environ, **env})
    anew = CliRunner().invoke(app, args, prog_name="tailor", env=env)

    assert (forked.returncode, forked.stdout + forked.stderr) == (anew.exit_code, anew.output)
    assert ("Usage: tailor" if "--help" in args else "Option '--revision' requires an argument") in anew.output
