"""Trained model versions: the newest TAILOR_MODELS_KEPT are kept (never the one in use is deleted), the API and
the command line list them with their metadata, and a kept version can be put back in use without a restart."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from service.pipeline.model_store import describe, prune, publish, use_version, versions
from service.pipeline.training import train_recommender
from tests.service.conftest import upload
from tests.service.test_cli import run


def _publish(models: Path, number: int, kept: int | None = None) -> str:
    """A version of a small real model (one put in use is read first), told apart by ``number`` in its metadata."""
    return publish(models, "recommender", _small_model().save, {"n": number}, kept).name


@functools.cache
def _small_model():
    from recommenders.popularity import PopularityRecommender
    from tests.recommenders.contract import checkerboard

    return PopularityRecommender().fit(checkerboard()[0])


def test_publishing_keeps_the_newest_versions_and_never_deletes_the_one_in_use(tmp_path):
    models = tmp_path / "models"
    names = [_publish(models, n, kept=3) for n in range(6)]
    assert versions(models, "recommender") == names[:2:-1]  # the newest three, newest first
    assert not (models / "recommender" / names[0]).exists()

    use_version(models, "recommender", names[3])  # rolled back to the oldest kept one
    assert prune(models, "recommender", 1) == [names[4]]  # the newest stays, and so does the one in use
    assert versions(models, "recommender") == [names[5], names[3]]
    listing = describe(models, "recommender")
    assert listing["current"] == names[3]
    assert [(v["version"], v["current"], v["metadata"]["n"]) for v in listing["versions"]] == [
        (names[5], False, 5),
        (names[3], True, 3),
    ]

    unfinished = models / "recommender" / "29991231T000000000000Z"  # being written by another process
    unfinished.mkdir()
    (unfinished / "model.pkl").write_text("half")
    assert prune(models, "recommender", 1) == [] and unfinished.exists()
    assert names[5] in versions(models, "recommender") and unfinished.name not in versions(models, "recommender")


def test_the_api_lists_the_versions_and_puts_an_older_one_back_in_use(client, engine, demo_files, monkeypatch):
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    monkeypatch.setenv("TAILOR_MODELS_KEPT", "2")
    customer = client.get("/customers", params={"limit": 1}).json()[0]["customer_id"]

    def top_skus() -> list[str]:
        answer = client.get(f"/customers/{customer}/recommendations", params={"k": 5})
        assert answer.status_code == 200, answer.text
        return [r["sku"] for r in answer.json()]

    first = train_recommender(engine, "ease")["version"]
    popular = train_recommender(engine, "popularity")["version"]
    popular_skus = top_skus()
    newest = train_recommender(engine, "ease")["version"]
    newest_skus = top_skus()
    assert newest_skus != popular_skus

    listing = {entry["kind"]: entry for entry in client.get("/models").json()}
    recommender = listing["recommender"]
    assert recommender["current"] == newest and [v["version"] for v in recommender["versions"]] == [newest, popular]
    assert first not in str(recommender)  # the oldest of three went with TAILOR_MODELS_KEPT=2
    assert recommender["versions"][1]["metadata"]["model"] == "popularity"
    assert "all_ndcg@10" in recommender["versions"][0]["metadata"]["holdout"]
    assert listing["engagement"] == {"kind": "engagement", "current": None, "versions": [], "cannot_serve": None}
    assert recommender["cannot_serve"] is None

    answer = client.post("/models/recommender/current", json={"version": popular})
    assert answer.status_code == 200 and answer.json()["current"] == popular
    assert client.get("/health").json()["models"]["recommender"] == popular
    assert top_skus() == popular_skus  # served from the older version at once, no restart

    gone = client.post("/models/recommender/current", json={"version": first})
    assert gone.status_code == 404
    assert gone.json()["message"] == (
        f"No recommender model version '{first}' is kept; the kept ones, newest first: {newest}, {popular}."
    )
    assert client.post("/models/nope/current", json={"version": popular}).status_code == 422
    assert client.post("/models/recommender/current", json={}).status_code == 422
    assert client.get("/health").json()["models"]["recommender"] == popular  # refused requests changed nothing


def test_the_command_line_lists_and_switches_versions(tailor_home):
    from typer.testing import CliRunner

    from service.cli import app

    old = _publish(tailor_home / "models", 1)
    new = _publish(tailor_home / "models", 2)
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert (
        lines[0] == "recommender: 2 kept" and lines[1].startswith(f"  * {new}  ") and lines[2].startswith(f"    {old}")
    )
    assert lines[3] == "engagement: none trained"
    switched = runner.invoke(app, ["models", "use", "recommender", old])
    assert switched.exit_code == 0 and switched.output.strip() == f"recommender {old} is in use"
    assert describe(tailor_home / "models", "recommender")["current"] == old
    assert runner.invoke(app, ["models", "use", "scoring", old]).exit_code == 2


@pytest.mark.parametrize("gone", ["folder", "model file"])
def test_the_listing_says_so_when_the_version_in_use_lost_its_files(tailor_home, gone):
    """With the folder of the version in use deleted (or its model.pkl), `tailor models list` showed the other
    versions, none marked in use, while the server answered every recommendation with a 409."""
    import shutil

    from typer.testing import CliRunner

    from service.cli import app

    old = _publish(tailor_home / "models", 1)
    new = _publish(tailor_home / "models", 2)
    folder = tailor_home / "models" / "recommender" / new
    shutil.rmtree(folder) if gone == "folder" else (folder / "model.pkl").unlink()
    listed = CliRunner().invoke(app, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[:2] == ["recommender: 1 kept", f"    {old}  None  ? rows  holdout not measured: unknown"], lines
    assert lines[2] == f"  ! {new}  in use, but its files are gone"
    assert lines[3].startswith("      cannot be served:") and "`tailor train`" in lines[3]


def test_using_a_version_where_none_is_trained_says_to_train_first(tailor_home):
    """`tailor models use recommender v1` on a new shop said "the kept ones, newest first: none."."""
    from service.errors import NotFound

    with pytest.raises(NotFound, match=r"none is trained yet; train one first \(POST /train\)\.$"):  # the API's
        use_version(tailor_home / "models", "recommender", "v1")
    told = run(["models", "use", "recommender", "v1"], tailor_home)  # the command line's: the route was beside it
    assert told.returncode == 2 and told.stderr.splitlines() == [
        "error: No recommender model version 'v1' is kept: none is trained yet; train one first (`tailor train`)."
    ]


def test_an_erasure_deletes_the_versions_trained_before_it_and_none_of_them_is_used_again(client, engine):
    """Old versions kept an erased customer's id and purchases, and rolling back to one served it again."""
    from service.db.models import Customer
    from service.db.session import session_scope

    models = client.app.state.tailor.models.models_dir
    older, current = _publish(models, 1), _publish(models, 2)
    with session_scope(engine) as session:
        session.add(Customer(external_id="gone", email="gone@example.com", marketing_consent=True))
    assert client.delete("/customers/gone").status_code == 204
    assert versions(models, "recommender") == [current]  # the current one serves until the next training
    back = client.post("/models/recommender/current", json={"version": current})
    assert back.status_code == 200  # it is the one in use: nothing else to go back to

    trained = _publish(models, 3, kept=5)
    assert versions(models, "recommender") == [trained]  # the next training deleted it
    refused = client.post("/models/recommender/current", json={"version": current})
    assert refused.status_code == 404 and older not in str(versions(models, "recommender"))

    later = _publish(models, 4, kept=5)  # versions trained after the erasure stay as ever
    assert versions(models, "recommender") == [later, trained]
    assert client.post("/models/recommender/current", json={"version": trained}).status_code == 200
    (models / "ERASED_BEFORE").unlink()  # the session's home is shared with the other tests


def test_a_version_trained_before_an_erasure_is_refused_naming_the_command_that_trains(tailor_home):
    """`tailor models use` of a version that holds an erased customer's data said "Train a new one (POST /train)",
    a request nobody at the command line sends."""
    from service.errors import NotFound
    from service.pipeline.model_store import mark_erasure

    older, _current = _publish(tailor_home / "models", 1), _publish(tailor_home / "models", 2)
    mark_erasure(tailor_home / "models")  # the older one not deleted yet (its deletion failed, say)

    refused = run(["models", "use", "recommender", older], tailor_home)

    assert refused.returncode == 2 and refused.stderr.splitlines() == [
        f"error: The recommender model version '{older}' was trained before a customer was erased and holds their "
        "data: it cannot be used again. Train a new one (`tailor train`)."
    ]
    with pytest.raises(NotFound, match=r"Train a new one \(POST /train\)\.$"):  # the API's answer
        use_version(tailor_home / "models", "recommender", older)


def test_model_files_are_readable_by_their_owner_alone(tmp_path):
    """A model holds customers' ids and purchases, and was written 0644 in 0755 folders under the usual umask."""
    import os
    import stat

    previous = os.umask(0o022)
    try:
        folder = tmp_path / "models" / "recommender" / _publish(tmp_path / "models", 1)
    finally:
        os.umask(previous)
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert {mode(path) for path in folder.iterdir()} == {0o600}
    assert mode(folder) == mode(folder.parent) == mode(tmp_path / "models") == 0o700


def test_exported_drafts_are_readable_by_their_owner_alone(tmp_path):
    """Exported drafts hold customers' addresses, names and emails, and were written 0644."""
    import os
    import stat

    from generation.export import write_jsonl

    previous = os.umask(0o022)
    try:
        (tmp_path / "old.jsonl").write_text("")  # one written before keeps no wider mode either
        for name in ("new.jsonl", "old.jsonl"):
            write_jsonl([], tmp_path / name)
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    finally:
        os.umask(previous)


def test_a_training_stopped_half_way_leaves_no_folder_and_the_old_leftovers_go(tmp_path):
    """A save killed or stopped by a full disk left a folder of every customer's id that no listing showed and no
    pruning removed."""
    import errno

    import pytest

    models = tmp_path / "models"
    kept = _publish(models, 1)

    def full_disk(path: Path) -> None:
        path.write_text("half a model")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        publish(models, "recommender", full_disk, {"n": 2})
    assert sorted(p.name for p in (models / "recommender").iterdir()) == sorted(["CURRENT", kept])
    killed = models / "recommender" / ".20200101T000000000000Z.partial"  # a training killed long ago
    earlier = models / "recommender" / "20200102T000000000000Z"  # one killed before versions were written aside
    writing = models / "recommender" / f".{'2999' + kept[4:]}.partial"  # one being written now, elsewhere
    for folder in (killed, earlier, writing):
        folder.mkdir()
        (folder / "model.pkl").write_text("customer C00008")
    newer = _publish(models, 3)
    assert not killed.exists() and not earlier.exists() and writing.exists()
    assert versions(models, "recommender") == [newer, kept]


def test_an_erasure_whose_mark_cannot_be_written_erases_nothing_and_says_so(client, engine, monkeypatch):
    """On a full disk the erasure answered a plain-text 500 having erased the customer, and the mark that keeps the
    older versions out of use was never written: a rollback served the erased customer's data again."""
    import errno

    from service.db.models import Customer
    from service.db.session import session_scope
    from service.pipeline import model_store

    with session_scope(engine) as session:
        session.add(Customer(external_id="stays", email="stays@example.com", marketing_consent=True))

    def full_disk(path: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model_store, "_write_whole", full_disk)
    refused = client.delete("/customers/stays")
    assert refused.status_code == 507, refused.text
    assert "No space left on device" in refused.json()["message"] and "TAILOR_HOME" in refused.json()["message"]
    assert client.get("/customers/stays").status_code == 200  # not erased: the erasure may be asked for again


def test_a_model_that_trained_while_a_customer_was_erased_is_one_trained_before_the_erasure(
    client, engine, monkeypatch
):
    """A version was named when it was published: one whose training read the customer before their erasure and
    published after it passed for a clean one, kept by the next training and made current again on request."""
    from service.db.models import Customer
    from service.db.session import session_scope
    from service.pipeline import frames

    models = client.app.state.tailor.models.models_dir
    with session_scope(engine) as session:
        session.add(Customer(external_id="erased-mid-training", email="mid@example.com", marketing_consent=True))
    read = frames.sends_frame

    def erased_once_read(*args, **kwargs):  # the customer is erased while the model fits on what was read
        sends = read(*args, **kwargs)
        assert client.delete("/customers/erased-mid-training").status_code == 204
        return sends

    monkeypatch.setattr(frames, "sends_frame", erased_once_read)
    from service.pipeline.training import train_engagement

    during = train_engagement(engine)["version"]
    monkeypatch.setattr(frames, "sends_frame", read)
    after = train_engagement(engine)["version"]
    assert versions(models, "engagement")[0] == after and during not in versions(models, "engagement")
    refused = client.post("/models/engagement/current", json={"version": during})
    assert refused.status_code == 404
    (models / "ERASED_BEFORE").unlink()  # the session's home is shared with the other tests


def test_an_erasure_marks_its_moment_again_once_committed(tmp_path):
    """A training that read the data between the mark written before the commit and the commit still read them."""
    from service.pipeline.model_store import ERASED_MARK, forget_erased, mark_erasure

    models = tmp_path / "models"
    mark_erasure(models)
    first = (models / ERASED_MARK).read_text()
    read_between = _publish(models, 1)  # its training read the data before the erasure was committed
    forget_erased(models)
    assert (models / ERASED_MARK).read_text() > read_between > first
    newer = _publish(models, 2)
    assert versions(models, "recommender") == [newer]


def test_of_two_trainings_at_once_the_one_that_read_newer_data_serves(tmp_path):
    """The last to finish was made current, though it had read the data before the other began (and, begun before
    an erasure, held the erased customer over a newer clean version)."""
    from datetime import UTC, datetime, timedelta

    from service.pipeline.model_store import current_folder

    models = tmp_path / "models"
    began_first = datetime.now(UTC) - timedelta(minutes=5)
    newer = _publish(models, 1)
    older = publish(models, "recommender", lambda path: path.write_text("2"), {"n": 2}, read_at=began_first).name
    assert current_folder(models, "recommender").name == newer
    assert versions(models, "recommender") == [newer, older]  # kept, to go back to if wanted
    use_version(models, "recommender", older)
    assert _publish(models, 3) == current_folder(models, "recommender").name  # a new training after a rollback


def test_a_training_whose_version_is_not_put_in_use_says_so(engine, tailor_home):
    """It said "saved <version>" and returned that version as if it served, though another, trained on newer data
    meanwhile, stayed in use (and the older one may have been pruned at once)."""
    from datetime import UTC, datetime, timedelta

    from service.pipeline.training import train_engagement
    from service.settings import home_settings

    models = home_settings().models_dir
    later = datetime.now(UTC) + timedelta(hours=1)  # a training that began after this one, and ended first
    newer = publish(models, "engagement", lambda path: path.write_text("newer"), {}, read_at=later).name
    heard = []
    result = train_engagement(engine, lambda done, total, message="": heard.append(message))
    assert result["in_use"] is False and heard[-1].endswith(
        f", not in use: {newer}, trained on newer data meanwhile, is"
    )
    assert train_engagement(engine)["in_use"] is False  # and as long as the newer one is newer


def test_a_version_this_tailor_cannot_read_is_not_put_in_use(client, tailor_home):
    """After an upgrade, `tailor models use` (and POST /models/recommender/current) put back a version saved by the
    release before, which this one cannot read: it answered 'is in use', and every recommendation and generation
    after it failed until the next training."""
    import pickle

    from typer.testing import CliRunner

    from recommenders.popularity import PopularityRecommender
    from service.cli import app
    from service.errors import NotReady
    from tests.recommenders.contract import checkerboard

    def save_as_the_release_before(path):
        path.write_bytes(pickle.dumps({"format": "tailor-recommender/1", "class": PopularityRecommender, "state": {}}))

    models = tailor_home / "models"
    old = publish(models, "recommender", save_as_the_release_before, {"model": "popularity"}).name
    interactions, _, _ = checkerboard()
    new = publish(models, "recommender", PopularityRecommender().fit(interactions).save, {"model": "popularity"}).name

    refused = CliRunner().invoke(app, ["models", "use", "recommender", old])
    assert isinstance(refused.exception, NotReady), refused.output  # main() says it on one line, exit code 2
    assert f"recommender model version '{old}' cannot be put in use" in str(refused.exception)
    told = refused.exception.on_command_line()
    assert "tailor-recommender/1" in told and told.endswith("`tailor train` makes a new one.")
    answer = client.post("/models/recommender/current", json={"version": old})
    assert answer.status_code == 409 and answer.json()["message"].endswith("POST /train makes a new one.")
    assert describe(models, "recommender")["current"] == new
    assert CliRunner().invoke(app, ["models", "use", "recommender", new]).exit_code == 0
