"""Where every eval leaves its results: `<out>/<stem>.json` (the figures) and `<out>/<stem>.md` (the table)."""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from evals.thresholds import exit_code

PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "implicit", "optuna", "litellm")


def say(step: str) -> None:
    """A step of a run of minutes, on stderr as it starts or ends (the table and the report are stdout's and the
    files', which it never touches): a full run printed nothing until its table, and a CI job could not tell a slow
    step from a hung one."""
    print(step, file=sys.stderr, flush=True)


@contextmanager
def timed_step(at: str, starting: str = "") -> Iterator[Callable[[str], None]]:
    """Says ``at`` (with ``starting``) on stderr as a step starts, and as it ends ``at`` with its time and what the
    step said of its figures through the callable it is given."""
    say(at + starting)
    started = time.perf_counter()
    figures: list[str] = []
    yield figures.append
    say(f"{at} done in {time.perf_counter() - started:.1f} s" + "".join(f": {figure}" for figure in figures))


def counted(at: str, unit: str) -> Callable[[int, int], None]:
    """A progress callback (done, total) for a step of many parts (drafts, campaigns) that says ``at: done of total
    unit`` on stderr each tenth of the way, the last as the step ends: a line a part buried the steps in a CI log
    (which keeps every line) under thousands."""
    said = 0

    def heard(done: int, total: int) -> None:
        nonlocal said
        tenth = done * 10 // total if total > 0 else -1
        if done > 0 and tenth > said:
            said = tenth
            say(f"{at}: {done:,} of {total:,} {unit}")

    return heard


def report_folder(value: str) -> Path:
    """An argparse type for `--out`: a folder that exists or can be made, and can be written in, checked (and made)
    before the eval runs: a file of that name, or a folder that cannot be made or written, was found only after
    minutes of work, as a traceback, and the figures were lost with it."""
    path = Path(value)
    blocking = next((part for part in (path, *path.parents) if part.exists() and not part.is_dir()), None)
    if blocking is not None:
        raise argparse.ArgumentTypeError(f"{value} cannot hold the reports: {blocking} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise argparse.ArgumentTypeError(f"{value} cannot hold the reports: {reason}") from error
    return path


def count_of_at_least_one(value: str) -> int:
    """An argparse type for a count option (customers, products per e-mail): a whole number from 1."""
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a count of 1 or more")
    return int(value)


def seed(value: str) -> int:
    """An argparse type for `--seed`: what NumPy's and scikit-learn's generators take, 0 to 2**32 - 1 (`-1` passed as
    an int and ended in their traceback, in scoring after the demo store was generated)."""
    if not value.strip().isdigit() or int(value) > 2**32 - 1:
        raise argparse.ArgumentTypeError(f"{value} is not a seed: give a whole number from 0 to {2**32 - 1}")
    return int(value)


def number_of(what: str) -> Callable[[str], int]:
    """An argparse type for a number of ``what`` (trials, shops) that may be none: a whole number from 0."""

    def parse(value: str) -> int:
        if not value.strip().isdigit():
            raise argparse.ArgumentTypeError(f"{value} is not a number of {what}: give 0 or more")
        return int(value)

    parse.__name__ = f"number of {what}"  # argparse's name for the type in its own messages
    return parse


def sizes_or_defaults(args: argparse.Namespace, quick: dict[str, int], full: dict[str, int]) -> None:
    """Sets each size option (`--customers`, `--products`: names of ``full``'s keys) the command line left as None
    to --quick's size or the full run's; a size given holds either way."""
    defaults = quick if args.quick else full
    for name, size in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, size)


def add_out_option(parser: argparse.ArgumentParser) -> None:
    """`--out FOLDER` (default `reports`, under the folder the command runs in), where the reports go; and the
    code's commit, read now, as the run starts, for its report's provenance."""
    code_at_start()
    parser.add_argument(
        "--out", type=report_folder, default=Path("reports"), metavar="FOLDER",
        help="where the JSON report and its markdown table go (default: ./reports)",
    )  # fmt: skip


@functools.cache
def code_at_start() -> tuple[str | None, bool | None]:
    """The commit of the code this process runs (None outside the project's own repository) and whether the tree had
    changes, read once, the first time asked: each eval asks as it starts (`add_out_option`). Read as the report was
    written, a commit made while a 17-minute eval ran was named as the code of its figures."""
    from evals.datasets import PROJECT_ROOT

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    # a copy of the project inside another repository (vendored, unpacked from an archive) is not that one's commit
    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != Path(PROJECT_ROOT).resolve():
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "HEAD"), None if status is None else bool(status)


def program() -> list[str]:
    """How this process was started, for the report's command: `python -m evals.experiments.run` by its module (the
    script's own name, `run.py`, is every area's), `tailor eval ...` by its script's name."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name not in (None, "__main__"):
        return ["python", "-m", spec.name]
    return [Path(sys.argv[0]).name]


def provenance() -> dict:
    """What a figure needs to be reproduced beyond the report's own options: the code's commit as the run started
    (and whether the tree had changes), the command line, the data folder, Python and the versions of the libraries
    that fit."""
    from evals.datasets import data_root

    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    commit, changed = code_at_start()
    return {
        "commit": commit,
        "uncommitted_changes": changed,
        "command": [*program(), *sys.argv[1:]],
        "data_root": str(data_root()),
        "python": platform.python_version(),
        "packages": versions,
    }


def write_report(report: dict, markdown: str, out: Path, stem: str) -> Path:
    """Write the JSON report and its markdown table side by side; returns the JSON file's path."""
    out.mkdir(parents=True, exist_ok=True)
    report = {**report, "provenance": report.get("provenance") or provenance()}
    path = out / f"{stem}.json"
    # A figure with nothing to measure (P(best) of no arm at 0.95, an AUC of one class) is NaN, which Python writes
    # as a bare NaN that is no JSON: a harness's parser (JavaScript's, Go's, a strict one) refused the whole report.
    # It is written as null, as JSON has it.
    finite = json.loads(json.dumps(report, default=float), parse_constant=lambda _: None)
    # Both files are written whole beside their names and then put in place: written over in place, a write cut short
    # (a full disk, a CI job killed) left the first bytes of the new report, which no harness parses, and the last
    # run's report gone.
    texts = {
        path: json.dumps(finite, indent=2, ensure_ascii=False, allow_nan=False),
        out / f"{stem}.md": markdown.rstrip("\n") + "\n",
    }
    written: dict[Path, Path] = {}
    umask = os.umask(0)
    os.umask(umask)
    try:
        for target, text in texts.items():
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=out, prefix=f".{target.name}.", suffix=".part", delete=False
            ) as part:
                written[target] = Path(part.name)
                os.chmod(part.fileno(), 0o666 & ~umask)  # as an ordinary write makes it, not the temporary file's 0600
                part.write(text)
                part.flush()
                os.fsync(part.fileno())
        for target, part_path in written.items():
            os.replace(part_path, target)
    finally:
        for part_path in written.values():
            part_path.unlink(missing_ok=True)
    return path


def finish(report: dict, table: str, out: Path, stem: str, thresholds_not_applied: str | None = None) -> int:
    """An eval's end: its table on the screen first (figures a full disk cannot take are still seen), the JSON report
    and the table written as ``stem`` under ``out``, where they went, and the exit code of its threshold failures.
    The table ends with the thresholds broken, in every area alike: the markdown a CI job publishes said which only
    for scoring and experiments, and a failed recommenders, audience or generation gate showed a table of figures
    with nothing marked. `thresholds_not_applied` says why a quick run of another configuration (a count, a horizon
    of its own) was not judged by thresholds.yaml: the report's ``thresholds`` and the table's last line say so."""
    if thresholds_not_applied:
        report["thresholds"] = f"not applied: {thresholds_not_applied}"
        table = table.rstrip("\n") + f"\n\nThresholds {report['thresholds']}."
    if failures := report["threshold_failures"]:
        table = table.rstrip("\n") + "\n\nThresholds broken:\n" + "\n".join(f"- {failure}" for failure in failures)
    print(table)
    path = write_report(report, table, out, stem)
    print(f"\nwrote {path} and {path.with_suffix('.md')}")
    return exit_code(report["threshold_failures"])
