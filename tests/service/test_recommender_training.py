"""Training the recommender in the service: each version carries its quality on the shop's last 30 days, and a
hyperparameter search on a validation split is kept with the model and reused by later trainings."""

from __future__ import annotations

import re

import pytest

from service.errors import NotReady
from service.pipeline.model_store import current_folder, read_metadata
from service.pipeline.training import HOLDOUT_DAYS, train_recommender
from service.settings import home_settings
from tests.service.conftest import upload, wait_for_job


def test_tuned_hyperparameters_and_holdout_figures_are_kept_with_the_model(client, engine, demo_files):
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200

    plain = train_recommender(engine, "ease")
    assert plain["tuning"] is None and plain["holdout"]["days"] == HOLDOUT_DAYS
    assert plain["holdout"]["customers"] > 0 and 0 <= plain["holdout"]["all_recall@10"] <= 1

    tuned = train_recommender(engine, "ease", tune_trials=3)
    assert tuned["tuning"]["trials"] == 3 and 0 <= tuned["tuning"]["validation_objective"] <= 1
    searched = tuned["tuning"]["params"]["regularization"]
    assert tuned["params"]["regularization"] == pytest.approx(searched)
    saved = read_metadata(current_folder(home_settings().models_dir, "recommender"))
    assert saved["tuning"] == tuned["tuning"] and saved["holdout"] == tuned["holdout"]

    retrained = train_recommender(engine, "ease")  # e.g. the scheduled retrain: the search is not lost
    assert retrained["params"]["regularization"] == pytest.approx(searched)
    assert retrained["tuning"] == tuned["tuning"]
    other = train_recommender(engine, "als")  # another model starts from its own defaults
    assert other["tuning"] is None

    with pytest.raises(NotReady, match="has no hyperparameter search"):
        train_recommender(engine, "popularity", tune_trials=2)


def test_train_endpoint_takes_the_number_of_trials(client, demo_files):
    """The job searches the hyperparameters with the trials asked for: only a refused -1 was tested, and a route
    that never passed `tune` on trained without a search."""
    refused = client.post("/train", params={"tune": -1})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "query.tune"
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    job = wait_for_job(client, client.post("/train", params={"model": "ease", "tune": 2}).json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["recommender"]["tuning"]["trials"] == 2
    saved = read_metadata(current_folder(home_settings().models_dir, "recommender"))
    assert saved["tuning"]["trials"] == 2


def test_the_command_refuses_a_search_for_a_model_without_one_before_training(tailor_home):
    from typer.testing import CliRunner

    from service.cli import app

    result = CliRunner().invoke(app, ["train", "--model", "popularity", "--tune", "3"])
    assert result.exit_code == 2
    words = " ".join(result.output.replace("│", " ").split())  # the usage error is boxed and wrapped
    assert "Invalid value for --tune: The popularity recommender has no hyperparameter search" in words
    assert not (tailor_home / "models").exists() and not (tailor_home / "tailor.db").exists()


def test_training_reports_each_step_s_stages_so_its_figures_move_within_a_step(client, engine, demo_files):
    """On a shop of 200,000 customers a train job sat at 0 of 3 for two minutes while the audience was profiled,
    then at 1 of 3 for five: a user could not tell a slow step from a stuck one, and a cancel waited for the step."""
    from service.pipeline.training import STEP_SHARE, train_all

    for kind in ("customers", "products", "orders", "sends"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    heard: list[tuple[int, int, str]] = []
    train_all(lambda done, total, message="": heard.append((done, total, message)), engine, "ease")
    total = 3 * STEP_SHARE
    assert {t for _, t, _ in heard} == {total} and heard[-1] == (total, total, "trained")
    figures = [done for done, _, _ in heard]
    assert figures == sorted(figures) and all(done < total for done in figures[:-1])
    messages = [message for _, _, message in heard]
    for stage in (
        "training audience: profiling", "training audience: saving profiles", "training recommender: measuring ease",
        "training recommender: fitting ease on", "training engagement: fitting on",
    ):  # fmt: skip
        assert any(message.startswith(stage) for message in messages), stage
    assert len({done for done in figures if 0 < done < STEP_SHARE}) >= 2  # the audience moves within its step
    # and within its profile, through the churn model's past days (a big shop's profile took minutes, unsaid)
    assert any(re.fullmatch(r"training audience: profiling [\d,]+ customers: churn model: features at past day "
                            r"1 of \d+", message) for message in messages)  # fmt: skip


def test_the_recommender_s_fits_move_the_figures_within_their_stages(client, engine, demo_files):
    """A blend fit on a big shop takes minutes: the job's figures moved only between stages, so a user could not
    tell a slow fit from a stuck one, and a cancel waited for the fit's end."""
    from service.pipeline.training import STAGE_SHARE

    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    heard: list[tuple[int, int, str]] = []
    train_recommender(engine, "als", progress=lambda done, total, message="": heard.append((done, total, message)))

    figures = [done for done, _, _ in heard]
    assert figures == sorted(figures) and {total for _, total, _ in heard} == {4 * STAGE_SHARE}
    measuring = [(done, message) for done, _, message in heard if message.startswith("measuring als")]
    fitting = [(done, message) for done, _, message in heard if message.startswith("fitting als on")]
    for stage, heard_in_stage in ((2, measuring), (3, fitting)):
        assert len({done for done, _ in heard_in_stage}) >= 10  # ALS's 15 iterations, each moving the figures
        assert all(stage * STAGE_SHARE <= done <= (stage + 1) * STAGE_SHARE for done, _ in heard_in_stage)
    assert fitting[-1][1].endswith(": iteration 15 of 15")


def test_a_missing_copy_model_is_told_before_anything_is_trained(engine, tmp_path, monkeypatch):
    """TAILOR_SCORING_COPY_MODEL was read at the last step: a training that failed on it had already published a
    new recommender and put it in use."""
    from service.pipeline.training import train_all

    monkeypatch.setenv("TAILOR_SCORING_COPY_MODEL", str(tmp_path / "no-such-model.pkl"))
    heard = []
    with pytest.raises(NotReady, match="^TAILOR_SCORING_COPY_MODEL: "):
        train_all(lambda done, total, message="": heard.append(message), engine, "ease")
    assert heard == []  # no step began


def test_a_bad_count_of_versions_to_keep_is_told_before_anything_is_trained(engine, monkeypatch):
    """TAILOR_MODELS_KEPT was read only as the first model was published: `tailor train` with it 0 trained the audience
    and the recommender, then failed."""
    from pydantic import ValidationError

    from service.pipeline.training import train_all
    from service.settings import environment_problem

    monkeypatch.setenv("TAILOR_MODELS_KEPT", "0")
    heard = []
    with pytest.raises(ValidationError) as refused:
        train_all(lambda done, total, message="": heard.append(message), engine, "ease")
    assert (environment_problem(refused.value) or "").startswith("the environment is not valid: TAILOR_MODELS_KEPT='0'")
    assert heard == []  # no step began


def test_a_home_that_cannot_be_written_is_told_before_anything_is_trained(engine, monkeypatch):
    """The models are saved in TAILOR_HOME: one that could not be written failed the training once it was all done."""
    from service.errors import StorageUnavailable
    from service.pipeline.training import train_all
    from service.settings import home_settings

    monkeypatch.setenv("TAILOR_HOME", "/proc/tailor-shop")  # a folder no one, root included, can make
    home_settings.cache_clear()
    heard = []
    try:
        with pytest.raises(StorageUnavailable, match=r"^TAILOR_HOME \(/proc/tailor-shop\) cannot be written: "):
            train_all(lambda done, total, message="": heard.append(message), engine, "ease")
    finally:
        home_settings.cache_clear()
    assert heard == []  # no step began


@pytest.mark.parametrize("cancelled_at", ["training engagement", "training recommender: saved"])
def test_a_cancelled_training_s_result_names_the_steps_it_finished_and_kept(engine, demo_files, cancelled_at):
    """A training cancelled before its engagement model answered `result: {}`, though its audience was recomputed
    and its recommender published and in use: a client could not tell what the job had done. A cancel heard as the
    recommender told it was saved (its step's last report) counts it among the steps done, as it is in use."""
    from service import importing
    from service.db.models import Job
    from service.db.session import session_scope
    from service.errors import JobCancelled
    from service.jobs.runner import _create_job, _run, request_cancel
    from service.pipeline.training import train_all

    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            importing.import_file(session, kind, demo_files[kind])
    job_id = _create_job(engine, "train")

    def cancel_at(_done: int, _total: int, message: str = "") -> None:
        if message.startswith(cancelled_at):
            request_cancel(engine, job_id)

    with pytest.raises(JobCancelled):
        _run(engine, job_id, train_all, {"engine": engine, "model": "popularity"}, cancel_at)
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        status, result = job.status, job.result
    assert status == "cancelled"
    assert set(result) == {"audience", "recommender", "not_done"} and result["not_done"] == ["engagement"]
    assert result["audience"]["customers"] > 0 and result["recommender"]["model"] == "popularity"
    models_dir = home_settings().models_dir
    assert result["recommender"]["in_use"]
    assert current_folder(models_dir, "recommender").name == result["recommender"]["version"]
    assert current_folder(models_dir, "engagement") is None
