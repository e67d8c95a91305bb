"""The Alembic migrations build the models' schema on SQLite and on a real PostgreSQL, and go back down."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import JSON, MetaData, Table, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from service.campaigns import ensure_brand
from service.db.link_keys import key_digest, link_key_digest
from service.db.migrate import downgrade, head_revision, upgrade
from service.db.models import PROFILE_COLUMNS, Base, ConsentChange, Customer, Draft, ErasedSend, Job, Send, Variant
from service.db.session import make_engine, session_scope
from service.db.wait_end_drafts import mark_wait_end_drafts
from service.db.zone_names import rename_country_zones
from service.zone_moves import move_to_new_zones
from service.zones import gives_the_zone
from tests.service.conftest import new_postgres_database


def _assert_schema_matches_models(engine) -> None:
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspect(engine).get_columns(name)}
        assert columns == {c.name for c in table.columns}, name
    # and each table's keys and indexes, which a table rebuilt on SQLite (batch mode) could lose unseen
    inspector = inspect(engine)
    for name, table in Base.metadata.tables.items():
        assert _stored_shape(inspector, name) == _model_shape(table), name


def _model_shape(table) -> dict[str, set]:
    """A table of the models: its columns and whether each takes NULL, its primary key, foreign keys (with what a
    deletion of the row they refer to does), indexes and unique constraints."""
    return {
        "columns": {(column.name, column.nullable) for column in table.columns},
        "primary key": {column.name for column in table.primary_key.columns},
        "foreign keys": {
            (
                tuple(key.column_keys),
                key.referred_table.name,
                tuple(element.column.name for element in key.elements),
                (key.ondelete or "").upper() or None,
            )
            for key in table.foreign_key_constraints
        },  # fmt: skip
        "indexes": {
            (index.name, tuple(column.name for column in index.columns), index.unique) for index in table.indexes
        },
        "unique constraints": {
            tuple(column.name for column in constraint.columns)
            for constraint in table.constraints
            if isinstance(constraint, sa.UniqueConstraint)
        },
    }


def _stored_shape(inspector, name: str) -> dict[str, set]:
    """The table ``name`` as the database has it, told as ``_model_shape`` tells a table of the models."""
    return {
        "columns": {(column["name"], column["nullable"]) for column in inspector.get_columns(name)},
        "primary key": set(inspector.get_pk_constraint(name)["constrained_columns"]),
        "foreign keys": {
            (
                tuple(key["constrained_columns"]),
                key["referred_table"],
                tuple(key["referred_columns"]),
                ((key.get("options") or {}).get("ondelete") or "").upper() or None,
            )
            for key in inspector.get_foreign_keys(name)
        },  # fmt: skip
        "indexes": {
            (index["name"], tuple(index["column_names"]), bool(index["unique"]))
            for index in inspector.get_indexes(name)
            if not index.get("duplicates_constraint")  # PostgreSQL's index of a unique constraint
        },
        "unique constraints": {tuple(unique["column_names"]) for unique in inspector.get_unique_constraints(name)},
    }


def test_sqlite_upgrade_and_downgrade(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    _assert_schema_matches_models(engine)
    downgrade(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


def test_order_lines_keep_their_rows_when_discounts_arrive(tmp_path, request):
    """0006 rebuilds the interactions table on SQLite (batch mode): existing lines survive, without a discount."""
    engine = _database("sqlite", tmp_path, request, "m", at="0005")
    now = datetime(2026, 1, 1)
    rows = {
        "customers": {
            "external_id": "c1", "email": "a@example.com", "first_name": "", "locale": "en",
            "marketing_consent": True, "unsubscribed": False, "attributes": {}, "profile": {},
            "created_at": now, "updated_at": now,
        },
        "products": {
            "sku": "T1", "name": "Tea", "category": "tea", "price": 5.0, "currency": "EUR", "description": "",
            "url": "", "in_stock": True, "created_at": now, "updated_at": now,
        },
        "interactions": {
            "order_id": "o1", "customer_id": 1, "product_id": 1, "quantity": 1.0, "amount": 5.0, "timestamp": now,
            "kind": "purchase",
        },
    }  # fmt: skip
    with engine.begin() as connection:
        for name, row in rows.items():
            connection.execute(insert(Table(name, MetaData(), autoload_with=connection)), row)
    upgrade(engine)
    with engine.connect() as connection:
        lines = connection.execute(text("SELECT order_id, amount, discount FROM interactions")).all()
    assert [tuple(line) for line in lines] == [("o1", 5.0, None)]
    downgrade(engine, "0005")
    assert "discount" not in {column["name"] for column in inspect(engine).get_columns("interactions")}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_profile_columns_are_copied_from_the_profiles_already_stored(backend, tmp_path, request):
    """0010 adds the columns an audience is chosen from and fills them from the profiles the last refresh wrote;
    a customer without a profile keeps NULLs."""
    engine = _database(backend, tmp_path, request, "profiles", at="0009")
    now = datetime(2026, 1, 1)
    profile = {
        "as_of": "2026-11-01", "recency_days": 5, "frequency": 2, "monetary": 82.59, "r_score": 5,
        "rfm_segment": "potential_loyalists", "cluster": 0, "cluster_label": "newer, recent customers",
        "p_alive": 0.864, "churn_risk": 0.195, "clv": 71.9, "next_purchase_date": "2026-11-29", "reasons": {},
    }  # fmt: skip
    customers = [
        {"external_id": external_id, "email": f"{external_id}@example.com", "first_name": "", "locale": "en",
         "marketing_consent": True, "unsubscribed": False, "attributes": {}, "segment": segment, "profile": stored,
         "created_at": now, "updated_at": now}
        for external_id, segment, stored in (("c1", "potential_loyalists", profile), ("c2", None, {}))
    ]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(Table("customers", MetaData(), autoload_with=connection)), customers)
    upgrade(engine)
    with engine.connect() as connection:
        stored = Table("customers", MetaData(), autoload_with=connection)
        rows = connection.execute(select(stored).order_by(stored.c.id)).mappings().all()
    assert {name: rows[0][name] for name in PROFILE_COLUMNS} == {
        "recency_days": 5, "frequency": 2, "monetary": 82.59, "churn_risk": 0.195, "clv": 71.9, "p_alive": 0.864,
        "next_purchase_date": date(2026, 11, 29), "cluster": 0, "cluster_label": "newer, recent customers",
    }  # fmt: skip
    assert all(rows[1][name] is None for name in PROFILE_COLUMNS)
    downgrade(engine, "0009")
    assert not set(PROFILE_COLUMNS) & {column["name"] for column in inspect(engine).get_columns("customers")}
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_events_keep_their_rows_and_are_told_apart_by_their_ids_after_0016(backend, tmp_path, request):
    """0016 drops the one-event-per-send-kind-and-moment constraint (a rebuild of the table on SQLite): the events
    recorded survive, two events with their own ids may share a moment, an id is recorded once per send, and an
    event without one keeps the old rule. Going down keeps the first event of each moment."""
    engine = _database(backend, tmp_path, request, "events", at="0015")
    now = datetime(2026, 1, 1)
    customer = {
        "external_id": "c1", "email": "a@example.com", "first_name": "", "locale": "en", "marketing_consent": True,
        "unsubscribed": False, "attributes": {}, "profile": {}, "created_at": now, "updated_at": now,
    }  # fmt: skip
    send = {"customer_id": 1, "subject": "Hi", "preheader": "", "intro": "", "campaign_type": "vip", "locale": "en",
            "segment": "", "n_products": 0, "mean_price": 0.0, "sent_at": now}  # fmt: skip
    opened = {"send_id": 1, "kind": "open", "occurred_at": now}
    with engine.begin() as connection:
        for name, row in (("customers", customer), ("sends", send), ("events", opened)):
            connection.execute(insert(Table(name, MetaData(), autoload_with=connection)), row)
    upgrade(engine)
    bought = {"send_id": 1, "kind": "conversion", "occurred_at": now, "value": 10.0}
    with engine.begin() as connection:
        events = Table("events", MetaData(), autoload_with=connection)
        connection.execute(insert(events), [{**bought, "external_id": "e1"}, {**bought, "external_id": "e2"}])
    for again in ({**bought, "external_id": "e1"}, opened):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert(events), again)
    with engine.connect() as connection:
        rows = connection.execute(select(events.c.kind, events.c.external_id).order_by(events.c.id)).all()
    assert [tuple(row) for row in rows] == [("open", None), ("conversion", "e1"), ("conversion", "e2")]
    downgrade(engine, "0015")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT kind, value FROM events ORDER BY id")).all() == [
            ("open", None), ("conversion", 10.0)
        ]  # fmt: skip
    assert "external_id" not in {column["name"] for column in inspect(engine).get_columns("events")}
    engine.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_and_downgrade(postgres_url):
    engine = make_engine(postgres_url)
    for _ in range(20):
        try:
            upgrade(engine)
            break
        except Exception:  # the server may still be starting
            time.sleep(0.5)
    _assert_schema_matches_models(engine)
    downgrade(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    engine.dispose()


def test_migration_files_are_the_only_schema_source():
    versions = Path(__file__).resolve().parents[2] / "service" / "db" / "migrations" / "versions"
    assert sorted(p.name for p in versions.glob("*.py"))[0].startswith("0001_")


def test_a_new_sqlite_database_is_readable_by_its_user_alone(tmp_path):
    """The database holds the shop's customers and was created 0644, readable by every user of the machine."""
    from service.db.migrate import upgrade
    from service.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'shop' / 'tailor.db'}")
    upgrade(engine)
    engine.dispose()
    assert (tmp_path / "shop" / "tailor.db").stat().st_mode & 0o777 == 0o600


def test_an_existing_database_others_may_read_keeps_its_mode_with_a_warning(tmp_path, caplog):
    """A database file made before, or by another tool, readable by every user: its permissions are the admin's
    to change, and nothing said they let others read the shop's customers."""
    from service.db.session import make_engine

    path = tmp_path / "tailor.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    with caplog.at_level("WARNING", logger="tailor.db"):
        make_engine(f"sqlite:///{path}").dispose()
    assert path.stat().st_mode & 0o777 == 0o644
    (record,) = [r for r in caplog.records if "chmod 600" in r.getMessage()]
    assert (record.path, record.mode) == (str(path), "0o644")
    caplog.clear()
    path.chmod(0o600)
    make_engine(f"sqlite:///{path}").dispose()
    assert not caplog.records


NOW = datetime(2026, 1, 1)


def old_campaign(session) -> int:
    """A sent campaign's id, written in columns every revision has (the model's own has later ones)."""
    values = {"b": ensure_brand(session, "hearth").id, "t": NOW}
    row = "VALUES ('c', :b, 'vip', 'sent', '{}', '{}', :t)"
    session.execute(
        text(f"INSERT INTO campaigns (name, brand_id, campaign_type, status, stats, forecast, created_at) {row}"),
        values,
    )
    return session.scalar(text("SELECT max(id) FROM campaigns"))


OLD_CUSTOMER = {
    "external_id": "c1", "email": "a@example.com", "first_name": "", "locale": "en", "marketing_consent": True,
    "unsubscribed": False, "attributes": {}, "profile": {}, "created_at": NOW, "updated_at": NOW,
}  # fmt: skip
OLD_SEND = {
    "subject": "Hi", "preheader": "", "intro": "", "campaign_type": "vip", "locale": "en", "segment": "",
    "n_products": 0, "mean_price": 0.0, "sent_at": NOW,
}  # fmt: skip


def _database(backend: str, tmp_path: Path, request, name: str, at: str | None = None):
    """A database of ``backend``: a SQLite file, or a new PostgreSQL database named after ``name``; empty, or with
    ``at`` a copy of one this process migrated from nothing to that revision (``_migrated_to``)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        if at is not None:
            migrated = _migrated_to(backend, request, at)
            with closing(sqlite3.connect(migrated)) as source, closing(sqlite3.connect(tmp_path / "m.db")) as copy:
                source.backup(copy)
        return engine
    server = request.getfixturevalue("postgres_url")
    return new_postgres_database(server, name, template=None if at is None else _migrated_to(backend, request, at))


# Databases migrated from nothing to a revision, kept untouched to be copied: (backend, revision) -> SQLite file, or
# PostgreSQL database.
_MIGRATED: dict[tuple[str, str], str] = {}


def _migrated_to(backend: str, request, revision: str) -> str:
    """The SQLite file, or the PostgreSQL database's name, that this process migrated from nothing to ``revision``:
    made once, from a copy of the one at the nearest revision below it made before. Each test of a migration migrated
    a new database from nothing to the revision before it (0.1-0.4 s of CPU each); the migrations up to it are each
    proven once here, and by the tests that upgrade or downgrade a database of their own from nothing."""
    if (backend, revision) in _MIGRATED:
        return _MIGRATED[backend, revision]
    below = max((kept for (where, kept) in _MIGRATED if where == backend and kept < revision), default=None)
    if backend == "sqlite":
        path = request.getfixturevalue("tmp_path_factory").getbasetemp() / "migrated_to" / f"{revision}.db"
        engine = make_engine(f"sqlite:///{path}")
        if below is not None:
            with closing(sqlite3.connect(_MIGRATED[backend, below])) as source, closing(sqlite3.connect(path)) as copy:
                source.backup(copy)
        kept = str(path)
    else:
        server = request.getfixturevalue("postgres_url")
        engine = new_postgres_database(server, f"at_{revision}", template=below and _MIGRATED[backend, below])
        kept = engine.url.database
    upgrade(engine, revision)
    engine.dispose()  # a PostgreSQL database is copied only while no one is connected to it
    _MIGRATED[backend, revision] = kept
    return kept


def old_row(session, table_name: str, /, **values) -> int:
    """A row written as the table is at the database's revision (the models have later columns), and its id."""
    table = Table(table_name, MetaData(), autoload_with=session.connection())
    return session.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()


def old_draft(session, campaign_id: int, customer_id: int) -> int:
    """A sent draft written as the drafts table is at the database's revision; its id."""
    return old_row(
        session, "drafts", campaign_id=campaign_id, customer_id=customer_id, status="sent", flagged=False,
        flag_reasons=[], audience_reason="", recommendations=[], created_at=NOW, updated_at=NOW,
    )  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_draft_sent_twice_before_0021_keeps_its_first_send_and_the_others_their_rows(backend, tmp_path, request):
    """0021 makes a second send of a draft impossible; the doubles two servers sent before stay, without the draft."""
    engine = _database(backend, tmp_path, request, "claims", at="0020")
    with session_scope(engine) as session:  # a draft sent twice, as two servers did, and a send of history
        customer_id = old_row(session, "customers", **OLD_CUSTOMER)
        draft_id = old_draft(session, old_campaign(session), customer_id)
        for sent_for in (draft_id, draft_id, None):
            old_row(session, "sends", customer_id=customer_id, draft_id=sent_for, **OLD_SEND)
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, draft_id FROM sends ORDER BY id")).all() == [
            (1, draft_id), (2, None), (3, None)
        ]  # fmt: skip
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Send(customer_id=1, draft_id=draft_id, subject="Hi", campaign_type="vip", sent_at=NOW))
    downgrade(engine, "0020")
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sends_drafts_and_variants_keep_their_rows_and_never_give_an_id_twice_after_0022(backend, tmp_path, request):
    """0022 rebuilds sends, drafts and variants with AUTOINCREMENT on SQLite (PostgreSQL's sequences never gave an id
    twice): the rows survive with everything that refers to them (a rebuild with foreign keys on deleted the
    events, variants and reviews), and the id of the newest row, once deleted, is not given again."""
    engine = _database(backend, tmp_path, request, "autoincrement", at="0021")
    with session_scope(engine) as session:
        customer_id = old_row(session, "customers", **OLD_CUSTOMER)
        campaign_id = old_campaign(session)
        draft_id = old_draft(session, campaign_id, customer_id)
        variant = Variant(draft_id=draft_id, label="A", subject="Hi")
        session.add(variant)
        session.flush()
        review = (
            "INSERT INTO reviews (draft_id, action, reviewer, comment, created_at) VALUES (:d, 'approve', '', '', :t)"
        )
        session.execute(text(review), {"d": draft_id, "t": NOW})  # as 0021 holds a review: no later column
        links_of_send = {"campaign_id": campaign_id, "draft_id": draft_id, "variant_id": variant.id}
        send_id = old_row(session, "sends", customer_id=customer_id, **links_of_send, **OLD_SEND)
        old_row(session, "events", send_id=send_id, kind="open", occurred_at=NOW)
    counts = "SELECT (SELECT COUNT(*) FROM variants), (SELECT COUNT(*) FROM reviews), (SELECT COUNT(*) FROM events)"
    links = "SELECT draft_id, variant_id FROM sends"
    upgrade(engine)
    with engine.begin() as connection:
        assert tuple(connection.execute(text(counts)).one()) == (1, 1, 1)
        assert tuple(connection.execute(text(links)).one()) == (draft_id, variant.id)
        connection.execute(text("DELETE FROM sends"))
    with session_scope(engine) as session:
        again = Send(customer_id=customer_id, subject="Hi", campaign_type="vip", sent_at=NOW)
        session.add(again)
        session.flush()
        assert again.id > send_id
    downgrade(engine, "0021")
    with engine.connect() as connection:
        assert tuple(connection.execute(text(counts)).one()) == (1, 1, 0)  # the send's events went with it
    engine.dispose()


def test_every_table_whose_ids_are_never_reused_keeps_autoincrement_at_the_head(tmp_path, request):
    """A later migration's batch that rebuilt drafts on SQLite (a column added with an expression for its default)
    dropped the AUTOINCREMENT 0022 gave it: a draft replaced by generating again gave its id to the new draft, and a
    client holding the old id was shown the new one."""
    engine = _database("sqlite", tmp_path, request, "m", at=head_revision())
    never_reused = [name for name, table in Base.metadata.tables.items() if table.kwargs.get("sqlite_autoincrement")]
    assert {"drafts", "variants", "sends"} <= set(never_reused)
    with engine.connect() as connection:
        for name in never_reused:
            created = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}).scalar()
            assert "AUTOINCREMENT" in created, name
    engine.dispose()


MIGRATE_AT = """
import sys, time
from service.db.migrate import upgrade
from service.db.session import make_engine
engine = make_engine(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all start together
upgrade(engine)
print("migrated")
"""


def _migrate_together(url: str, processes: int = 3) -> list:
    import subprocess
    import sys

    from tests.forked_cli import popen

    start = time.time() + 3
    running = [
        popen(
            [sys.executable, "-c", MIGRATE_AT, url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            tailor_imported=True,  # it replaces nothing before importing Tailor's modules
        )  # fmt: skip
        for _ in range(processes)
    ]
    return [(process.wait(120), *process.communicate()) for process in running]


@pytest.mark.postgres
def test_processes_that_start_together_migrate_one_after_the_other_on_postgres(postgres_url):
    """A server and a command started together on a new database: all but one stopped with a traceback
    (a duplicate alembic_version row, or a duplicate column from the same migration run twice)."""
    from tests.service.conftest import new_postgres_database

    engine = new_postgres_database(postgres_url, "migrate_together")
    url = engine.url.render_as_string(hide_password=False)
    for code, out, err in _migrate_together(url):
        assert code == 0 and out.strip() == "migrated", err[-2000:]
    _assert_schema_matches_models(engine)
    engine.dispose()


def test_a_process_reads_each_revision_s_module_once(tmp_path, monkeypatch):
    """Each upgrade and downgrade read every revision's module afresh and built the map of which follows which
    (Alembic's commands read them at each call): some 20 ms of CPU for each database a test, a command or a server
    migrated. A process reads them once; migrations/env.py, which migrates, still runs at each."""
    import alembic.util

    loaded = []
    load_python_file = alembic.util.load_python_file

    def counted(directory, filename):
        loaded.append(filename)
        return load_python_file(directory, filename)

    upgrade(make_engine(f"sqlite:///{tmp_path / 'first.db'}"), "0001")  # the process's first may read them
    monkeypatch.setattr(alembic.util, "load_python_file", counted)
    engine = make_engine(f"sqlite:///{tmp_path / 'second.db'}")
    upgrade(engine, "0003")
    downgrade(engine, "0002")
    assert loaded == ["env.py", "env.py"]
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
    engine.dispose()


def test_an_alembic_without_the_steps_its_commands_ask_for_migrates_by_its_commands(tmp_path, monkeypatch):
    """The migrations read once ask Alembic's ScriptDirectory for the steps its commands ask for, by a method it does
    not document: an Alembic without it migrates, up and down, by its own commands."""
    from service.db import migrate

    class WithoutTheSteps:
        def __init__(self, script) -> None:
            self._script = script

        def __getattr__(self, name: str):
            if name in ("_upgrade_revs", "_downgrade_revs"):
                raise AttributeError(name)
            return getattr(self._script, name)

    read_once = migrate._migrations()
    monkeypatch.setattr(migrate, "_migrations", lambda: WithoutTheSteps(read_once))
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    _assert_schema_matches_models(engine)
    downgrade(engine, "0002")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
    engine.dispose()


def test_a_table_rebuilt_on_sqlite_is_read_alone_and_keeps_its_keys_and_indexes(tmp_path, request, monkeypatch):
    """0022 rebuilds drafts, variants and sends on SQLite (batch mode). Reading each of them read every table its
    foreign keys name, and theirs in turn (campaigns, customers, brands...), which a rebuild never uses: a quarter
    of the CPU of an upgrade and downgrade on SQLite. Each is read alone, and rebuilt whole, up and down."""
    from sqlalchemy.engine.reflection import Inspector

    read = []
    reflect_table = Inspector.reflect_table

    def counted(inspector, table, *args, **kwargs):
        read.append(table.name)
        return reflect_table(inspector, table, *args, **kwargs)

    engine = _database("sqlite", tmp_path, request, "m", at="0021")
    monkeypatch.setattr(Inspector, "reflect_table", counted)
    upgrade(engine, "0022")
    assert read == ["drafts", "variants", "sends"]
    downgrade(engine, "0021")
    assert read == ["drafts", "variants", "sends"] * 2
    monkeypatch.undo()
    upgrade(engine)
    _assert_schema_matches_models(engine)
    engine.dispose()


def test_reading_the_migrations_loads_no_model_library():
    """Every process that migrates reads each revision's module: one imported the contact policy for a string, and
    with it scipy and pandas, 2 s of CPU in `tailor db upgrade` and in each test's process that migrated."""
    import subprocess
    import sys

    # started, not forked (tests/forked_cli.py): the forked script's zygote has imported those libraries already
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from service.db.migrate import head_revision; head_revision(); "
         "print(*[m for m in ('scipy', 'pandas', 'sklearn', 'service.pipeline') if m in sys.modules])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert loaded.stdout.split() == []


def test_processes_that_start_together_migrate_one_after_the_other_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'tailor.db'}"
    for code, out, err in _migrate_together(url):
        assert code == 0 and out.strip() == "migrated", err[-2000:]


@pytest.mark.postgres
def test_a_postgres_database_that_lowers_ascii_only_is_told(postgres_url):
    """A database of character type C lowers ASCII letters only: an unsubscribe under "Ольга@Пример.рф" left
    "ольга@пример.рф" subscribed under another id, and nothing said why."""
    from sqlalchemy import text

    from service.db.session import case_folding_problem, make_engine

    server = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text("CREATE DATABASE ctype_c TEMPLATE template0 LC_CTYPE 'C' LC_COLLATE 'C'"))
        connection.execute(
            text("CREATE DATABASE ctype_utf8 TEMPLATE template0 LC_CTYPE 'C.UTF-8' LC_COLLATE 'C.UTF-8'")
        )
    server.dispose()
    base = postgres_url.rsplit("/", 1)[0]
    ascii_only, every_alphabet = make_engine(f"{base}/ctype_c"), make_engine(f"{base}/ctype_utf8")
    problem = case_folding_problem(ascii_only)
    assert problem is not None and problem.startswith("the database's character type (C) lowers ASCII letters only")
    assert case_folding_problem(every_alphabet) is None

    # Addresses are compared by keys folded in Python: on such a database too, an unsubscribe under one spelling
    # stops the other id's mail, and an email to one spelling counts for the other in the contact policy.
    from datetime import datetime, timedelta

    from service.addresses import stop_shared_addresses
    from service.db.migrate import upgrade
    from service.db.models import Customer, Send
    from service.db.session import session_scope
    from service.pipeline.contact_policy import addresses_mailed_since

    upgrade(ascii_only)
    with session_scope(ascii_only) as session:
        olga = Customer(external_id="o-1", email="Ольга@Пример.рф", marketing_consent=True, unsubscribed=True)
        same = Customer(external_id="o-2", email="ольга@пример.рф", marketing_consent=True)
        session.add_all([olga, same])
        session.flush()
        assert stop_shared_addresses(session, [olga.id]) == {same.id} and same.unsubscribed
        session.add(
            Send(customer=olga, subject="Hi", campaign_type="vip", sent_at=datetime(2026, 5, 1), to_email=olga.email)
        )
        session.flush()
        mailed = addresses_mailed_since(session, datetime(2026, 5, 1) - timedelta(days=1), among={"ольга@пример.рф"})
        assert list(mailed) == ["ольга@пример.рф"]
    ascii_only.dispose()
    every_alphabet.dispose()


def _tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())


def test_a_sqlite_migration_stopped_half_way_leaves_the_database_as_it_was(tmp_path, request):
    """SQLite's driver commits each schema statement at once: a migration stopped after CREATE TABLE left a table its
    revision did not record, and every later start failed with "table replaced_drafts already exists"."""
    from sqlalchemy import event

    engine = _database("sqlite", tmp_path, request, "m", at="0026")

    def stop_half_way(connection, cursor, statement, *args):
        if statement.startswith("CREATE INDEX ix_replaced_drafts_campaign_id"):
            raise KeyboardInterrupt  # Ctrl-C, after the table was created and committed

    event.listen(engine, "before_cursor_execute", stop_half_way)
    with pytest.raises(KeyboardInterrupt):
        upgrade(engine)
    event.remove(engine, "before_cursor_execute", stop_half_way)
    with engine.connect() as connection:
        revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert "replaced_drafts" not in _tables(engine) and revision == "0026"
    assert not (tmp_path / "m.db.pre-migration").exists()
    upgrade(engine)  # the next start migrates as if nothing had happened
    assert "replaced_drafts" in _tables(engine)
    engine.dispose()


def test_a_sqlite_migration_whose_process_was_killed_is_undone_at_the_next_start(tmp_path, request):
    """A kill leaves the copy made before the migration: the next start puts it back and migrates again."""
    engine = _database("sqlite", tmp_path, request, "m", at="0026")
    with session_scope(engine) as session:
        old_row(session, "customers", **{**OLD_CUSTOMER, "external_id": "kept"})
    engine.dispose()
    with closing(sqlite3.connect(tmp_path / "m.db")) as db, closing(sqlite3.connect(tmp_path / "m.db.pre-0")) as copy:
        db.backup(copy)
    (tmp_path / "m.db.pre-0").rename(tmp_path / "m.db.pre-migration")
    with engine.begin() as connection:  # what the killed migration had committed of 0027
        connection.exec_driver_sql("CREATE TABLE replaced_drafts (draft_id INTEGER PRIMARY KEY)")
    upgrade(engine)
    with session_scope(engine) as session:
        assert session.scalar(select(Customer.external_id)) == "kept"
    assert not (tmp_path / "m.db.pre-migration").exists()
    engine.dispose()


def test_a_start_on_a_database_at_the_head_runs_no_migration_but_still_waits_for_one_and_puts_a_stopped_one_back(
    tmp_path, request, monkeypatch
):
    """An upgrade of a database already at the head ran Alembic all the same, which loaded migrations/env.py and every
    revision's module afresh to do nothing: some 0.2 s of CPU at each command's and server's start. Alembic still runs
    for a database behind, and for one at the head beside the copy a migration killed after it wrote its revision
    left: the copy is put back first, and migrated. A start waits for a migration running in another process."""
    import fcntl
    import threading

    from alembic.script import ScriptDirectory

    from service.db.migrate import migration_lock_file, pre_migration_copy

    runs = []
    run_env = ScriptDirectory.run_env

    def counted(script_directory) -> None:
        runs.append(script_directory)
        run_env(script_directory)

    def revision() -> str:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    engine = _database("sqlite", tmp_path, request, "m", at=head_revision())
    monkeypatch.setattr(ScriptDirectory, "run_env", counted)
    upgrade(engine)
    assert (len(runs), revision()) == (0, head_revision())
    with migration_lock_file(tmp_path / "m.db").open("a") as lock:  # another process migrating
        fcntl.flock(lock, fcntl.LOCK_EX)
        starting = threading.Thread(target=upgrade, args=(engine,))
        starting.start()
        starting.join(0.5)
        assert starting.is_alive()
    starting.join(30)
    assert not starting.is_alive() and len(runs) == 0

    downgrade(engine, "0055")
    upgrade(engine)
    assert (len(runs), revision()) == (2, head_revision())

    downgrade(engine, "0055")
    with session_scope(engine) as session:
        old_row(session, "customers", **{**OLD_CUSTOMER, "external_id": "in_the_copy"})
    engine.dispose()
    copy = pre_migration_copy(tmp_path / "m.db")
    with closing(sqlite3.connect(tmp_path / "m.db")) as db, closing(sqlite3.connect(tmp_path / "m.db.pre-0")) as kept:
        db.backup(kept)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM customers")
    upgrade(engine)
    assert (len(runs), revision()) == (4, head_revision())
    (tmp_path / "m.db.pre-0").rename(copy)  # killed once 0056 was recorded, before the copy was removed
    upgrade(engine)
    assert (len(runs), revision()) == (5, head_revision()) and not copy.exists()
    with session_scope(engine) as session:
        assert session.scalar(select(Customer.external_id)) == "in_the_copy"
    engine.dispose()


def test_a_campaign_s_figures_and_the_job_list_read_by_index_after_0030(tmp_path, request):
    """A campaign's figures read every send and event stored (GET /campaigns took 2.2 s for 13 campaigns over
    210,000 sends), and the job list the whole jobs table, which is never pruned."""
    engine = _database("sqlite", tmp_path, request, "m", at=head_revision())
    with engine.connect() as connection:

        def plan(query: str) -> str:
            return " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}")))

        assert "ix_sends_campaign_id" in plan("SELECT count(*) FROM sends WHERE campaign_id = 1")
        joined = plan(
            "SELECT e.kind, count(DISTINCT e.send_id) FROM events e JOIN sends s ON s.id = e.send_id "
            "WHERE s.campaign_id = 1 GROUP BY e.kind"
        )
        assert "ix_sends_campaign_id" in joined and "SCAN s " not in f"{joined} "
        assert "ix_jobs_created_at" in plan("SELECT id FROM jobs ORDER BY created_at DESC LIMIT 20")
        assert "ix_jobs_status" in plan("SELECT id FROM jobs WHERE status IN ('queued', 'running', 'cancelling')")
    downgrade(engine, "0029")
    assert "ix_sends_campaign_id" not in {index["name"] for index in inspect(engine).get_indexes("sends")}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_stored_addresses_get_their_keys_and_an_index_after_0031(backend, tmp_path, request):
    """0031 keeps each customer's address and each send's as addresses are compared, folded in Python: comparing
    ``lower(email)`` in SQL read the whole customers table on every unsubscribe, and folded ASCII only on a
    PostgreSQL of character type C."""
    engine = _database(backend, tmp_path, request, "address_keys", at="0030")
    with session_scope(engine) as session:
        olga = old_row(session, "customers", **{**OLD_CUSTOMER, "email": " Ольга@Пример.РФ "})
        blank = old_row(session, "customers", **{**OLD_CUSTOMER, "external_id": "c2", "email": ""})
        old_row(session, "sends", customer_id=olga, to_email="Ольга@Пример.РФ", **OLD_SEND)
        old_row(session, "sends", customer_id=blank, to_email=None, **OLD_SEND)
    upgrade(engine)
    with engine.connect() as connection:
        keys = connection.execute(text("SELECT external_id, email_key FROM customers ORDER BY id")).all()
        assert [tuple(k) for k in keys] == [("c1", "ольга@пример.рф"), ("c2", "")]
        sent = connection.execute(text("SELECT to_email_key FROM sends ORDER BY id")).scalars().all()
        assert sent == ["ольга@пример.рф", None]
    assert "ix_customers_email_key" in {index["name"] for index in inspect(engine).get_indexes("customers")}
    downgrade(engine, "0030")
    assert "email_key" not in {column["name"] for column in inspect(engine).get_columns("customers")}
    engine.dispose()


def test_stored_products_are_recommendable_after_0032(tmp_path, request):
    """0032 lets a catalog mark postage or a fee as no merchandise; every product stored before stays offered."""
    engine = _database("sqlite", tmp_path, request, "m", at="0031")
    product = {
        "sku": "T1", "name": "Tea", "category": "tea", "price": 5.0, "currency": "EUR", "description": "", "url": "",
        "in_stock": True, "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    with session_scope(engine) as session:
        old_row(session, "products", **product)
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT sku, recommendable FROM products")).all() == [("T1", 1)]
    downgrade(engine, "0031")
    engine.dispose()


def test_each_product_s_buyers_are_read_from_an_index_after_0033(tmp_path, request):
    """The re-order products (who bought each product, and again) and their buyers sorted every order line: the
    replenishment preview took 6.4 s on Online Retail's 787,000 lines."""
    engine = _database("sqlite", tmp_path, request, "m", at=head_revision())
    with engine.connect() as connection:

        def plan(query: str) -> str:
            return " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}")))

        spans = plan(
            "SELECT product_id, customer_id, max(timestamp) > min(timestamp) FROM interactions "
            "WHERE kind = 'purchase' GROUP BY product_id, customer_id"
        )
        assert "COVERING INDEX ix_interactions_product_customer" in spans and "TEMP B-TREE" not in spans
        buyers = plan("SELECT DISTINCT customer_id FROM interactions WHERE kind = 'purchase' AND product_id IN (1, 2)")
        assert "COVERING INDEX ix_interactions_product_customer" in buyers
    downgrade(engine, "0032")
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_tailor_s_own_sends_to_customers_without_orders_name_their_segment_after_0034(backend, tmp_path, request):
    """A send Tailor made to a customer without orders stored the segment "", which scoring read as a segment of its
    own ("the  segment" in a reason); an imported send's empty segment means the file did not say, and stays."""
    engine = _database(backend, tmp_path, request, "sends_segment", at="0033")
    with session_scope(engine) as session:
        customer = old_row(session, "customers", **OLD_CUSTOMER)
        old_row(session, "sends", customer_id=customer, **OLD_SEND)  # Tailor's: no external id
        old_row(session, "sends", customer_id=customer, external_id="s1", **OLD_SEND)  # imported
        old_row(session, "sends", customer_id=customer, **{**OLD_SEND, "segment": "champions"})
    upgrade(engine)
    with engine.connect() as connection:
        segments = connection.execute(text("SELECT segment FROM sends ORDER BY id")).scalars().all()
        assert segments == ["no_orders", "", "champions"]
    downgrade(engine, "0033")
    with engine.connect() as connection:
        segments = connection.execute(text("SELECT segment FROM sends ORDER BY id")).scalars().all()
        assert segments == ["", "", "champions"]
    engine.dispose()


def test_an_upgrade_says_from_which_revision_to_which_and_a_start_with_nothing_to_migrate_says_nothing(
    tmp_path, request
):
    """A shop upgrading Tailor saw no line in the server's log that its database had been migrated, nor from which
    revision: the one thing to know before rolling back (``downgrade`` to it)."""
    import logging

    # A handler of its own on the logger, as test_jobs does: in the whole suite, pytest's capture (caplog and the
    # report) met this test's one line twice, after other tests had configured Tailor's loggers in the same worker.
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    logger = logging.getLogger("tailor.db")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        engine = _database("sqlite", tmp_path, request, "m", at="0002")
        records.clear()
        upgrade(engine)
        (record,) = [r for r in records if r.getMessage() == "database migrated" and str(tmp_path) in r.database]
        assert (record.from_revision, record.to_revision) == ("0002", _head())
        records.clear()
        upgrade(engine)
        assert not [r for r in records if r.getMessage() == "database migrated"]
        engine.dispose()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _head() -> str:
    from alembic.script import ScriptDirectory

    from service.db.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(make_engine("sqlite://"))).get_current_head()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_shop_of_the_first_release_keeps_its_campaigns_drafts_reviews_sends_jobs_and_keys(backend, tmp_path, request):
    """A database written at 0002 (the first release: a campaign with an approved draft whose subject a reviewer
    edited, a sent draft opened and bought from, a finished job, an API key) read through today's API once
    migrated: nothing is lost, and the key still opens it. Found by upgrading a shop of that release by hand."""
    import hashlib

    from fastapi.testclient import TestClient

    from service.app import create_app

    engine = _database(backend, tmp_path, request, "first_release", at="0002")
    key = "tk_a_key_of_the_first_release_000000"
    with session_scope(engine) as session:
        customer = old_row(session, "customers", **OLD_CUSTOMER)
        other = old_row(session, "customers", **{**OLD_CUSTOMER, "external_id": "c2", "email": "b@example.com"})
        campaign = old_campaign(session)
        approved, sent = (
            old_row(
                session, "drafts", campaign_id=campaign, customer_id=who, status=status, flagged=False,
                flag_reasons=[], audience_reason="at risk", recommendations=[], created_at=NOW, updated_at=NOW,
            )
            for who, status in ((customer, "approved"), (other, "sent"))
        )  # fmt: skip
        variants = {
            draft: old_row(
                session, "variants", draft_id=draft, label="A", subject=subject, preheader="", intro="Hello",
                product_lines=[], html="<p>Hello</p>", text="Hello", checks=[], used_fallback=False,
                edited=edited, p_open=0.2, p_click=0.05, p_conversion=0.01, reasons=[],
            )
            for draft, subject, edited in ((approved, "Edited by Anna", True), (sent, "We miss you", False))
        }  # fmt: skip
        for draft, variant in variants.items():
            session.execute(text(f"UPDATE drafts SET selected_variant_id = {variant} WHERE id = {draft}"))
        old_row(session, "reviews", draft_id=approved, action="approve", reviewer="anna", comment="ok", created_at=NOW)
        send = old_row(
            session, "sends", customer_id=other, campaign_id=campaign, draft_id=sent, variant_id=variants[sent],
            message_id="<1@shop.example>", **OLD_SEND,
        )  # fmt: skip
        for kind, value in (("open", None), ("conversion", 42.5)):
            old_row(session, "events", send_id=send, kind=kind, occurred_at=NOW, value=value)
        session.execute(
            text(
                "INSERT INTO jobs (id, kind, status, done, total, message, result, created_at, updated_at) "
                "VALUES ('j1', 'send', 'succeeded', 1, 1, 'sent 1', '{\"sent\": 1}', :t, :t)"
            ),
            {"t": NOW},
        )
        old_row(
            session, "api_keys", name="shop", prefix=key[:10], key_hash=hashlib.sha256(key.encode()).hexdigest(),
            created_at=NOW,
        )  # fmt: skip
    upgrade(engine)

    with TestClient(create_app(engine), headers={"X-API-Key": key}) as client:
        drafts = {d["id"]: d for d in client.get(f"/campaigns/{campaign}/drafts").json()}
        assert {d["id"]: d["status"] for d in drafts.values()} == {approved: "approved", sent: "sent"}
        kept = drafts[approved]
        assert kept["selected_variant_id"] == variants[approved]
        assert [(v["subject"], v["edited"]) for v in kept["variants"]] == [("Edited by Anna", True)]
        assert [(r["action"], r["reviewer"], r["comment"]) for r in kept["reviews"]] == [("approve", "anna", "ok")]
        performance = client.get(f"/campaigns/{campaign}").json()["performance"]
        assert (performance["sent"], performance["opened"], performance["converted"]) == (1, 1, 1)
        assert performance["revenue"] == 42.5
        job = client.get("/jobs/j1").json()
        assert (job["status"], job["result"]) == ("succeeded", {"sent": 1})
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_generate_jobs_from_before_0017_name_the_campaign_their_result_names_after_0036(backend, tmp_path, request):
    """Jobs made before 0017 had a null campaign_id, so `GET /jobs?campaign_id=1` missed the campaign's generation;
    a generate job's result names its campaign. A send job's result never did, and a failed job wrote none."""
    engine = _database(backend, tmp_path, request, "job_campaign", at="0016")
    job = {"status": "succeeded", "done": 1, "total": 1, "message": "", "created_at": NOW, "updated_at": NOW}
    with session_scope(engine) as session:
        old_row(session, "jobs", id="g1", kind="generate", **job, result={"campaign_id": 1, "drafts": 3})
        old_row(session, "jobs", id="g2", kind="generate", **{**job, "status": "failed"}, result={}, error="stopped")
        old_row(session, "jobs", id="s1", kind="send", **job, result={"sent": 3})
        old_row(session, "jobs", id="t1", kind="train", **job, result={"campaign_id": 9})
    upgrade(engine)
    read = text("SELECT id, campaign_id FROM jobs ORDER BY id")
    with engine.connect() as connection:
        assert connection.execute(read).all() == [("g1", 1), ("g2", None), ("s1", None), ("t1", None)]
    downgrade(engine, "0035")  # the column is 0017's: what was filled in stays true
    with engine.connect() as connection:
        assert connection.execute(read).all() == [("g1", 1), ("g2", None), ("s1", None), ("t1", None)]
    downgrade(engine, "0016")
    assert "campaign_id" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_jobs_from_before_0037_keep_their_rows_without_a_beat_and_going_down_keeps_them(backend, tmp_path, request):
    """0037 gives jobs a heartbeat_at: one written before it has none, and is judged by its worker as it was."""
    engine = _database(backend, tmp_path, request, "job_heartbeat", at="0036")
    job = {"kind": "train", "done": 0, "total": 0, "message": "", "result": {}, "created_at": NOW, "updated_at": NOW}
    with session_scope(engine) as session:
        old_row(session, "jobs", id="running", status="running", worker="web-1:7:0123456789ab", **job)
        old_row(session, "jobs", id="ended", status="succeeded", worker="web-1:7:0123456789ab", **job)
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, status, heartbeat_at FROM jobs ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [("ended", "succeeded", None), ("running", "running", None)]
    downgrade(engine, "0036")
    assert "heartbeat_at" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, status FROM jobs ORDER BY id")).all() == [
            ("ended", "succeeded"), ("running", "running")
        ]  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_jobs_from_before_0040_have_no_announcement_pending_and_going_down_keeps_them(backend, tmp_path, request):
    """0040 keeps on a job's row its announcement the webhook did not take: a job ended before it has none pending."""
    engine = _database(backend, tmp_path, request, "job_announcements", at="0039")
    job = {"kind": "train", "done": 0, "total": 0, "message": "", "result": {}, "created_at": NOW, "updated_at": NOW}
    with session_scope(engine) as session:
        old_row(session, "jobs", id="ended", status="succeeded", **job)
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, announcement_pending_since, announcement_tries FROM jobs")).all()
    assert [tuple(row) for row in rows] == [("ended", None, 0)]
    downgrade(engine, "0039")
    assert "announcement_tries" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, status FROM jobs")).all() == [("ended", "succeeded")]
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_jobs_from_before_0054_show_their_progress_as_done_of_total_and_going_down_keeps_them(
    backend, tmp_path, request
):
    """0054 keeps a job's progress fraction where its figures cannot say it (a generate job ranking): one written
    before it has none, and reads as it did, done of total."""
    from service.jobs.listing import job_out

    engine = _database(backend, tmp_path, request, "job_progress_fractions", at="0053")
    job = {"kind": "send", "message": "", "result": {}, "created_at": NOW, "updated_at": NOW}
    with session_scope(engine) as session:
        old_row(session, "jobs", id="running", status="running", done=3, total=8, **job)
        old_row(session, "jobs", id="ended", status="succeeded", done=8, total=8, **job)
    upgrade(engine)
    with session_scope(engine) as session:
        shown = {job.id: job_out(job) for job in session.scalars(select(Job))}
        assert {job.id: job.progress_fraction for job in session.scalars(select(Job))} == {
            "running": None,
            "ended": None,
        }
    assert {id_: (out.progress, out.done, out.total) for id_, out in shown.items()} == {
        "running": (0.375, 3, 8), "ended": (1.0, 8, 8)
    }  # fmt: skip
    downgrade(engine, "0053")
    assert "progress_fraction" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, done, total FROM jobs ORDER BY id")).all() == [
            ("ended", 8, 8), ("running", 3, 8)
        ]  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sends_erased_before_0055_have_no_shop_id_and_are_still_skipped_and_going_down_keeps_them(
    backend, tmp_path, request
):
    """0055 keeps the shop's id of an erased (or pruned) imported send, looked up by an index, so that an event naming
    it by `shop_send_id` is skipped rather than refuse its batch. A send erased before it has none, and its events
    are skipped by Tailor's id or Message-ID as before."""
    from service.events import ingest_events
    from service.schemas import EventIn

    engine = _database(backend, tmp_path, request, "erased_shop_send_ids", at="0054")
    with session_scope(engine) as session:
        old_row(session, "erased_sends", id=7, message_id="<m7@shop.example>", email_digest="d" * 64)
    upgrade(engine)
    indexes = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("erased_sends")}
    assert indexes["ix_erased_sends_shop_send_id"] == ["shop_send_id"]
    with session_scope(engine) as session:
        assert session.get(ErasedSend, 7).shop_send_id is None
        session.add(ErasedSend(id=8, shop_send_id="s8", email_digest="e" * 64))
    events = [
        EventIn(send_id=7, kind="open"), EventIn(message_id="m7@shop.example", kind="open"),
        EventIn(shop_send_id="s8", kind="click"),
    ]  # fmt: skip
    with session_scope(engine) as session:
        answer = ingest_events(session, events)
    assert [skipped["index"] for skipped in answer["skipped"]] == [0, 1, 2] and answer["recorded"] == 0
    downgrade(engine, "0054")
    assert "shop_send_id" not in {column["name"] for column in inspect(engine).get_columns("erased_sends")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, message_id, email_digest FROM erased_sends ORDER BY id")).all() == [
            (7, "<m7@shop.example>", "d" * 64), (8, None, "e" * 64)
        ]  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_drafts_from_before_0056_have_the_products_they_show_stored_and_going_down_keeps_them(
    backend, tmp_path, request
):
    """0056 stores the products each draft shows (by sku, indexed: a campaign's page finds the drafts showing a
    product written since them by it), indexes products by when they were written and drafts by campaign, status and
    when they were written (the oldest waiting draft's time). The drafts stored before get their rows from their
    JSON: each product once, none for a draft without any."""
    from service.db.models import DraftProduct

    engine = _database(backend, tmp_path, request, "draft_products", at="0055")
    drafts = sa.table("drafts", sa.column("id"), sa.column("recommendations", JSON()))  # None: JSON null
    shown = {
        "two": [{"product_id": "S1", "price": 7.5}, {"product_id": "S2", "price": 9.0}, {"product_id": "S1"}],
        "none": [], "null": None, "without_ids": [{"name": "Sencha"}],
    }  # fmt: skip
    with session_scope(engine) as session:
        campaign_id = old_campaign(session)
        ids = {}
        for name, products in shown.items():
            customer_id = old_row(session, "customers", **OLD_CUSTOMER | {"external_id": name,
                                                                           "email": f"{name}@example.com"})  # fmt: skip
            ids[name] = old_draft(session, campaign_id, customer_id)
            session.execute(sa.update(drafts).where(drafts.c.id == ids[name]).values(recommendations=products))
    upgrade(engine)
    with session_scope(engine) as session:
        stored = session.execute(select(DraftProduct.draft_id, DraftProduct.product_sku)).all()
        assert sorted(stored) == [(ids["two"], "S1"), (ids["two"], "S2")]
    indexes = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("products")}
    assert indexes["ix_products_updated_at"] == ["updated_at"]
    indexes = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("draft_products")}
    assert indexes["ix_draft_products_sku_draft"] == ["product_sku", "draft_id"]
    indexes = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("drafts")}
    assert indexes["ix_drafts_campaign_status_created"] == ["campaign_id", "status", "created_at"]
    downgrade(engine, "0055")
    assert "draft_products" not in inspect(engine).get_table_names()
    assert "ix_products_updated_at" not in {index["name"] for index in inspect(engine).get_indexes("products")}
    assert "ix_drafts_campaign_status_created" not in {index["name"] for index in inspect(engine).get_indexes("drafts")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM drafts")).scalar_one() == len(shown)
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_customers_from_before_0042_have_no_consent_time_and_going_down_keeps_them(backend, tmp_path, request):
    """0042 keeps when a customer's marketing consent took its value: nothing says when for one stored before."""
    engine = _database(backend, tmp_path, request, "consent_times", at="0041")
    customer = {"email": "a@example.com", "first_name": "A", "locale": "en", "unsubscribed": False, "attributes": {}}
    with session_scope(engine) as session:
        old_row(session, "customers", external_id="c1", marketing_consent=True, **customer, profile={},
                email_key="a@example.com", created_at=NOW, updated_at=NOW)  # fmt: skip
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT external_id, marketing_consent, consent_changed_at FROM customers"))
        assert [tuple(row) for row in rows] == [("c1", True, None)]
    downgrade(engine, "0041")
    assert "consent_changed_at" not in {c["name"] for c in inspect(engine).get_columns("customers")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT external_id, marketing_consent FROM customers")).all() == [("c1", True)]
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_customers_stored_before_their_time_zone_was_kept_read_the_shops_clock_and_going_down_keeps_them(
    backend, tmp_path, request
):
    """0044 keeps a customer's time zone: none (the shop's clock) for one stored before."""
    engine = _database(backend, tmp_path, request, "customer_zones", at="0043")
    customer = {"email": "a@example.com", "first_name": "A", "locale": "en", "unsubscribed": False, "attributes": {}}
    with session_scope(engine) as session:
        old_row(session, "customers", external_id="c1", marketing_consent=True, **customer, profile={},
                email_key="a@example.com", created_at=NOW, updated_at=NOW)  # fmt: skip
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT external_id, timezone FROM customers")).all() == [("c1", None)]
        connection.execute(text("UPDATE customers SET timezone = 'America/Los_Angeles'"))
        connection.commit()
        assert connection.execute(text("SELECT timezone FROM customers")).scalar() == "America/Los_Angeles"
    downgrade(engine, "0043")
    assert "timezone" not in {c["name"] for c in inspect(engine).get_columns("customers")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT external_id, marketing_consent FROM customers")).all() == [("c1", True)]
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_customers_from_before_0045_start_their_consent_history_from_what_is_stored_and_going_down_keeps_them(
    backend, tmp_path, request
):
    """0045 keeps each customer's consent history: one stored with a dated consent starts it with that consent
    given, one unsubscribed at a known time with the unsubscribe; an undated consent, or a dated refusal (a customer
    who never agreed has one too), starts none."""
    engine = _database(backend, tmp_path, request, "consent_history", at="0044")
    given, unsubscribed_at = datetime(2025, 4, 1, 9, 30), datetime(2025, 6, 2, 8, 0)
    stored = {
        "dated": (True, given, False, None),
        "undated": (True, None, False, None),
        "refused": (False, given, False, None),
        "unsubscribed": (True, None, True, unsubscribed_at),
    }
    ids = {}
    with session_scope(engine) as session:
        for external_id, (consent, changed_at, unsubscribed, gone_at) in stored.items():
            ids[external_id] = old_row(
                session, "customers", external_id=external_id, email=f"{external_id}@example.com", first_name="A",
                locale="en", attributes={}, profile={}, email_key=f"{external_id}@example.com", created_at=NOW,
                updated_at=NOW, marketing_consent=consent, consent_changed_at=changed_at, unsubscribed=unsubscribed,
                unsubscribed_at=gone_at,
            )  # fmt: skip
    upgrade(engine)
    with session_scope(engine) as session:
        columns = (ConsentChange.customer_id, ConsentChange.change, ConsentChange.took_effect_at, ConsentChange.source)
        rows = session.execute(select(*columns).order_by(ConsentChange.customer_id))
        assert [tuple(row) for row in rows] == [
            (ids["dated"], "given", given, "stored before 0045"),
            (ids["unsubscribed"], "unsubscribed", unsubscribed_at, "stored before 0045"),
        ]
    downgrade(engine, "0044")
    assert "consent_changes" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM customers")).scalar() == 4


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_stored_products_get_their_link_keys_and_an_index_after_0046(backend, tmp_path, request):
    """0046 keeps each product's link key (digested), by which a click on an imported send finds its product through
    an index: every product with an address was read, and keyed in Python, on each events request holding one."""
    engine = _database(backend, tmp_path, request, "product_link_keys", at="0045")
    product = {"name": "Mug", "category": "home", "price": 9.0, "currency": "EUR", "description": "",
               "in_stock": True, "recommendable": True, "created_at": NOW, "updated_at": NOW}  # fmt: skip
    urls = {
        "M1": "HTTPS://WWW.Shop.example/p/mug/?utm_source=x",
        "G1": "",
        "B1": "https://shop.example/p/" + "书" * 300,
    }
    with session_scope(engine) as session:
        for sku, url in urls.items():
            old_row(session, "products", sku=sku, url=url, **product)
    upgrade(engine)
    with engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT sku, link_key_digest FROM products")).all())
    assert keys == {
        "M1": link_key_digest("https://shop.example/p/mug"),  # as a click spelt otherwise is keyed
        "G1": None,  # no address: no click's
        "B1": link_key_digest(urls["B1"]),
    }
    assert keys["M1"] != keys["B1"]
    assert "ix_products_link_key_digest" in {index["name"] for index in inspect(engine).get_indexes("products")}
    downgrade(engine, "0045")
    assert "link_key_digest" not in {c["name"] for c in inspect(engine).get_columns("products")}
    with engine.connect() as connection:
        assert sorted(connection.execute(text("SELECT sku FROM products")).scalars()) == ["B1", "G1", "M1"]
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_stored_products_are_keyed_by_the_link_rules_that_unify_a_host_s_spellings_after_0048(
    backend, tmp_path, request
):
    """The digests stored before 0048 are of the keys that told a host in another script apart from its IDNA form
    (`//bücher.example/p`, `//xn--bcher-kva.example/p`) and kept a path's dot segments: 0048 writes each product's
    again, so that a click reported in the other spelling finds the product stored before."""
    engine = _database(backend, tmp_path, request, "product_link_keys_idna", at="0047")
    product = {"name": "Book", "category": "books", "price": 9.0, "currency": "EUR", "description": "",
               "in_stock": True, "recommendable": True, "created_at": NOW, "updated_at": NOW}  # fmt: skip
    stored = {  # each product's address, and its key by the rules before 0048
        "B1": ("https://bücher.example/p/1", "//bücher.example/p/1"),
        "B2": ("https://xn--bcher-kva.example/p/2", "//xn--bcher-kva.example/p/2"),
        "B3": ("https://b%C3%BCcher.example/p/3", "//b%C3%BCcher.example/p/3"),
        "T1": ("https://shop.example/p/x/../tea", "//shop.example/p/x/../tea"),
        "M1": ("https://shop.example/p/mug", "//shop.example/p/mug"),  # keyed as before
        "G1": ("", None),
    }
    with session_scope(engine) as session:
        for sku, (url, old_key) in stored.items():
            digest = None if old_key is None else key_digest(old_key)
            old_row(session, "products", sku=sku, url=url, link_key_digest=digest, **product)
    upgrade(engine)
    with engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT sku, link_key_digest FROM products")).all())
    assert keys == {
        "B1": link_key_digest("https://xn--bcher-kva.example/p/1"),  # as an email service reports it
        "B2": link_key_digest("https://bücher.example/p/2"),
        "B3": link_key_digest("https://BÜCHER.example/p/3"),
        "T1": link_key_digest("https://shop.example/p/tea"),
        "M1": key_digest("//shop.example/p/mug"),
        "G1": None,
    }
    downgrade(engine, "0047")  # the old rules are not kept to write them by: the digests stay
    with engine.connect() as connection:
        assert dict(connection.execute(text("SELECT sku, link_key_digest FROM products")).all()) == keys
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_customers_stored_with_another_name_of_their_country_s_zone_get_its_name_after_0050(backend, tmp_path, request):
    """Babel 2.12 gave India's customers CLDR's Asia/Calcutta (Vietnam's Asia/Saigon, Argentina's
    America/Buenos_Aires), which the import stopped taking for their country's zone once Babel named it Asia/Kolkata:
    a customer who moved stayed on India's clock. 0050 gives them the name the country gives now; every other zone,
    one an earlier rule chose among a country's agreeing zones included (Malaysia's Kuching: a shop's own is not told
    apart), stays."""
    engine = _database(backend, tmp_path, request, "zone_names", at="0049")
    stored = {  # each customer's country attribute, and zone
        "calcutta": ({"country": "India"}, "Asia/Calcutta"),
        "saigon": ({"country": "VN"}, "Asia/Saigon"),
        "buenos_aires": ({"Country": "argentina"}, "America/Buenos_Aires"),
        "kolkata": ({"country": "India"}, "Asia/Kolkata"),
        "kuching": ({"country": "Malaysia"}, "Asia/Kuching"),
        "us_eastern": ({"country": "US"}, "US/Eastern"),  # a country of several times: the shop's own zone
        "elsewhere": ({"country": "Germany"}, "Asia/Calcutta"),  # not the country's: the shop's own zone
        "no_country": ({}, "Asia/Calcutta"),
        "eire": ({"Country": "EIRE"}, None),  # a name read since: the next import gives the zone, and moves drafts
    }
    with session_scope(engine) as session:
        for external_id, (attributes, zone) in stored.items():
            old_row(
                session, "customers", external_id=external_id, email=f"{external_id}@example.com", first_name="A",
                locale="en", attributes=attributes, profile={}, email_key=f"{external_id}@example.com",
                created_at=NOW, updated_at=NOW, marketing_consent=True, unsubscribed=False, timezone=zone,
            )  # fmt: skip
    upgrade(engine)
    with engine.connect() as connection:
        zones = dict(connection.execute(text("SELECT external_id, timezone FROM customers")).all())
        assert rename_country_zones(connection, batch=2) == 0  # run again: nothing to rename
    assert zones == {
        "calcutta": "Asia/Kolkata", "saigon": "Asia/Ho_Chi_Minh", "buenos_aires": "America/Argentina/Buenos_Aires",
        **{external_id: zone for external_id, (_, zone) in stored.items() if external_id not in
           {"calcutta", "saigon", "buenos_aires"}},
    }  # fmt: skip
    assert gives_the_zone("India", zones["calcutta"]) and not gives_the_zone("India", "Asia/Calcutta")
    downgrade(engine, "0049")  # the former names are not kept: the zones stay
    with engine.connect() as connection:
        assert dict(connection.execute(text("SELECT external_id, timezone FROM customers")).all()) == zones
    engine.dispose()


def _deferral(send_after: datetime, why: str) -> list[str]:
    """A draft's reasons holding the contact policy's note on its send time, as 0049 and before wrote it."""
    return ["Approved.", f"Deferred by the contact policy to {send_after:%Y-%m-%d %H:%M} UTC: {why}"]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_drafts_deferred_to_a_wait_s_end_before_0049_stay_at_it_when_their_customer_moves_after_0050(
    backend, tmp_path, request
):
    """A draft of a campaign sent now deferred to the contact policy's wait's end before 0049 was taken for a time of
    its customer's day: moved east, it went before the wait ended. 0050 tells it by its note, which says the wait its
    send time ends (an email sent in the note's minute, or a holdout with that window): it stays at that moment when
    its customer moves. A draft deferred keeping its best hour, one whose note no longer says its send time, and one
    of a scheduled campaign still move with the clock."""
    engine = _database(backend, tmp_path, request, "wait_end_drafts", at="0049")
    mailed, held_out = datetime(2026, 12, 4, 9, 13, 27, 123456), datetime(2026, 11, 10, 10, 11, 12, 500000)
    mailed_why = f"the customer was mailed {mailed:%Y-%m-%d %H:%M} UTC, and 3 days must pass between two emails " \
        "(TAILOR_SEND_MIN_DAYS_BETWEEN)"  # fmt: skip
    held_why = f"the customer was held out of another campaign's experiment on {held_out:%Y-%m-%d}, and is not " \
        "mailed until its 30-day conversion window ends"  # fmt: skip
    wait_end, window_end = mailed + timedelta(days=3), held_out + timedelta(days=30)
    best_hour, hour_after_window = datetime(2026, 12, 8, 9), datetime(2026, 12, 11, 9)
    drafts = {  # each customer's draft: its campaign (sent now, or scheduled), send time and reasons
        "wait_end": ("now", wait_end, _deferral(wait_end, mailed_why)),
        "window_end": ("now", window_end, _deferral(window_end, held_why)),
        "best_hour": ("now", best_hour, _deferral(best_hour, mailed_why)),
        "hour_after_window": ("now", hour_after_window, _deferral(hour_after_window, held_why)),
        "moved_since": ("now", wait_end + timedelta(hours=9), _deferral(wait_end, mailed_why)),
        "scheduled": ("scheduled", wait_end, _deferral(wait_end, mailed_why)),
    }
    with session_scope(engine) as session:
        campaigns = {
            "now": old_campaign(session),
            "scheduled": old_campaign(session),
            "experiment": old_campaign(session),
        }
        session.execute(text("UPDATE campaigns SET scheduled_at = :t WHERE id = :c"),
                        {"t": datetime(2026, 12, 1), "c": campaigns["scheduled"]})  # fmt: skip
        ids = {}
        for external_id, (campaign, send_after, reasons) in drafts.items():
            customer_id = old_row(
                session, "customers", external_id=external_id, email=f"{external_id}@example.com", first_name="A",
                locale="en", attributes={}, profile={}, email_key=f"{external_id}@example.com", created_at=NOW,
                updated_at=NOW, marketing_consent=True, unsubscribed=False, timezone="America/New_York",
            )  # fmt: skip
            ids[external_id] = old_row(
                session, "drafts", campaign_id=campaigns[campaign], customer_id=customer_id, status="approved",
                flagged=False, flag_reasons=reasons, audience_reason="", recommendations=[], send_after=send_after,
                created_at=NOW, updated_at=NOW,
            )  # fmt: skip
            old_row(session, "experiment_assignments", campaign_id=campaigns["experiment"], customer_id=customer_id,
                    arm="holdout", assigned_at=held_out)  # fmt: skip
    upgrade(engine)
    with session_scope(engine) as session:
        at_wait_end = {d.id for d in session.scalars(select(Draft).where(Draft.at_wait_end.is_(True)))}
        assert at_wait_end == {ids["wait_end"], ids["window_end"]}
        customers = dict(session.execute(select(Draft.customer_id, Draft.id)).all())
        moves = {customer_id: ("America/New_York", "Europe/Berlin") for customer_id in customers}
        move_to_new_zones(session, moves, datetime(2026, 12, 5))
        sends = {d.id: d.send_after for d in session.scalars(select(Draft))}
    assert sends[ids["wait_end"]] == wait_end and sends[ids["window_end"]] == window_end
    assert sends[ids["best_hour"]] == best_hour - timedelta(hours=6)  # 04:00 in New York, 09:00 in Berlin
    assert sends[ids["scheduled"]] == wait_end - timedelta(hours=6)
    with engine.connect() as connection:
        assert mark_wait_end_drafts(connection, batch=2) == 0  # run again: nothing to mark
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_stored_customers_get_the_key_their_name_sorts_by_after_0051(backend, tmp_path, request):
    """0051 keeps each customer's shown name as the drafts' order by customer sorts it, folded in Python (the order
    folded it in SQL for every draft: a Python ``lower()`` per row on SQLite, the database's own on PostgreSQL, which
    sorted otherwise). Thousands of customers, more than a batch, each get theirs, compared byte by byte on either
    database; run again, it rewrites none."""
    from service.db.name_keys import fill_name_keys, name_key

    engine = _database(backend, tmp_path, request, "name_keys", at="0050")
    names = ["Émile", "ОЛЬГА", "straße", "", "  Zoë ", "İlkay"]
    stored = [(f"c{i:05d}", names[i % len(names)]) for i in range(6_001)]
    columns = {key: value for key, value in OLD_CUSTOMER.items() if key not in {"external_id", "first_name"}}
    with engine.begin() as connection:
        customers = Table("customers", MetaData(), autoload_with=connection)
        connection.execute(insert(customers), [
            {**columns, "external_id": external_id, "email": f"{external_id}@example.com", "email_key":
             f"{external_id}@example.com", "first_name": first_name} for external_id, first_name in stored
        ])  # fmt: skip
    upgrade(engine)
    with engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT external_id, name_key FROM customers")).all())
        assert fill_name_keys(connection, batch=1_000) == 0  # run again: nothing to rewrite
    assert keys == {external_id: name_key(first_name, external_id) for external_id, first_name in stored}
    assert [keys[f"c{i:05d}"] for i in range(6)] == ["emile", "ольга", "strasse", "c00003", "zoe", "ilkay"]
    if backend == "postgres":
        with engine.connect() as connection:
            collation = "SELECT collation_name FROM information_schema.columns WHERE column_name = 'name_key'"
            assert connection.execute(text(collation)).scalar() == "C"
    downgrade(engine, "0050")
    assert "name_key" not in {column["name"] for column in inspect(engine).get_columns("customers")}
    engine.dispose()
