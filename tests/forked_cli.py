"""`tailor` commands run as processes of their own, forked from one that has imported the command line already.

Started as a new interpreter, each command spent 1-4 s importing pandas, SQLAlchemy, Alembic, FastAPI and litellm
before doing anything: about 250 such runs took a third of the suite's time. Here one process per test worker
imports them once (the "zygote"), and each command is a child forked from it: a process of its own, with the
environment, working folder, argument list and standard streams it was given, that runs the console script's
``sys.exit(main())`` and exits as that script does (exit code, atexit handlers, threads joined). Nothing has run in
the zygote but imports: no setting was read, no cache filled, no engine made.

What a forked child does not share with a started one: modules are imported before the environment is set (Tailor
reads its settings when a command runs, never at import) and numpy's global random state is the zygote's (reseeded
here; Python's `random` reseeds itself after a fork). Tests of start-up itself (which modules `--help` imports, a
terminal's bar) start the interpreter as before.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

TAILOR_SCRIPT = Path(sys.executable).with_name("tailor")
PRELOAD = (
    "service.cli", "service.app", "service.state", "service.pipeline.training", "service.pipeline.generate",
    "service.pipeline.sending", "service.importing", "alembic.command", "litellm",
    # imported by commands when they run: each child imported them again (about 30 CPU-s a suite, 2026-12-06)
    "typer.rich_utils", "generation.copywriter", "generation.pipeline", "audience.profiles", "audience.batch",
    "scoring.engagement", "scoring.copy_model", "recommenders.blend", "psycopg",
    "litellm.litellm_core_utils.prompt_templates.common_utils", "litellm.litellm_core_utils.default_encoding",
)  # fmt: skip


def _serve() -> None:
    """The zygote: import, then fork a child for each request read from standard input (a JSON line); answer each
    with the child's pid, then its exit status. Returns only in a child, ready to run its command."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    sys.stdout.flush()
    for line in sys.stdin:
        asked = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _become(asked)
            return
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)
    os._exit(0)  # its test process ended: tearing the imports down would hold that process's exit 3-5 s


def _become(asked: dict) -> None:
    """Turn this forked child into the command's process: streams, folder, environment and arguments."""
    import time

    for fd, (path, flags) in enumerate(
        [(os.devnull, os.O_RDONLY), (asked["stdout"], os.O_WRONLY), (asked["stderr"], os.O_WRONLY)]
    ):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (the process's own, as a started one has it)
    os.chdir(asked["cwd"])
    os.environ.clear()
    os.environ.update(asked["env"])
    time.tzset()
    sys.argv = [str(TAILOR_SCRIPT), *asked["args"]]
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


class _Zygote:
    def __init__(self) -> None:
        code = (
            f"import runpy, sys; sys.path[0] = {str(TAILOR_SCRIPT.parent)!r}; "
            f"runpy.run_path({__file__!r}, run_name='tailor_zygote')"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        )  # fmt: skip
        self.lock = threading.Lock()

    def run(self, args: list[str], env: dict[str, str], cwd: str, timeout: float) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory(prefix="tailor-run-") as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            out.touch()
            err.touch()
            asked = {"args": args, "env": env, "cwd": cwd, "stdout": str(out), "stderr": str(err)}
            self.process.stdin.write(json.dumps(asked) + "\n")
            self.process.stdin.flush()
            pid = self._answer()["pid"]
            answer: list[dict] = []
            reader = threading.Thread(target=lambda: answer.append(self._answer()))
            reader.start()
            reader.join(timeout)
            if reader.is_alive():
                with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                    os.kill(pid, signal.SIGKILL)
                reader.join()
                raise subprocess.TimeoutExpired([str(TAILOR_SCRIPT), *args], timeout, out.read_text(), err.read_text())
            if not answer:
                raise RuntimeError(f"the process forking the tailor commands ended while `tailor {' '.join(args)}` ran")
            read = {"encoding": "utf-8", "errors": "replace"}
            return subprocess.CompletedProcess(
                [str(TAILOR_SCRIPT), *args], answer[0]["returncode"], out.read_text(**read), err.read_text(**read)
            )

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:  # it could not import the command line, say: its traceback is on this process's stderr
            raise RuntimeError(f"the process forking the tailor commands ended (exit status {self.process.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


_zygote: _Zygote | None = None
_starting = threading.Lock()


def run_tailor(
    args: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``subprocess.run(["tailor", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)``,
    forked from the zygote; started as a new interpreter when another thread's command holds the zygote."""
    global _zygote
    env = dict(os.environ if env is None else env)
    cwd = str(cwd or os.getcwd())
    with _starting:
        if _zygote is None or _zygote.process.poll() is not None:
            _zygote = _Zygote()
            atexit.register(_zygote.close)
    zygote = _zygote
    if not zygote.lock.acquire(blocking=False):
        command = [str(TAILOR_SCRIPT), *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    try:
        return zygote.run(args, env, cwd, timeout)
    finally:
        zygote.lock.release()


def _exit_as_the_script_does() -> None:
    """Run the console script's ``sys.exit(main())``, then end the process as the interpreter ends it (threads
    joined, atexit handlers run, streams flushed) but for tearing down every module one by one: with the zygote's
    thousands imported, that alone took 3-5 s a command."""
    import atexit
    import threading
    import traceback

    from service.cli import main

    try:
        code = main()
    except SystemExit as stopped:
        code = stopped.code
    except BaseException:  # noqa: BLE001 (the interpreter's own: a traceback, exit status 1)
        traceback.print_exc()
        code = 1
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    threading._shutdown()  # what the interpreter does first at exit: wait for the threads not daemonic
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code or 0)


if __name__ == "tailor_zygote":
    _serve()
    _exit_as_the_script_does()
