"""What a command says when it stops part way, by Ctrl-C or an error, after it wrote something: what was kept, and
the command that finishes the rest. Each stopped silently before (typer turns Ctrl-C into exit 130 and no word)."""

from __future__ import annotations

from typer.testing import CliRunner

from service.db.models import Interaction
from service.db.session import session_scope


def _import_orders(engine, demo_files, monkeypatch):
    """`tailor import orders` in this process (on ``engine``), into a shop of the demo's customers and products: the
    command's result."""
    from service import cli
    from service.importing import import_frame, read_table

    with session_scope(engine) as session:
        for kind in ("customers", "products"):
            import_frame(session, kind, read_table(demo_files[kind]))
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    return CliRunner().invoke(cli.app, ["import", "orders", str(demo_files["orders"])])


def _orders_kept(engine) -> int:
    with session_scope(engine) as session:
        return session.query(Interaction).count()


def test_ctrl_c_while_an_orders_import_recomputes_the_audience_says_the_orders_are_kept(
    engine, demo_files, monkeypatch
):
    """The orders were committed, the audience was not recomputed, and the command said nothing: importing the file
    again answered "nothing changed" and recomputed nothing, so the segments stayed stale with no word of it."""
    from service.pipeline import training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C

    monkeypatch.setattr(training, "recompute_audience", interrupted)
    result = _import_orders(engine, demo_files, monkeypatch)

    assert result.exit_code == 130
    assert _orders_kept(engine) > 0
    assert "interrupted: the orders are imported, but the audience was not recomputed" in result.output
    assert "`tailor audience refresh` recomputes it" in result.output


def test_an_error_while_an_orders_import_recomputes_the_audience_says_the_orders_are_kept(
    engine, demo_files, monkeypatch
):
    """A setting the audience refused (TAILOR_AUDIENCE_AS_OF before the first order) left only its error: importing
    the file again, once it was fixed, answered "nothing changed" and recomputed nothing."""
    from service.errors import NotReady

    monkeypatch.setenv("TAILOR_AUDIENCE_AS_OF", "2000-01-01")
    result = _import_orders(engine, demo_files, monkeypatch)

    assert isinstance(result.exception, NotReady)  # main() tells it in one line, after what the command said
    assert _orders_kept(engine) > 0
    assert "the orders are imported, but the audience was not recomputed; once the error below is fixed" in (
        result.output
    )
    assert "`tailor audience refresh` recomputes it" in result.output


def _interrupted_at_its_first_step(monkeypatch) -> None:
    """Ctrl-C as the command's job reports its first step (its bar's first update)."""
    from service import cli

    def interrupted(self, done: int, total: int, message: str = "") -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli._BarUpdate, "__call__", interrupted)


def test_ctrl_c_on_a_generation_names_the_campaign_it_kept_and_how_to_go_on(engine, demo_files, monkeypatch):
    """`tailor generate` stopped by Ctrl-C kept its campaign, failed, and said nothing: not its id, nor that `tailor
    campaigns generate ID` writes its drafts, as a generation stopped any other way says."""
    from service import cli
    from service.db.models import Campaign
    from tests.service.conftest import trained_in_process

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_in_process(engine, demo_files)
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    _interrupted_at_its_first_step(monkeypatch)

    args = ["--campaign-type", "cross_sell", "--brand", "hearth", "--limit", "2"]
    result = CliRunner().invoke(cli.app, ["generate", *args])
    again = CliRunner().invoke(cli.app, ["campaigns", "generate", "1"])

    with session_scope(engine) as session:
        assert [(c.id, c.status) for c in session.query(Campaign)] == [(1, "failed")]
    for stopped in (result, again):
        assert stopped.exit_code == 130
        assert stopped.output.splitlines()[-1] == (
            "interrupted: campaign #1 is kept with the status failed, with the drafts it saved; "
            "`tailor campaigns generate 1` generates it again"
        )


def test_ctrl_c_on_a_send_says_what_it_mailed_before_and_how_to_send_the_rest(engine, mail_server, monkeypatch):
    """`tailor send` stopped by Ctrl-C after its first email said nothing: not that one email had gone (its job's
    result kept the count), nor that sending again mails the rest."""
    from service import cli
    from tests.service.conftest import free_port
    from tests.service.test_cli_send_due import campaign_with_drafts

    controller, messages = mail_server
    campaign_id = campaign_with_drafts(engine, "autumn", due=3)
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", f"http://127.0.0.1:{free_port()}")

    def interrupted_after_the_first_email(self, done: int, total: int, message: str = "") -> None:
        if done:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._BarUpdate, "__call__", interrupted_after_the_first_email)
    result = CliRunner().invoke(cli.app, ["send", "--campaign", str(campaign_id), "--unchecked-links"])

    assert result.exit_code == 130 and len(messages) == 1
    assert result.output.splitlines()[-2:] == [
        "interrupted: sent 1 email",
        f"the rest wait: `tailor send --campaign {campaign_id}` sends them; a draft whose email was in hand may have "
        "gone, and goes back to review",
    ]


def test_ctrl_c_on_a_training_says_which_steps_it_finished_and_which_models_stay(engine, demo_files, monkeypatch):
    """`tailor train` stopped by Ctrl-C in its recommender step said nothing, though its audience step had committed
    new profiles: its job's result kept what was done and what was not."""
    from service import cli
    from service.importing import import_frame, read_table

    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            import_frame(session, kind, read_table(demo_files[kind]))
    monkeypatch.setattr(cli, "command_engine", lambda: engine)

    def interrupted_in_the_recommender_step(self, done: int, total: int, message: str = "") -> None:
        if message.startswith("training recommender"):
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._BarUpdate, "__call__", interrupted_in_the_recommender_step)
    result = CliRunner().invoke(cli.app, ["train"])

    assert result.exit_code == 130
    lines = result.output.splitlines()
    assert lines[0].startswith("audience: ")  # the step done, said as a finished training says it
    assert lines[1:] == [
        "interrupted: recommender, engagement not trained; their versions in use, if any, stay: `tailor train` "
        "trains them"
    ]


def test_ctrl_c_during_an_import_says_nothing_of_the_file_was_written(engine, demo_files, monkeypatch):
    """`tailor import orders` stopped by Ctrl-C as its rows were written ended silently: whether part of the file
    was imported, to be imported again or cleaned up, the person could not tell. Nothing of it is written."""
    from service import cli

    def interrupted_once_rows_are_read(self, done: int, total: int, message: str = "") -> None:
        if done:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._BarUpdate, "__call__", interrupted_once_rows_are_read)
    result = _import_orders(engine, demo_files, monkeypatch)

    assert result.exit_code == 130
    assert _orders_kept(engine) == 0
    assert result.output.splitlines() == ["interrupted: nothing of orders.csv was imported"]


def test_ctrl_c_as_an_imports_bar_closes_says_the_file_was_imported(engine, demo_files, monkeypatch):
    """The import commits as its block ends, and its bar closes after: Ctrl-C then said "nothing of orders.csv was
    imported" of a file imported whole, which importing again would answer "nothing changed"."""
    from rich.progress import Progress

    closing = Progress.stop

    def interrupted_as_it_closes(self) -> None:
        closing(self)
        raise KeyboardInterrupt  # Ctrl-C as the bar is put away, the rows committed

    monkeypatch.setattr(Progress, "stop", interrupted_as_it_closes)
    result = _import_orders(engine, demo_files, monkeypatch)

    assert result.exit_code == 130
    assert _orders_kept(engine) > 0
    assert result.output.splitlines() == [
        "interrupted: orders.csv was imported, but the audience was not recomputed; `tailor audience refresh` "
        "recomputes it"
    ]


def test_ctrl_c_on_a_due_check_says_what_each_campaign_before_it_mailed(engine, mail_server, monkeypatch):
    """`tailor send-due` (from cron, or run by hand) stopped by Ctrl-C once its first campaign was mailed said
    nothing, and its job's result forgot that campaign's emails: only a send stopped in its own emails kept any."""
    from service import cli
    from service.db.models import Job
    from tests.service.conftest import free_port
    from tests.service.test_cli_send_due import campaign_with_drafts

    controller, messages = mail_server
    autumn = campaign_with_drafts(engine, "autumn", due=2)
    campaign_with_drafts(engine, "winter", due=1)
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", f"http://127.0.0.1:{free_port()}")

    def interrupted_after_the_first_campaign(self, done: int, total: int, message: str = "") -> None:
        if message == f"campaign {autumn}":
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._BarUpdate, "__call__", interrupted_after_the_first_campaign)
    result = CliRunner().invoke(cli.app, ["send-due", "--unchecked-links"])

    assert result.exit_code == 130 and len(messages) == 2
    said = [line for line in result.output.splitlines() if not line.startswith("warning: ")]  # the links' warning
    assert said == [
        f"campaign {autumn}:",
        "  sent 2 emails",
        "interrupted: the drafts not sent wait for the next `tailor send-due`",
    ]
    with session_scope(engine) as session:
        job = session.query(Job).filter_by(kind="send_due").one()
    assert job.status == "cancelled" and job.result["campaigns"][str(autumn)]["sent"] == 2
