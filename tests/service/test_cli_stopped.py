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
