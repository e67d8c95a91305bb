"""The right to erasure from the command line: `tailor customers erase` and `tailor customers lift-erasure`, for a
shop that runs no server, doing what DELETE /customers/{id} and POST /erasures/lift do."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from service import cli
from service.pipeline.model_store import ERASED_MARK

CUSTOMERS = (
    "customer_id,email,first_name,locale,marketing_consent\n"
    "c1,ann@example.com,Ann,en,true\nc2,Bo.Lund@Example.com,Bodil,en,true\n"
)


@pytest.fixture
def shop(client, engine, monkeypatch):
    """Two customers imported; the commands run in-process on the test's database."""
    imported = client.post("/imports/customers", files={"file": ("customers.csv", CUSTOMERS.encode(), "text/csv")})
    assert imported.status_code == 200, imported.text
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    return client


def test_a_customer_is_erased_from_the_command_line(shop, tailor_home):
    """A shop that runs no server (the README's cron and `tailor send`) had no way to erase a customer who asked:
    only DELETE /customers/{id} did, so the person stayed, and stayed mailed."""
    erased = CliRunner().invoke(cli.app, ["customers", "erase", "c2", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "erased customer c2" in erased.output

    gone = shop.get("/customers/c2")
    assert gone.status_code == 404 and gone.json()["message"].startswith("Customer 'c2' was erased on ")
    assert shop.get("/customers/c1").json()["first_name"] == "Ann"
    assert (tailor_home / "models" / ERASED_MARK).is_file()  # the models trained before hold them
    files = [path for path in tailor_home.iterdir() if path.name.startswith("tailor.db")]
    assert files and all(b"bo.lund" not in p.read_bytes().lower() and b"Bodil" not in p.read_bytes() for p in files)

    again = CliRunner().invoke(cli.app, ["customers", "erase", "c2", "--yes"])
    assert again.exit_code != 0 and str(again.exception).startswith("Customer 'c2' was erased on ")


def test_the_erase_command_asks_first(shop, monkeypatch):
    """An erasure cannot be undone: without --yes the command asks, and a no leaves the customer as they were."""
    monkeypatch.setattr(cli, "_at_a_terminal", lambda: True)  # asked only at a terminal: the runner's stdin is none
    kept = CliRunner().invoke(cli.app, ["customers", "erase", "c1"], input="n\n")
    assert kept.exit_code != 0 and "Erase customer c1" in kept.output
    assert shop.get("/customers/c1").status_code == 200
    unknown = CliRunner().invoke(cli.app, ["customers", "erase", "c404", "--yes"])
    assert unknown.exit_code != 0 and str(unknown.exception) == "Customer 'c404' does not exist."


def test_the_erase_command_without_a_terminal_says_it_needs_yes(shop):
    """Without a terminal (cron, a pipe) and no --yes, the command read no answer and ended "Aborted." with exit 1,
    not saying that --yes was what it needed; it says so now, exits 2 as other refused commands do, erases nothing."""
    refused = CliRunner().invoke(cli.app, ["customers", "erase", "c1"], input="")

    assert refused.exit_code == 2, refused.output
    assert "not run at a terminal" in refused.output and "--yes" in refused.output, refused.output
    assert "Aborted" not in refused.output and "Erase customer c1" not in refused.output
    assert shop.get("/customers/c1").status_code == 200


def test_an_answer_piped_to_the_erase_command_is_read_as_one_typed(shop):
    """`echo n | tailor customers erase c1` keeps the customer and `echo y | ...` erases them: an answer piped in is
    read as one typed at a terminal, and only a command with none to read (cron, /dev/null) needs --yes."""
    declined = CliRunner().invoke(cli.app, ["customers", "erase", "c1"], input="n\n")
    assert declined.exit_code == 1 and "Aborted." in declined.output, declined.output
    assert shop.get("/customers/c1").status_code == 200

    confirmed = CliRunner().invoke(cli.app, ["customers", "erase", "c1"], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "Erase customer c1" in confirmed.output
    assert shop.get("/customers/c1").status_code == 404


def test_an_erasure_is_lifted_from_the_command_line(shop):
    """Someone erased who signed up again could be let back in only through POST /erasures/lift."""
    assert CliRunner().invoke(cli.app, ["customers", "erase", "c2", "--yes"]).exit_code == 0

    lifted = CliRunner().invoke(cli.app, ["customers", "lift-erasure", "--email", " BO.LUND@example.com"])
    assert lifted.exit_code == 0, lifted.output
    assert "lifted 1 erasure" in lifted.output
    nothing = CliRunner().invoke(cli.app, ["customers", "lift-erasure", "--customer-id", "c2"])
    assert nothing.exit_code != 0 and "there is no erasure to lift" in str(nothing.exception)
    neither = CliRunner().invoke(cli.app, ["customers", "lift-erasure", "--customer-id", " "])
    assert neither.exit_code == 2 and "give --customer-id, --email or both" in neither.output  # the options' names


def test_an_import_that_leaves_out_an_erased_customer_names_the_command_that_lets_them_back(shop, tmp_path):
    """`tailor import customers` warned that an erased customer is imported once their erasure is lifted "(POST
    /erasures/lift)": a shop without a server was sent to a request it cannot make."""
    assert CliRunner().invoke(cli.app, ["customers", "erase", "c2", "--yes"]).exit_code == 0
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS)

    imported = CliRunner().invoke(cli.app, ["import", "customers", str(customers)])

    assert imported.exit_code == 0, imported.output
    assert imported.output.splitlines()[-1].endswith(
        "is imported once their erasure is lifted (`tailor customers lift-erasure`, or POST /erasures/lift)."
    )


def _interrupted(*args, **kwargs):
    raise KeyboardInterrupt  # Ctrl-C


def test_ctrl_c_before_an_erasure_is_committed_says_nothing_of_them_was_erased(shop, monkeypatch):
    """`tailor customers erase` stopped by Ctrl-C ended with no word: whether the customer was erased, the person
    could not tell. Stopped before its commit, nothing of them is, and it says so."""
    from service import customers

    monkeypatch.setattr(customers, "mark_erasure", _interrupted)  # as the models' mark is written, before the commit
    stopped = CliRunner().invoke(cli.app, ["customers", "erase", "c2", "--yes"])

    assert stopped.exit_code == 130
    assert shop.get("/customers/c2").json()["first_name"] == "Bodil"
    assert stopped.output.splitlines() == [
        "interrupted: customer c2 is not erased, nothing of them changed; `tailor customers erase c2` erases them"
    ]


def test_ctrl_c_once_an_erasure_is_committed_says_they_are_erased_and_empties_the_log(shop, monkeypatch, tailor_home):
    """Stopped once the erasure was committed, as the model versions trained before were deleted, the command said
    nothing of the customer it had erased, and the database's write-ahead log still held their rows as they were."""
    from service import customers

    monkeypatch.setattr(customers, "forget_erased", _interrupted)
    stopped = CliRunner().invoke(cli.app, ["customers", "erase", "c2", "--yes"])

    assert stopped.exit_code == 130
    assert shop.get("/customers/c2").status_code == 404
    assert stopped.output.splitlines() == [
        "interrupted: customer c2 is erased; the model versions trained before them that are left are not used "
        "again, and the next training deletes them"
    ]
    files = [path for path in tailor_home.iterdir() if path.name.startswith("tailor.db")]
    assert files and all(b"bo.lund" not in p.read_bytes().lower() and b"Bodil" not in p.read_bytes() for p in files)
