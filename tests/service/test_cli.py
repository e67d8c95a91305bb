"""The `tailor` command: fast help, one clear line and exit code 2 for user errors, keys, imports, and a
campaign from import to exported drafts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests import forked_cli
from tests.forked_cli import run_tailor
from tests.service.test_importing import CUSTOMERS

TAILOR = [str(Path(sys.executable).with_name("tailor"))]


def run(args: list[str], home: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """`tailor *args` in a process of its own (forked: tests/forked_cli.py), with ``home`` as its TAILOR_HOME."""
    return run_tailor(args, env={**os.environ, "TAILOR_HOME": str(home), **env}, timeout=timeout)


def run_on_a_terminal(
    args: list[str], home: Path, timeout: float = 120, forked: bool = False, **env: str
) -> tuple[subprocess.CompletedProcess, str]:
    """The command run with its standard error on a pseudo-terminal, as a person at one sees it: its result (stdout
    captured) and what the terminal showed. Started as a new interpreter, as a person starts it, or ``forked`` from
    the tailor zygote (tests/forked_cli.py), 4-5 CPU-s of imports saved: what a command shows on a terminal (its bar,
    service.cli's Console, and its log lines' format, service.logs) is decided as it runs, never at import."""
    import pty
    import threading

    shown = bytearray()
    terminal, its_side = pty.openpty()

    def read() -> None:
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the command's side closed
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    env = {**os.environ, "TAILOR_HOME": str(home), **env}
    try:
        start = forked_cli.run if forked else subprocess.run
        done = start([*TAILOR, *args], stdout=subprocess.PIPE, stderr=its_side, text=True, env=env, timeout=timeout)
    finally:
        os.close(its_side)
        reader.join(timeout=10)
        os.close(terminal)
    return done, shown.decode(errors="replace")


def test_help_is_fast_and_lists_the_commands(tmp_path):
    started = time.perf_counter()
    env = {**os.environ, "TAILOR_HOME": str(tmp_path)}  # started, not forked: the start-up is what is timed
    result = subprocess.run([*TAILOR, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0
    for command in (
        "import",
        "train",
        "recommend",
        "audience",
        "generate",
        "export",
        "serve",
        "demo",
        "keys",
        "models",
        "customers",
        "eval",
    ):
        assert command in result.stdout
    assert time.perf_counter() - started < 5, "tailor --help must not import the heavy libraries"


@pytest.mark.usefixtures("engine")  # its database migrated: what is tested is the command, not a migration
def test_a_bad_setting_in_the_environment_is_one_line_naming_the_variable(tmp_path, monkeypatch):
    """A mistyped port or database URL ended the command in a page of traceback."""
    cases = [
        ({"TAILOR_API_PORT": "abc"}, ["serve"], "error: the environment is not valid: TAILOR_API_PORT='abc': "),
        ({"TAILOR_AUDIENCE_HORIZON_DAYS": "soon"}, ["audience", "refresh"],
         "error: the environment is not valid: TAILOR_AUDIENCE_HORIZON_DAYS='soon': Input should be a valid integer"),
        ({"DATABASE_URL": "tailor.db"}, ["train"], "error: DATABASE_URL is not a database URL; give one such as "),
        ({"TAILOR_LOG_LEVEL": "loud"}, ["train"], "error: the environment is not valid: TAILOR_LOG_LEVEL='LOUD': "),
        # settings the jobs read: the server started, and each job failed with pydantic's report of a class
        ({"TAILOR_CAMPAIGN_VARIANTS_PER_DRAFT": "0"}, ["serve"],
         "error: the environment is not valid: TAILOR_CAMPAIGN_VARIANTS_PER_DRAFT='0': "),
        ({"TAILOR_CAMPAIGN_REVIEW_THRESHOLD_P_OPEN": "5"}, ["serve"],
         "error: the environment is not valid: TAILOR_CAMPAIGN_REVIEW_THRESHOLD_P_OPEN='5': "),
        ({"TAILOR_LLM_TIMEOUT": "-5"}, ["serve"], "error: the environment is not valid: TAILOR_LLM_TIMEOUT='-5': "),
        ({"TAILOR_SMTP_PORT": "abc"}, ["serve"], "error: the environment is not valid: TAILOR_SMTP_PORT='abc': "),
        # every email's unsubscribe link led nowhere
        ({"TAILOR_PUBLIC_URL": "mail.shop.example"}, ["serve"],
         "error: the environment is not valid: TAILOR_PUBLIC_URL='mail.shop.example': is not a web address: give it "
         "whole, such as https://mail.shop.example"),
        # a webhook without http:// logged every job's ending as not delivered, and its "user:password@" whole
        ({"TAILOR_WEBHOOK_URL": "crm:s3cret@crm.example/hooks"}, ["serve"],
         "error: the environment is not valid: TAILOR_WEBHOOK_URL='***@crm.example/hooks': is not an http:// or "
         "https:// address"),
        ({"DATABASE_URL": "postgresql+psycopg://tailor:s3cret@127.0.0.1:9/shop"}, ["train"],
         "error: The database postgresql+psycopg://tailor:***@127.0.0.1:9/shop cannot be reached: "),
        # a password with an escaped @ stopped every command in Alembic's "invalid interpolation syntax"
        ({"DATABASE_URL": "postgresql+psycopg://tailor:s3cret%40x%2Fy@127.0.0.1:9/shop"}, ["keys", "list"],
         "error: The database postgresql+psycopg://tailor:***@127.0.0.1:9/shop cannot be reached: "),
        # the form hosting services hand out (no driver, or the old "postgres" name) said a driver was missing
        ({"DATABASE_URL": "postgres://tailor:s3cret@127.0.0.1:9/shop"}, ["keys", "list"],
         "error: The database postgresql+psycopg://tailor:***@127.0.0.1:9/shop cannot be reached: "),
        ({"DATABASE_URL": "postgresql://tailor:s3cret@127.0.0.1:9/shop"}, ["keys", "list"],
         "error: The database postgresql+psycopg://tailor:***@127.0.0.1:9/shop cannot be reached: "),
        # a port that is no number, and a driver not installed (psycopg2's name, from another app's settings), ended
        # the command in a traceback
        ({"DATABASE_URL": "postgresql://tailor:s3cret@127.0.0.1:5432x/shop"}, ["keys", "list"],
         "error: DATABASE_URL is not a database URL; give one such as "),
        ({"DATABASE_URL": "postgresql+psycopg2://tailor:s3cret@127.0.0.1:9/shop"}, ["keys", "list"],
         "error: The database postgresql+psycopg2://tailor:***@127.0.0.1:9/shop needs a driver that is not installed"),
    ]  # fmt: skip
    for variables, args, expected in cases:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        result = run(args, tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith(expected), result.stderr
        assert "s3cret" not in result.stderr
        for name in variables:
            monkeypatch.delenv(name)


def test_the_database_warnings_are_json_lines_like_every_other(tmp_path):
    """The warning about a database file others may read came out as plain text, outside TAILOR_LOG_LEVEL, from a
    logger outside Tailor's ("service.db.session")."""
    assert run(["keys", "list"], tmp_path).returncode == 0  # makes the database
    (tmp_path / "tailor.db").chmod(0o644)
    result = run(["keys", "list"], tmp_path)
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # each a JSON object
    assert [line["logger"] for line in lines if "chmod 600" in line["event"]] == ["tailor.db"]
    quiet = run(["keys", "list"], tmp_path, TAILOR_LOG_LEVEL="ERROR")
    assert quiet.stderr == ""


def test_a_database_migrated_by_a_newer_tailor_is_one_line(tmp_path, monkeypatch):
    """A schema at a revision this version does not know (the code rolled back after an upgrade) ended every
    command in some 290 lines of Alembic's traceback."""
    import sqlite3

    from service.db.migrate import upgrade
    from service.db.session import make_engine

    database = tmp_path / "newer.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099_future'")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    result = run(["keys", "list"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: The database sqlite:///{database} was migrated by another version of Tailor")
    assert "0099_future" in last


def test_a_database_that_never_answers_is_reported_within_its_connect_timeout(tmp_path, monkeypatch):
    """A database host that accepts connections but never answers (a stopped server) kept `tailor keys list` and
    /health waiting for ever."""
    import socket

    with socket.socket() as silent:  # accepts at the TCP level (the backlog), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://tailor@127.0.0.1:{port}/shop")
        monkeypatch.setenv("TAILOR_DB_CONNECT_TIMEOUT_SECONDS", "2")
        started = time.perf_counter()
        result = run(["keys", "list"], tmp_path, timeout=60)
    assert time.perf_counter() - started < 20
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: The database postgresql+psycopg://tailor@127.0.0.1:{port}/shop cannot be reached: ")
    )


CUT_OFF = """
import json, subprocess, sys, threading, time
from sqlalchemy import text
from evals.postgres import throwaway_cluster
from service.db.session import make_engine

with throwaway_cluster(durable=False) as url:
    engine = make_engine(url, connect_timeout_seconds=2)
    with engine.connect() as connection:  # one connection open in the pool, as a server holds them
        connection.execute(text("SELECT 1"))
    subprocess.run(["ip", "link", "set", "lo", "down"], check=True)  # the network cut: nothing arrives, nothing fails
    answer = {}

    def ask() -> None:
        started = time.perf_counter()
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            answer["error"] = None
        except Exception as error:
            answer["error"] = type(error).__name__
        answer["seconds"] = time.perf_counter() - started

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    asking.join(30)
    print(json.dumps(answer), flush=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # so that the cluster stops
"""


@pytest.mark.postgres
def test_a_database_cut_off_once_connected_is_reported_within_the_connect_timeout():
    """A database host gone once the server had connected (its machine down, the network cut) left the pool's ping
    of its open connection waiting for the kernel's retransmissions, some 15 minutes: /health and every request hung
    instead of answering 503. The cut is a loopback taken down in a network namespace of the test's own."""
    import shutil

    from evals import postgres

    if reason := postgres.missing():
        pytest.skip(reason)
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("ip")):
        pytest.skip("cutting a network off in a namespace of its own needs root, unshare and ip")
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:  # a container may forbid it
        pytest.skip("this machine does not allow a network namespace of the test's own (unshare --net)")
    command = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", sys.executable, "-c", CUT_OFF]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer and answer["error"] == "OperationalError" and answer["seconds"] < 15, answer


def test_a_port_in_use_is_one_line_before_any_work(tmp_path):
    """`make run` with port 8000 taken loaded the store, trained and wrote a campaign for a minute, and only then
    failed in uvicorn's log; `tailor serve` first ran the app's start-up."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        for args in (["serve", "--port", str(port)], ["demo", "--port", str(port)]):
            started = time.perf_counter()
            result = run(args, tmp_path)
            assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
            assert result.stderr.strip() == (
                f"error: port {port} on 127.0.0.1 is already in use (another `tailor serve` or `make run`?): stop "
                "what holds it, or choose another port with --port or TAILOR_API_PORT"
            )
            assert time.perf_counter() - started < 30
        assert not (tmp_path / "tailor.db").exists(), "the demo loaded its store before finding the port taken"


def test_the_port_given_to_the_server_is_the_one_its_unsubscribe_links_name(monkeypatch):
    """`tailor serve --port 9123` sent mail whose unsubscribe links named TAILOR_API_PORT's port (8000)."""
    from service.server import serving_address
    from service.signed_links import UnsubscribeLinks

    for name in ("TAILOR_API_HOST", "TAILOR_API_PORT", "TAILOR_PUBLIC_URL"):
        monkeypatch.setenv(name, "")  # recorded, so that what serving_address writes is undone after the test
        monkeypatch.delenv(name)
    monkeypatch.setenv("TAILOR_UNSUBSCRIBE_SECRET", "k" * 32)
    assert serving_address(None, 9123) == ("127.0.0.1", 9123)
    assert UnsubscribeLinks.configured().url(5).startswith("http://127.0.0.1:9123/unsubscribe/5.")
    monkeypatch.setenv("TAILOR_PUBLIC_URL", "https://mail.shop.example/")
    assert UnsubscribeLinks.configured().url(5).startswith("https://mail.shop.example/unsubscribe/5.")


def test_recommend_help_lists_the_registered_models(tmp_path):
    from recommenders.registry import names

    result = run(["recommend", "--help"], tmp_path)
    assert result.returncode == 0 and "--products" in result.stdout
    assert all(name in result.stdout for name in names())


def test_recommend_help_names_every_kind_of_interaction_its_file_may_hold():
    """The --train help named purchase, cart and view; a shop's file with returns (kind return, which the reader
    takes and leaves out) was one the help did not say it could give."""
    from typer.main import get_command

    from recommenders.interactions import KINDS
    from service.cli import app

    (train,) = [param for param in get_command(app).commands["recommend"].params if "--train" in param.opts]
    assert [kind for kind in KINDS if kind not in train.help] == []


def test_the_eval_example_in_the_help_runs_as_written():
    import importlib
    import re

    from service.cli_eval import eval as eval_command

    example = re.search(r"`tailor eval (\S+) ([^`]*)`", eval_command.__doc__)
    area, options = example.group(1), example.group(2).split()
    parsed = importlib.import_module(f"evals.{area}.run").parse(options)
    assert (parsed.dataset, parsed.protocol) == ("online_retail", "time")


def test_eval_errors_are_one_line_before_any_work_and_its_help_is_the_eval_s(tmp_path, monkeypatch):
    """Missing data ended in a 102-line traceback (exit 1), an --out that is a file was found only after the
    whole eval had run, and `tailor eval recommenders --help` showed typer's help, not the eval's options."""
    helped = run(["eval", "recommenders", "--help"], tmp_path)
    assert helped.returncode == 0 and "--dataset" in helped.stdout and "--out FOLDER" in helped.stdout
    unknown = run(["eval", "recomenders"], tmp_path)
    assert unknown.returncode == 2 and "choose from recommenders, audience, generation, scoring, scale" in (
        " ".join(unknown.stderr.replace("│", " ").split())
    )
    (tmp_path / "afile").write_text("")
    blocked = run(["eval", "audience", "--quick", "--out", str(tmp_path / "afile" / "reports")], tmp_path)
    assert blocked.returncode == 2 and f"{tmp_path / 'afile'} is a file, not a folder" in blocked.stderr
    monkeypatch.setenv("TAILOR_SHARED_DATA", str(tmp_path / "nowhere"))
    missing = run(["eval", "audience", "--quick"], tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("error: Data file ") and len(missing.stderr.strip().splitlines()) == 1


def test_bad_import_file_is_one_clear_line_and_exit_code_2(tmp_path):
    bad = CUSTOMERS.copy()
    bad.loc[0, "email"] = "nobody"
    bad.to_csv(tmp_path / "customers.csv", index=False)
    result = run(["import", "customers", str(tmp_path / "customers.csv")], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: customers file customers.csv rejected, nothing was written: row 2, column 'email': is not an email "
        "address"
    ]
    assert result.stdout == ""  # no "importing customers 0/?" bar left above the error, nor an empty line
    missing = run(["import", "customers", str(tmp_path / "nope.csv")], tmp_path)
    assert missing.returncode == 2 and "file not found" in missing.stderr and "Traceback" not in missing.stderr


def test_a_missing_file_is_named_by_its_whole_path_and_opens_no_database(tmp_path):
    """`tailor import customers customers.csv` run in the wrong folder said "customers file customers.csv ...: file
    not found", not which folder it looked in, and had already made a database there (var/tailor.db)."""
    env = {**os.environ, "TAILOR_HOME": "var"}
    missing = run_tailor(["import", "customers", "customers.csv"], env=env, cwd=tmp_path, timeout=60)
    assert missing.returncode == 2
    assert (
        missing.stderr
        == f"error: file not found: {tmp_path / 'customers.csv'} (check the path; nothing was imported)\n"
    )
    assert not (tmp_path / "var").exists()


def test_a_mistyped_kind_is_told_before_a_database_is_opened(tmp_path):
    """`tailor import custmers customers.csv` run before any other command said the kind was unknown, and had made a
    database (var/tailor.db, migrated) in the folder it ran in, as a missing file did."""
    (tmp_path / "customers.csv").write_text(",".join(CUSTOMERS.columns) + "\n", encoding="utf-8")
    env = {**os.environ, "TAILOR_HOME": "var"}
    mistyped = run_tailor(["import", "custmers", "customers.csv"], env=env, cwd=tmp_path, timeout=60)
    assert mistyped.returncode == 2
    assert mistyped.stderr == (
        "error: import rejected, nothing was written: unknown kind 'custmers', use one of customers, products, "
        "orders, sends\n"
    )
    assert not (tmp_path / "var").exists()


@pytest.mark.usefixtures("engine")  # its database migrated: what is tested is the command, not a migration
def test_a_file_of_a_header_alone_imports_no_rows_and_its_bar_says_0_of_0(tmp_path):
    (tmp_path / "customers.csv").write_text(",".join(CUSTOMERS.columns) + "\n", encoding="utf-8")
    result, shown = run_on_a_terminal(["import", "customers", str(tmp_path / "customers.csv")], tmp_path, forked=True)
    assert result.returncode == 0 and "customers: 0 rows, 0 new, 0 updated" in result.stdout
    bar = shown.split("imported customers")[-1].splitlines()[0]
    assert " 0/0 " in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", bar), bar  # it said 0/1: one row of an empty file


def test_a_file_with_many_problems_says_how_many_and_writes_them_all_on_request(tmp_path):
    """The command line ended with "(and 981 more)": neither how many problems the file had, nor how to see them."""
    bad = pd.concat([CUSTOMERS] * 13, ignore_index=True).assign(
        customer_id=[f"c{i}" for i in range(26)], email="nobody"
    )
    bad.to_csv(tmp_path / "customers.csv", index=False)
    result = run(["import", "customers", str(tmp_path / "customers.csv")], tmp_path)
    assert result.returncode == 2
    error, *shown, hint = result.stderr.strip().splitlines()  # a problem to a line: 20 on one was a wall of text
    assert error == (
        "error: customers file customers.csv rejected, nothing was written: 26 problems, the first 20 shown below"
    )
    assert shown == [f"  row {row}, column 'email': is not an email address" for row in range(2, 22)]
    assert hint == f"to see them all: tailor import customers {tmp_path / 'customers.csv'} --problems problems.csv"

    out = tmp_path / "problems.csv"
    result = run(["import", "customers", str(tmp_path / "customers.csv"), "--problems", str(out)], tmp_path)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == f"every problem listed is in {out}"
    listed = pd.read_csv(out)
    assert listed.row.tolist() == list(range(2, 28)) and set(listed.message) == {"is not an email address"}
    assert set(listed.file) == {"customers.csv"}  # the list of one of a shop's files says which


def test_an_output_that_names_the_file_read_is_refused_and_the_file_kept(tmp_path):
    """`--problems` naming the file imported wrote the problems (or, for a file imported, a header alone) over the
    shop's own file; so did an `--out` naming the file a command reads."""
    customers = tmp_path / "customers.csv"
    CUSTOMERS.to_csv(customers, index=False)
    kept = customers.read_bytes()
    # wide enough that the usage error's box does not wrap a long temporary path, inside its words too
    result = run(["import", "customers", str(customers), "--problems", str(customers)], tmp_path, COLUMNS="1000")
    told = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())
    assert (
        result.returncode == 2 and "Invalid value for --problems:" in told and f"{customers} is the file read" in told
    )
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,timestamp,amount\nc1,2026-01-02,15\nc2,2026-01-03,7.5\n", encoding="utf-8")
    orders_kept = orders.read_bytes()
    audience = ["audience", "--orders", str(orders), "--as-of", "2026-02-01", "--out", str(orders)]
    result = run(audience, tmp_path, COLUMNS="1000")
    told = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())
    assert result.returncode == 2 and "Invalid value for --out:" in told and f"{orders} is the file read" in told
    assert customers.read_bytes() == kept and orders.read_bytes() == orders_kept
    assert not (tmp_path / "tailor.db").exists()  # refused before the database was opened


@pytest.mark.usefixtures("engine")  # its database migrated: what is tested is the command, not a migration
def test_import_and_keys(tmp_path):
    CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
    result = run(["import", "customers", str(tmp_path / "customers.csv")], tmp_path)
    assert result.returncode == 0 and "customers: 2 rows, 2 new, 0 updated" in result.stdout
    key = run(["keys", "create", "ci"], tmp_path).stdout.strip()
    assert key.startswith("tk_") and len(key) > 20
    second = run(["keys", "create", "crm"], tmp_path).stdout.strip()
    listed = run(["keys", "list"], tmp_path).stdout.splitlines()
    assert [line.split()[:2] for line in listed] == [[key[:10], "ci"], [second[:10], "crm"]]
    assert all(line.endswith("active") for line in listed) and key not in "".join(listed)  # only hashes are kept
    revoked = run(["keys", "revoke", key[:10]], tmp_path)
    assert revoked.stdout.strip() == "revoked 1 key"  # not "1 key(s)"
    assert run(["keys", "revoke", second], tmp_path).stdout.strip() == "revoked 1 key"  # the whole key, pasted
    assert all(" revoked " in line for line in run(["keys", "list"], tmp_path).stdout.splitlines())
    again = run(["keys", "revoke", key[:10]], tmp_path)  # a typo or a revoked key: nothing done, and said so
    assert again.returncode == 2 and f"No active API key starts with '{key[:10]}'" in again.stderr
    short = run(["keys", "revoke", "tk_"], tmp_path)  # it could have meant every key
    assert (
        short.returncode == 2 and "'tk_' is shorter than a key's prefix: give its first 10 characters" in short.stderr
    )
    nameless = run(["keys", "create", "  "], tmp_path)
    assert nameless.returncode == 2 and "say who or what uses the key" in nameless.stderr
    long_named = run(["keys", "create", "x" * 205], tmp_path)  # PostgreSQL's column refused it with a traceback
    assert long_named.returncode == 2 and "is 205 characters long; a key's name takes 200 at most" in long_named.stderr
    assert len(run(["keys", "list"], tmp_path).stdout.splitlines()) == 2  # nothing was made of any


def test_recommend_reads_a_product_catalog(tmp_path):
    from tests.recommenders.contract import checkerboard

    interactions, catalog, expected = checkerboard()
    interactions.drop(columns="segment").to_csv(tmp_path / "train.csv", index=False)
    catalog.rename(columns={"product_id": "sku"}).to_csv(tmp_path / "products.csv", index=False)
    args = ["recommend", "--train", str(tmp_path / "train.csv"), "--k", "1", "--out", str(tmp_path / "recs.csv")]
    result = run([*args, "--model", "content", "--products", str(tmp_path / "products.csv")], tmp_path)
    assert result.returncode == 0, result.stderr
    recs = pd.read_csv(tmp_path / "recs.csv", dtype=str)
    assert dict(zip(recs["customer_id"], recs["product_id"], strict=True)) == expected
    assert result.stdout.strip().endswith("; model content")
    auto = run(args, tmp_path)  # which model `auto` fitted is said
    assert auto.returncode == 0 and auto.stdout.strip().endswith("; auto chose ease"), auto.stderr
    # Its progress bar is for a person at a terminal: in a pipe or cron's mail, only the result ("recommend 0/3
    # 0:00:00" was left on standard output above it).
    assert len(auto.stdout.splitlines()) == 1 and "━" not in auto.stdout + auto.stderr
    # there a bar shows its three steps, on stderr
    on_a_terminal, shown = run_on_a_terminal(args, tmp_path, forked=True)
    assert on_a_terminal.stdout == auto.stdout and "3/3" in shown and "━" in shown


@pytest.mark.slow
@pytest.mark.usefixtures("engine")  # its database migrated: what is tested is the command, not a migration
def test_import_and_train_from_the_command_line(tmp_path, demo_files, monkeypatch):
    monkeypatch.delenv("TAILOR_LOG_LEVEL", raising=False)
    for kind in ("customers", "products", "orders", "sends"):
        imported = run(["import", kind, str(demo_files[kind])], tmp_path)
        assert imported.returncode == 0
        # The jobs' JSON lines ("job started", "job finished") printed among the bars and the summary.
        assert '"level"' not in imported.stderr + imported.stdout, imported.stderr
    again = run(["import", "orders", str(demo_files["orders"])], tmp_path)  # every line as stored: no refresh
    assert again.returncode == 0 and "recomputing the audience" not in again.stderr + again.stdout
    assert "the audience was not recomputed: nothing changed: every line of the file is as stored" in again.stdout
    orders = pd.read_csv(demo_files["orders"], dtype=str, keep_default_na=False)
    orders.loc[0, "amount"] = "1234.5"  # one line changed: the audience is recomputed
    orders.to_csv(tmp_path / "orders_changed.csv", index=False)
    logged = run(["import", "orders", str(tmp_path / "orders_changed.csv")], tmp_path, TAILOR_LOG_LEVEL="info")
    assert logged.returncode == 0 and '"event": "job started"' in logged.stderr  # asked for, they are written
    assert "1 updated" in logged.stdout and "audience recomputed" in logged.stdout
    mistyped = run(["train", "--model", "blnd"], tmp_path)
    assert mistyped.returncode == 2 and "No recommender called 'blnd'" in mistyped.stderr + mistyped.stdout
    assert not (tmp_path / "models").exists()  # refused before any training step ran
    trained = run(["train"], tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "days held out: Recall@10" in trained.stdout  # the recommender's quality on the shop's last 30 days
    audience = next(line for line in trained.stdout.splitlines() if line.startswith("audience: "))
    assert re.fullmatch(r"audience: [a-z_]+ [\d,]+(, [a-z_]+ [\d,]+)*", audience), audience  # it was a dict
    assert re.search(r"engagement model version \S+ on \d+ sends", trained.stdout)
    listed = run(["models", "list"], tmp_path).stdout
    assert re.search(r"\d+ sends  open rate \d+\.\d%  shop model ", listed) and "None" not in listed, listed


@pytest.mark.slow
@pytest.mark.llm
def test_generate_and_export_drafts_written_by_the_local_model(engine, tailor_home, demo_files, monkeypatch):
    """The shop trained in this process (the command's training is the test above's): the LLM tests run one at a
    time, and training from the command line took half of this one's minute."""
    from tests.service.conftest import trained_in_process

    monkeypatch.delenv("TAILOR_LOG_LEVEL", raising=False)
    trained_in_process(engine, demo_files)
    out = tailor_home / "drafts.jsonl"
    args = ["generate", "--campaign-type", "cross_sell", "--brand", "atelier", "--limit", "3", "--out", str(out)]
    generated = run(args, tailor_home, timeout=600)  # the local model on a busy 2-core machine: minutes
    assert generated.returncode == 0, generated.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert f"wrote 3 drafts to {out}, a line for each of their {len(rows)} variants" in generated.stdout
    assert [path.name for path in out.parent.glob(f"*{out.name}*")] == [out.name]  # nothing left beside it
    assert len({row["customer_id"] for row in rows}) == 3 and len(rows) >= 6  # every draft with its variants
    for row in rows:
        assert row["subject"] and row["text_body"] and "<html" in row["html_body"].lower()
        assert {check["name"] for check in row["checks"]} >= {"grounding", "unsubscribe_footer"}
        assert 0 < row["scores"]["p_open"] < 1
    assert sum(row["selected"] for row in rows) == 3  # one chosen variant per customer


def test_audience_refresh_uses_the_audience_settings_and_trains_nothing_else(engine, demo_files, monkeypatch):
    """In-process, so that it runs this checkout's code."""
    from typer.testing import CliRunner

    from service import cli
    from service.customers import customer_out, list_customers
    from service.db.session import session_scope
    from service.importing import import_frame, read_table
    from service.settings import home_settings

    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            import_frame(session, kind, read_table(demo_files[kind]))
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    monkeypatch.setenv("TAILOR_AUDIENCE_HORIZON_DAYS", "60")
    monkeypatch.setenv("TAILOR_AUDIENCE_AS_OF", "2026-09-01")
    monkeypatch.setenv("TAILOR_AUDIENCE_THREADS", "2")
    churn_threads = _churn_models_threads(monkeypatch)
    result = CliRunner().invoke(cli.app, ["audience", "refresh"])
    assert result.exit_code == 0, result.output
    assert "audience recomputed as of 2026-09-01 over 60 days" in result.output
    assert churn_threads == [2]
    with session_scope(engine) as session:
        profiles = [customer_out(c).profile for c in list_customers(session, None, 1000, 0)]
    scored = [p for p in profiles if p.get("churn_risk") is not None]
    assert scored and all(p["as_of"] == "2026-09-01" for p in scored)
    assert all("no order in the next 60 days" in p["reasons"]["churn_risk"] for p in scored)
    assert not (home_settings().models_dir / "recommender").exists()


def _churn_models_threads(monkeypatch) -> list[int]:
    """The threads of each churn model the profiles make from now on, as they make it."""
    import audience.profiles

    made = []

    class SpiedChurnModel(audience.profiles.ChurnModel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self.threads)

    monkeypatch.setattr(audience.profiles, "ChurnModel", SpiedChurnModel)
    return made


def test_audience_file_command_gives_the_churn_trees_the_threads_setting(tmp_path, monkeypatch):
    """TAILOR_AUDIENCE_THREADS reaches the churn model's trees from `tailor audience --orders` too; one thread
    unless it says otherwise (the server's other jobs keep the other cores)."""
    from typer.testing import CliRunner

    from service import cli
    from service.settings import environment_problem
    from tests.audience.conftest import simulated_shop

    simulated_shop(n_customers=150).to_csv(tmp_path / "orders.csv", index=False)
    args = ["audience", "--orders", str(tmp_path / "orders.csv"), "--as-of", "2024-01-01", "--out"]
    churn_threads = _churn_models_threads(monkeypatch)
    assert CliRunner().invoke(cli.app, [*args, str(tmp_path / "one.csv")]).exit_code == 0
    monkeypatch.setenv("TAILOR_AUDIENCE_THREADS", "2")
    assert CliRunner().invoke(cli.app, [*args, str(tmp_path / "two.csv")]).exit_code == 0
    assert churn_threads == [1, 2]
    monkeypatch.setenv("TAILOR_AUDIENCE_THREADS", "0")
    refused = CliRunner().invoke(cli.app, [*args, str(tmp_path / "none.csv")])  # main() tells it in one line
    assert environment_problem(refused.exception).startswith(
        "the environment is not valid: TAILOR_AUDIENCE_THREADS='0': Input should be greater than or equal to 1"
    )
    assert not (tmp_path / "none.csv").exists()


def test_audience_file_command_is_unchanged(tmp_path):
    from typer.testing import CliRunner

    from audience.batch import OUTPUT_COLUMNS
    from service import cli
    from tests.audience.conftest import simulated_shop

    simulated_shop(n_customers=150).to_csv(tmp_path / "orders.csv", index=False)
    args = ["audience", "--orders", str(tmp_path / "orders.csv"), "--as-of", "2024-01-01", "--horizon-days", "90"]
    result = CliRunner().invoke(cli.app, [*args, "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    assert "wrote 150 customers to" in result.output
    assert pd.read_csv(tmp_path / "out.csv").columns.tolist() == OUTPUT_COLUMNS
    missing = CliRunner().invoke(cli.app, args)
    assert missing.exit_code == 2 and "missing --out" in missing.output


def test_audience_file_command_shows_its_steps_on_a_terminal_only(tmp_path):
    """A million customers' orders took minutes with nothing on the screen: a bar names each step of the profile
    and the churn model's past days, on standard error at a terminal (a pipe gets only the result, as
    progress_bar has it: test_recommend_reads_a_product_catalog)."""
    from tests.audience.conftest import simulated_shop

    simulated_shop(n_customers=150).to_csv(tmp_path / "orders.csv", index=False)
    args = ["audience", "--orders", str(tmp_path / "orders.csv"), "--as-of", "2024-01-01", "--out"]
    on_a_terminal, shown = run_on_a_terminal([*args, str(tmp_path / "out.csv")], tmp_path, forked=True)
    assert on_a_terminal.returncode == 0 and on_a_terminal.stdout == f"wrote 150 customers to {tmp_path / 'out.csv'}\n"
    assert "━" in shown and "profiled 150 customers" in shown and "100%" in shown


def test_audience_file_command_clusters_on_optional_category_and_discount(tmp_path):
    from typer.testing import CliRunner

    from service import cli
    from tests.audience.test_clusters import tea_on_discount_shop

    lines, tea_buyers = tea_on_discount_shop()
    lines.to_csv(tmp_path / "orders.csv", index=False)
    args = ["audience", "--orders", str(tmp_path / "orders.csv"), "--as-of", "2024-01-01", "--out"]
    result = CliRunner().invoke(cli.app, [*args, str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    profiles = pd.read_csv(tmp_path / "out.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert set(profiles.loc[tea_buyers, "cluster_label"]) == {"discount-driven, mostly tea buyers"}

    lines.loc[3, "discount"] = -1.0
    lines.to_csv(tmp_path / "orders.csv", index=False)
    refused = CliRunner().invoke(cli.app, [*args, str(tmp_path / "out.csv")])
    assert refused.exit_code != 0 and "line 5, column 'discount'" in str(
        refused.exception
    )  # lines.loc[3]: line 5 of the file


def test_audience_file_command_says_which_model_fell_back(tmp_path):
    from typer.testing import CliRunner

    from service import cli
    from tests.audience.conftest import known_customers

    known_customers().to_csv(tmp_path / "orders.csv", index=False)
    args = ["audience", "--orders", str(tmp_path / "orders.csv"), "--as-of", "2024-01-01", "--horizon-days", "60"]
    result = CliRunner().invoke(cli.app, [*args, "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    fallbacks = [line for line in result.output.splitlines() if line.startswith("fallback: ")]
    assert len(fallbacks) == 1 and fallbacks[0].startswith("fallback: churn_risk: BG/NBD instead of the supervised")


@pytest.mark.usefixtures("engine")  # its database migrated: what is tested is the command, not a migration
def test_the_demo_without_serving_says_the_review_page_waits_for_tailor_serve(tmp_path, monkeypatch):
    """`tailor demo --no-serve` printed the review page's address as if it were there to open."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    result = run(["demo", "--customers", "60", "--limit", "3", "--no-serve"], tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "(log in with the API key below once `tailor serve` runs)" in result.stdout


def test_an_output_path_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    """A folder given as --out was met only at the end, as a traceback: after the campaign was generated, or the
    model fitted."""
    (tmp_path / "a_file").write_text("", encoding="utf-8")
    for args, said in (
        (["generate", "--campaign-type", "vip", "--brand", "hearth", "--out", str(tmp_path)], "is a folder"),
        (["export", "--campaign", "1", "--out", str(tmp_path / "a_file" / "drafts.jsonl")], "is a file, so"),
        (["recommend", "--train", "x.csv", "--out", str(tmp_path)], "is a folder"),
        (["scoring", "fit-copy", "--train", "x.csv", "--out", str(tmp_path)], "is a folder"),
    ):
        result = run(args, tmp_path / "home")
        words = " ".join(result.stderr.replace("│", " ").split())
        assert result.returncode == 2 and "Invalid value for '--out'" in words and said in words, result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "home").exists()  # nothing made: no database, no campaign


def test_an_output_name_of_a_format_not_written_is_refused_before_any_work(tmp_path):
    """`tailor scoring predict-copy --out x.xlsx` (and `tailor recommend`, `tailor audience`) wrote CSV under that
    name, which the spreadsheet then refused to open; predict-copy writes Parquet for .parquet, the others CSV.
    `tailor generate` and `tailor export --out drafts.csv` wrote JSON lines under that name."""
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,product_id,timestamp,amount\nc1,p1,2026-01-02,15\nc2,p2,2026-01-03,7.5\n", encoding="utf-8"
    )
    for args, writes in (
        (["scoring", "predict-copy", "--model", "m.joblib", "--input", "x.csv"], ".csv, .txt, .parquet, .jsonl"),
        (["recommend", "--train", str(orders)], ".csv, .txt files"),
        (["audience", "--orders", str(orders), "--as-of", "2026-02-01"], ".csv, .txt files"),
        (["generate", "--campaign-type", "win_back", "--brand", "hearth"], ".jsonl, .ndjson files"),
        (["export", "--campaign", "1"], ".jsonl, .ndjson files"),
    ):
        out = tmp_path / "out.xlsx"
        result = run([*args, "--out", str(out)], tmp_path / "home", COLUMNS="1000")
        told = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())
        assert result.returncode == 2 and f"Invalid value for --out: out.xlsx: this command writes {writes}" in told
        assert "not .xlsx" in told and not out.exists(), told
    written = run(["recommend", "--train", str(orders), "--out", str(tmp_path / "recs")], tmp_path / "home")
    assert written.returncode == 0 and (tmp_path / "recs").read_text().startswith("customer_id,rank,product_id")


def test_a_path_the_system_refuses_is_one_line_naming_it(tmp_path):
    (tmp_path / "a_file").write_text("", encoding="utf-8")
    result = run(["keys", "list"], tmp_path / "a_file")  # the home folder is a file
    assert result.returncode == 2 and f"TAILOR_HOME='{tmp_path / 'a_file'}'" in result.stderr
    assert "names a file, not a folder" in result.stderr and "Traceback" not in result.stderr
    folder = run(["import", "customers", str(tmp_path)], tmp_path / "home")
    assert folder.returncode == 2 and "is a folder, not a file" in folder.stderr and "Traceback" not in folder.stderr


def test_the_module_runs_as_the_command(tmp_path):
    env = {**os.environ, "TAILOR_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "keys", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0 and "Usage: tailor keys" in " ".join(result.stdout.split())


@pytest.mark.usefixtures("engine")  # its database migrated: what is tested is the command, not a migration
def test_training_an_empty_shop_says_what_to_import_first(tmp_path):
    """It was a traceback from deep in the audience's figures (merging float and str ids); then `tailor train` said
    it twice, first as the JSON of the log's `job failed` warning, then as its `error:` line."""
    for args in (["train"], ["audience", "refresh"]):
        result = run(args, tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        (told,) = result.stderr.splitlines()
        assert told.startswith("error: There are no customers yet: import customers first")


def test_a_command_fails_what_a_killed_command_left_generating_and_nothing_a_live_process_has(engine, tailor_home):
    """Crash audit: a `tailor generate` killed mid-campaign left its job "running" and its campaign "generating"
    until some `tailor serve` started, so a shop that runs Tailor from cron alone could never export, send, delete
    or generate that campaign again. A command on a campaign now fails them first, as the server's sweep does: not
    a campaign another process marked generating a moment before queueing its job, nor a live process's job."""
    from service.campaigns import ensure_brand
    from service.db.models import Campaign, Job
    from service.db.session import session_scope
    from service.jobs.recovery import worker_name

    gone = f"{worker_name().split(':')[0]}:999999999:x"  # this host, a pid no process has
    with session_scope(engine) as session:
        brand = ensure_brand(session, "hearth")
        left, about_to, live = (
            Campaign(name=name, brand=brand, campaign_type="vip", status="generating")
            for name in ("left by a killed command", "its job about to be queued", "generated by this process")
        )
        session.add_all([left, about_to, live])
        session.flush()
        session.add(Job(id="killed", kind="generate", status="running", campaign_id=left.id, worker=gone))
        session.add(Job(id="live", kind="generate", status="running", campaign_id=live.id, worker=worker_name()))
        ids = (left.id, about_to.id, live.id)
    exported = run(["export", "--campaign", str(ids[0]), "--out", str(tailor_home / "drafts.jsonl")], tailor_home)
    assert exported.returncode == 0, exported.stderr
    with session_scope(engine) as session:
        assert [session.get(Campaign, i).status for i in ids] == ["failed", "generating", "generating"]
        assert (session.get(Job, "killed").status, session.get(Job, "live").status) == ("failed", "running")


def test_an_export_of_a_campaign_cut_short_is_refused_or_says_how_many_drafts_are_missing(engine, client, tailor_home):
    """Crash audit: `tailor export` of a campaign still being generated wrote 119 of its 300 drafts without a word,
    and so did it once a killed generation had failed it. While it is generated, the command and
    GET /campaigns/{id}/export refuse it; once its generation failed, both say how many customers have no draft."""
    from service.campaigns import ensure_brand
    from service.db.models import Campaign, Customer, Draft, Job, Variant
    from service.db.session import session_scope
    from service.jobs.recovery import worker_name

    with session_scope(engine) as session:
        campaign = Campaign(
            name="half", brand=ensure_brand(session, "hearth"), campaign_type="vip", status="generating"
        )
        for n in range(2):
            customer = Customer(external_id=f"c{n}", email=f"c{n}@example.com", marketing_consent=True)
            session.add(
                Draft(
                    campaign=campaign, customer=customer, status="approved", variants=[Variant(label="A", subject="Hi")]
                )
            )
        session.flush()
        campaign_id = campaign.id
        session.add(Job(id="live", kind="generate", status="running", campaign_id=campaign_id, worker=worker_name(),
                        done=2, total=5))  # fmt: skip
    out = tailor_home / "approved.jsonl"
    args = ["export", "--campaign", str(campaign_id), "--status", "approved", "--out", str(out)]
    refused = run(args, tailor_home)
    assert refused.returncode == 2 and not out.exists(), refused.stderr
    said = f"error: Campaign {campaign_id} is being generated (2 of 5 drafts written so far): export it once it is"
    assert said in refused.stderr
    answered = client.get(f"/campaigns/{campaign_id}/export", params={"status": "approved"})
    assert answered.status_code == 409 and said.removeprefix("error: ") in answered.json()["message"]

    with session_scope(engine) as session:  # its job cancelled, or killed and failed since
        session.get(Campaign, campaign_id).status, session.get(Job, "live").status = "failed", "cancelled"
    warned = run(args, tailor_home)
    assert warned.returncode == 0 and len(out.read_text().splitlines()) == 2, warned.stderr
    missing = f"campaign {campaign_id} failed while generating: it has drafts for 2 of the 5 customers its generation"
    # Its two approved drafts are its every draft: the file lacks none of them, and three customers have no draft.
    assert f"warning: {missing}" in warned.stderr and "so 3 have no draft, approved or other" in warned.stderr
    # a shop without a server was told only of POST /campaigns/{id}/generate
    assert f"generate it again (`tailor campaigns generate {campaign_id}`, or POST" in warned.stderr
    answered = client.get(f"/campaigns/{campaign_id}/export", params={"status": "approved"})
    assert answered.status_code == 200 and len(answered.text.splitlines()) == 2
    assert answered.headers["X-Tailor-Warning"] == warned.stderr.split("warning: ")[1].strip()


def test_a_command_leaves_no_write_ahead_log_beside_the_database(tmp_path):
    """Every command left tailor.db-wal beside the file: a backup restored by copying it over tailor.db (the README's
    `sqlite3 tailor.db ".backup ..."` undone) had the log's later writes replayed onto it, keys made after the backup
    among them."""
    assert run(["keys", "create", "ops"], tmp_path).returncode == 0
    assert (tmp_path / "tailor.db").exists() and not (tmp_path / "tailor.db-wal").exists()


def test_recommend_counts_its_rows_and_warns_of_a_customer_it_gives_none(tmp_path):
    """ "wrote 1 rows for 1 customers", and of the customer who had every product nothing was said."""
    import pandas as pd

    train = tmp_path / "train.csv"
    rows = [("all", "a", "2024-01-01"), ("all", "b", "2024-01-02"), ("one", "a", "2024-01-03")]
    pd.DataFrame(rows, columns=["customer_id", "product_id", "timestamp"]).to_csv(train, index=False)
    out = tmp_path / "recs.csv"
    told = run(["recommend", "--train", str(train), "--k", "2", "--out", str(out), "--model", "popularity"], tmp_path)
    assert told.returncode == 0, told.stderr
    assert f"wrote 1 row for 1 customer to {out}; model popularity" in told.stdout
    assert "warning: 1 customer has no line (all): nothing is left to recommend" in told.stdout + told.stderr


def test_audience_refresh_says_which_figures_fell_back_as_the_file_command_does(engine, monkeypatch):
    """In a shop where nobody bought twice, `tailor audience refresh` (and an orders import) said only the
    segments: nothing told the marketer that churn risk and CLV were unknown, as `tailor audience --orders` does."""
    from typer.testing import CliRunner

    from service import cli
    from service.db.session import session_scope
    from service.importing import import_frame
    from tests.service.test_importing import ORDERS, PRODUCTS

    with session_scope(engine) as session:
        for kind, frame in (("customers", CUSTOMERS), ("products", PRODUCTS), ("orders", ORDERS)):
            import_frame(session, kind, frame)
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    result = CliRunner().invoke(cli.app, ["audience", "refresh"])
    assert result.exit_code == 0, result.output
    assert "fallback: p_alive/expected_purchases/clv/churn_risk: unknown, nobody has bought on a second day" in (
        result.output
    )
