"""`tailor` commands and `python -c` scripts run as processes of their own, forked from one that has imported what
they import already.

Started as a new interpreter, each command spent 1-4 s importing pandas, SQLAlchemy, Alembic, FastAPI and litellm before
doing anything: about 250 such runs took a third of the suite's time. Here one process per test worker and kind (the
"zygote") imports them once, and each command is a child forked from it: a process of its own, with the environment,
working folder, argument list and standard streams it was given (the test's own pipes or files, handed over as file
descriptors), that runs the console script's ``sys.exit(main())`` or the ``-c`` script and exits as a started
interpreter does (exit code, atexit handlers, threads joined). Nothing has run in a zygote but imports and, in the
tailor one, the building of the commands' click group (from their signatures alone): no setting was read, no cache of
Tailor's filled, no engine made, no thread started; what they made is frozen (``gc.freeze``: never scanned by a
collection, as a started process's own modules are not freed either). A zygote forks any number of children at once and
reports each one's exit status by its pid, so that commands run side by side, and a child can be waited for, signalled
or killed as a started process is (``popen``: what subprocess.Popen gives).

The ``tailor`` zygote imports the command line and what its commands import; the ``python`` zygote imports none of
Tailor's modules (the ``tailor`` one is forked from it, to import them on top of its libraries), only the libraries
below them: a ``-c`` script imports the project's modules itself, in its own order, as a started interpreter does, so
that what it replaces before importing the modules that read it (the clock, the host's name, the heartbeat's period) is
what they read, and every module-level line (a process's boot id) runs in the child.

What a forked child does not share with a started one: the libraries are imported before the environment is set
(Tailor reads its settings when a command runs, never at import; sys.path and interpreter flags are the zygote's)
and numpy's global random state is the zygote's (reseeded here; Python's `random` reseeds itself after a fork; the
jobs' boot id is the child's own). Tests of start-up itself (which modules `--help` imports, signal handlers set at
start, ``-X`` flags, a new pid namespace) start the interpreter as before; a command on a terminal is forked with the
terminal as its stderr (its bar and its log lines' format are decided as it runs, never at import).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

TAILOR_SCRIPT = Path(sys.executable).with_name("tailor")
PRELOAD = {
    "tailor": (
        "service.cli", "service.app", "service.state", "service.pipeline.training", "service.pipeline.generate",
        "service.pipeline.sending", "service.importing", "alembic.command", "litellm",
        # imported by commands when they run: each child imported them again (about 30 CPU-s a suite, 2026-12-06)
        "typer.rich_utils", "generation.copywriter", "generation.pipeline", "audience.profiles", "audience.batch",
        "scoring.engagement", "scoring.copy_model", "recommenders.blend", "psycopg",
        "litellm.litellm_core_utils.prompt_templates.common_utils", "litellm.litellm_core_utils.default_encoding",
        # and these (a first completion, a zone's other names, rich's help, `serve`): 10 CPU-s a suite (2026-12-07)
        "litellm.proxy.openai_files_endpoints.common_utils", "litellm.llms.github_copilot.per_user_auth", "httpcore",
        "langchain_core.tracers.context", "babel.core", "rich._emoji_codes", "typer._adapters",
        "typer._click.decorators", "uvicorn", "uvicorn.protocols.http.auto", "uvicorn.protocols.websockets.auto",
        "pyarrow.vendored.version",
    ),
    # the libraries that Tailor's modules import (service.app, service.cli, the sending, the jobs, the migrations):
    # 3.7-4.7 CPU-s of a script's start; its own modules then take about 1.2 s (2026-12-07)
    "python": (
        "pandas", "scipy.stats", "sklearn.base", "sklearn.preprocessing", "sklearn.feature_extraction.text",
        "sqlalchemy.orm", "sqlalchemy.ext.hybrid", "sqlalchemy.dialects.postgresql.psycopg",
        "sqlalchemy.dialects.sqlite.pysqlite", "sqlalchemy.ext.asyncio", "psycopg", "sqlite3", "alembic.command",
        "alembic.config", "alembic.runtime.environment", "alembic.autogenerate", "fastapi", "fastapi.responses",
        "fastapi.security", "fastapi.staticfiles", "fastapi.templating", "starlette.middleware.base", "uvicorn",
        "uvicorn.main", "pydantic.v1", "pydantic_settings", "typer", "rich.progress", "jinja2.sandbox", "yaml",
        "dateutil.parser", "orjson", "pyarrow", "narwhals", "opentelemetry.trace", "python_multipart", "smtplib",
        "email.mime.multipart", "urllib.request", "dotenv", "idna",
        "pydantic.functional_serializers",
    ),
}  # fmt: skip


def _serve(kind: str, fd: int) -> dict:
    """The zygote: import, then fork a child for each request read from the socket ``fd`` (a JSON message with
    the child's standard streams as file descriptors); answer each with the child's pid, and report each child's
    exit status once it ended. Returns only in a child, ready to run its command: what it was asked."""
    import gc
    import importlib
    import select

    gc.disable()  # what is imported lives as long as the process: scanning it again and again as it grew was waste
    for name in PRELOAD[kind]:
        importlib.import_module(name)
    if kind == "tailor":
        _build_the_commands_once()
    if threading.active_count() != 1:  # a child would lack it, and its locks could be held for ever
        raise RuntimeError(f"importing started threads in the {kind} zygote: {threading.enumerate()}")
    # Kept out of every later collection, the children's too: a child's first full collection scanned the million
    # objects imported, writing to each one's header and so copying every page of them (0.5-3 CPU-s a command).
    gc.freeze()
    gc.enable()
    requests = socket.socket(fileno=fd)
    woken, wake = os.pipe()
    os.set_blocking(woken, False)
    os.set_blocking(wake, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a child ended: the wake-up fd says so to select
    signal.set_wakeup_fd(wake)
    while True:
        ready, _, _ = select.select([requests, woken], [], [])
        with contextlib.suppress(BlockingIOError):
            while os.read(woken, 4096):
                pass
        _report_ended(requests)
        if requests not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(requests, 1 << 20, 4)
        if not message:  # its test process ended: tearing the imports down would hold that process's exit 3-5 s
            os._exit(0)
        asked = json.loads(message)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for own in (woken, wake):
                os.close(own)
            requests.close()
            if "zygote" in asked:  # the tailor zygote, forked from the python one: its libraries imported already
                for fd, passed in enumerate(fds[:3]):
                    os.dup2(passed, fd)
                    os.close(passed)
                sys.path[0] = asked["path"]
                return _serve(asked["zygote"], fds[3])
            _become(asked, fds)
            return asked
        for passed in fds:
            os.close(passed)
        requests.send(json.dumps({"asked": asked["id"], "pid": pid}).encode())


def _build_the_commands_once() -> None:
    """Build the click group of ``tailor``'s commands here, once, for every child: typer built it again from the
    commands' signatures at each call (``Typer.__call__`` calls ``typer.main.get_command``), 0.06-0.12 CPU-s of
    every command. Nothing of the environment, the terminal or the arguments goes into it (completion is off), so
    a child is given the group a started process builds; what a child's call changes in it stays in that child."""
    import typer.main

    from service.cli import app

    built, build = typer.main.get_command(app), typer.main.get_command
    typer.main.get_command = lambda typer_instance: built if typer_instance is app else build(typer_instance)


def _report_ended(requests: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        requests.send(json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)}).encode())


def _become(asked: dict, fds: list[int]) -> None:
    """Turn this forked child into the command's process: streams, folder, environment and arguments."""
    import time

    for fd, passed in enumerate(fds):
        os.dup2(passed, fd)
    for passed in fds:
        os.close(passed)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (the process's own, as a started one has it)
    os.chdir(asked["cwd"])
    os.environ.clear()
    os.environ.update(asked["env"])
    time.tzset()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    if "service.jobs.recovery" in sys.modules:  # drawn at import: the zygote's start, not this process's
        recovery = sys.modules["service.jobs.recovery"]
        recovery.BOOT_ID = recovery.process_start(os.getpid()) or os.urandom(6).hex()
    if "script" in asked:
        sys.argv = ["-c", *asked["args"]]
        sys.path[0] = ""  # a `-c` script's, from either zygote (the tailor one has the console script's folder)
    else:
        sys.argv = [str(TAILOR_SCRIPT), *asked["args"]]


class _Zygote:
    def __init__(self, kind: str) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process: subprocess.Popen | ForkedProcess
        if kind == "tailor":  # forked from the python zygote: its libraries are most of what this one imports
            python = _zygote("python")
            first = str(TAILOR_SCRIPT.parent)  # sys.path[0], as the console script's
            with open(os.devnull, "rb") as nothing:
                pid = python.fork({"zygote": kind, "path": first}, [nothing.fileno(), 1, 2, theirs.fileno()])
            pipes: dict[str, io.IOBase | None] = {"stdin": None, "stdout": None, "stderr": None}
            self.process = ForkedProcess([f"{kind} zygote"], python, pid, pipes)
        else:
            code = f"import runpy, sys; sys.path[0] = ''; runpy.run_path({__file__!r}, run_name='tailor_zygote')"
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, kind, str(theirs.fileno())], stdin=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()], env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
            )  # fmt: skip
        theirs.close()
        self.kind, self.socket, self.sending = kind, ours, threading.Lock()
        self.changed = threading.Condition()
        self.asked = itertools.count()
        self.pids: dict[int, int] = {}  # request -> its child's pid
        self.ended: dict[int, int] = {}  # pid -> exit status, until its process's handle takes it
        self.gone = False
        threading.Thread(target=self._read, name=f"{kind} zygote answers", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                message = self.socket.recv(4096)
            except OSError:
                message = b""
            with self.changed:
                if not message:
                    self.gone = True
                    self.changed.notify_all()
                    return
                answer = json.loads(message)
                if "asked" in answer:
                    self.pids[answer["asked"]] = answer["pid"]
                else:
                    self.ended[answer["pid"]] = answer["returncode"]
                self.changed.notify_all()

    def fork(self, asked: dict, fds: list[int]) -> int:
        """Fork a child for ``asked`` with ``fds`` as its standard streams: its pid."""
        with self.changed:
            number = next(self.asked)
        with self.sending:
            socket.send_fds(self.socket, [json.dumps({**asked, "id": number}).encode()], fds)
        with self.changed:
            self.changed.wait_for(lambda: number in self.pids or self.gone)
            if number not in self.pids:  # it could not import, say: its traceback is on this process's stderr
                raise RuntimeError(f"the {self.kind} zygote ended (exit status {self.process.wait()})")
            return self.pids.pop(number)

    def wait(self, pid: int, timeout: float | None) -> int | None:
        """The exit status of the child ``pid`` once it ended, or None if it has not within ``timeout`` seconds."""
        with self.changed:
            self.changed.wait_for(lambda: pid in self.ended or self.gone, timeout)
            if pid in self.ended:
                return self.ended.pop(pid)
            if self.gone:
                raise RuntimeError(f"the {self.kind} zygote ended while its child {pid} ran")
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the end it reads (a close alone waits for this end's reader thread)
            self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
        self.process.wait(timeout=30)


_zygotes: dict[str, _Zygote] = {}
_starting = threading.RLock()  # the tailor zygote starts the python one


def _zygote(kind: str) -> _Zygote:
    with _starting:
        zygote = _zygotes.get(kind)
        if zygote is None or zygote.gone or zygote.process.poll() is not None:
            zygote = _zygotes[kind] = _Zygote(kind)
            atexit.register(zygote.close)
        return zygote


class ForkedProcess:
    """A forked child as subprocess.Popen gives a process: its pid, its pipes (``stdin``, ``stdout``, ``stderr``
    where PIPE was asked), ``returncode``, ``poll``, ``wait``, ``communicate``, ``send_signal``, ``terminate`` and
    ``kill``."""

    def __init__(self, args: list[str], zygote: _Zygote, pid: int, pipes: dict[str, io.IOBase | None]) -> None:
        self.args, self.pid, self.returncode, self._zygote = args, pid, None, zygote
        self.stdin, self.stdout, self.stderr = pipes["stdin"], pipes["stdout"], pipes["stderr"]
        self._waiting = threading.Lock()
        self._readers: dict[str, tuple[threading.Thread, list]] = {}

    def poll(self) -> int | None:
        with self._waiting:
            if self.returncode is None:
                self.returncode = self._zygote.wait(self.pid, 0)
            return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self._waiting:
            if self.returncode is None:
                self.returncode = self._zygote.wait(self.pid, timeout)
            if self.returncode is None:
                raise subprocess.TimeoutExpired(self.args, timeout)
            return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, input: str | bytes | None = None, timeout: float | None = None) -> tuple:  # noqa: A002
        """Write ``input`` to its stdin and close it, read its stdout and stderr to their ends, wait for it."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        if self.stdin is not None and not self.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                if input:
                    self.stdin.write(input)
                self.stdin.close()
        for name in ("stdout", "stderr"):
            stream = getattr(self, name)
            if stream is not None and name not in self._readers:
                read: list = []
                reader = threading.Thread(target=lambda s=stream, r=read: r.append(s.read()), daemon=True)
                reader.start()
                self._readers[name] = (reader, read)
        for reader, _read in self._readers.values():
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        outputs = []
        for name in ("stdout", "stderr"):
            if name in self._readers:
                outputs.append(self._readers[name][1][0])
                getattr(self, name).close()
            else:
                outputs.append(None)
        return outputs[0], outputs[1]

    def __enter__(self) -> ForkedProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        for stream in (self.stdin, self.stdout, self.stderr):
            if stream is not None:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()
        self.wait()


def popen(
    args: list[str], *, stdin: int | None = None, stdout: int | None = None, stderr: int | None = None,
    text: bool = False, env: dict[str, str] | None = None, cwd: str | Path | None = None,
    tailor_imported: bool = False,
) -> ForkedProcess:  # fmt: skip
    """``subprocess.Popen(args, ...)`` for ``[sys.executable, "-c", script, *arguments]`` or ``[tailor, *arguments]``,
    forked from the zygote of that kind. ``stdin``, ``stdout`` and ``stderr`` are None (this process's own),
    subprocess.PIPE, subprocess.DEVNULL, subprocess.STDOUT (stderr), a file descriptor or an open file.
    ``tailor_imported``: a ``-c`` script that replaces nothing before it imports Tailor's modules is forked from the
    tailor zygote, which has imported them (each script importing them again took about 1.2 CPU-s)."""
    args = [str(arg) for arg in args]
    if args[:2] == [sys.executable, "-c"] and len(args) > 2:
        kind, asked = "tailor" if tailor_imported else "python", {"script": args[2], "args": args[3:]}
    elif args[:1] == [str(TAILOR_SCRIPT)]:
        kind, asked = "tailor", {"args": args[1:]}
    else:
        raise ValueError(f"only `python -c SCRIPT ...` and `tailor ...` are forked, not {args[:2]}")
    asked |= {"env": dict(os.environ if env is None else env), "cwd": str(cwd or os.getcwd())}
    theirs, ours, opened = [], {}, []
    for fd, (name, how) in enumerate([("stdin", stdin), ("stdout", stdout), ("stderr", stderr)]):
        if how is None:
            theirs.append(fd)
        elif how == subprocess.DEVNULL:
            theirs.append(os.open(os.devnull, os.O_RDWR))
            opened.append(theirs[-1])
        elif how == subprocess.STDOUT and name == "stderr":
            theirs.append(theirs[1])
        elif how == subprocess.PIPE:
            read, write = os.pipe()
            theirs.append(read if name == "stdin" else write)
            opened.append(theirs[-1])
            ours[name] = write if name == "stdin" else read
        elif isinstance(how, int) and how >= 0:
            theirs.append(how)
        elif hasattr(how, "fileno"):  # an open file
            theirs.append(how.fileno())
        else:
            raise ValueError(f"{name}={how!r} is not forked")
    zygote = _zygote(kind)
    try:
        pid = zygote.fork(asked, theirs)
    except BaseException:
        for fd in ours.values():
            os.close(fd)
        raise
    finally:
        for fd in opened:
            os.close(fd)
    pipes: dict[str, io.IOBase | None] = {"stdin": None, "stdout": None, "stderr": None}
    for name, fd in ours.items():
        if name == "stdin":
            pipes[name] = open(fd, "wb")  # noqa: SIM115 (closed by communicate, __exit__ or the caller)
            if text:
                pipes[name] = io.TextIOWrapper(pipes[name], write_through=True)
        else:
            pipes[name] = open(fd, "r" if text else "rb")  # noqa: SIM115 (as above)
    return ForkedProcess(args, zygote, pid, pipes)


def run(
    args: list[str], *, input: str | bytes | None = None, capture_output: bool = False,  # noqa: A002
    stdin: int | None = None, stdout: int | None = None, stderr: int | None = None, text: bool = False,
    env: dict[str, str] | None = None, cwd: str | Path | None = None, timeout: float | None = None,
    check: bool = False, tailor_imported: bool = False,
) -> subprocess.CompletedProcess:  # fmt: skip
    """``subprocess.run(args, ...)``, forked as ``popen`` forks: its output read, its end waited for (killed past
    ``timeout``: TimeoutExpired)."""
    if capture_output:
        stdout = stderr = subprocess.PIPE
    if input is not None:
        stdin = subprocess.PIPE
    process = popen(
        args, stdin=stdin, stdout=stdout, stderr=stderr, text=text, env=env, cwd=cwd, tailor_imported=tailor_imported
    )
    try:
        out, err = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise subprocess.TimeoutExpired(args, timeout, out, err) from None
    if check and process.returncode:
        raise subprocess.CalledProcessError(process.returncode, args, out, err)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def run_tailor(
    args: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``subprocess.run(["tailor", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)``,
    forked from the tailor zygote (its stdin /dev/null; its output read as UTF-8, anything else replaced)."""
    done = run(
        [str(TAILOR_SCRIPT), *args], stdin=subprocess.DEVNULL, capture_output=True, env=env, cwd=cwd, timeout=timeout
    )
    read = {"encoding": "utf-8", "errors": "replace"}
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(**read), done.stderr.decode(**read)
    )


def _exit_as_the_interpreter_does(asked: dict) -> None:
    """Run the console script's ``sys.exit(main())`` or the ``-c`` script in a module ``__main__`` of its own, then
    end the process as the interpreter ends it (an uncaught exception's traceback, threads joined, atexit handlers
    run, streams flushed) but for tearing down every module one by one: with the zygote's thousands imported, that
    alone took 3-5 s a command."""
    import builtins
    import types

    interrupted = False
    try:
        if "script" in asked:
            main = sys.modules["__main__"] = types.ModuleType("__main__")
            main.__builtins__ = builtins
            exec(compile(asked["script"], "<string>", "exec"), main.__dict__)  # noqa: S102 (what `python -c` does)
            code = None
        else:
            from service.cli import main

            code = main()
    except SystemExit as stopped:
        code = stopped.code
    except BaseException as uncaught:  # noqa: BLE001 (the interpreter's own: a traceback, exit status 1)
        sys.excepthook(type(uncaught), uncaught, uncaught.__traceback__)
        interrupted, code = isinstance(uncaught, KeyboardInterrupt), 1
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    threading._shutdown()  # what the interpreter does first at exit: wait for the threads not daemonic
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    if interrupted:  # as the interpreter ends on an uncaught KeyboardInterrupt: by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit((code or 0) & 0xFF)


if __name__ == "tailor_zygote":
    _exit_as_the_interpreter_does(_serve(sys.argv[1], int(sys.argv[2])))
