"""Training: audience profiles onto customers, the recommender and the engagement model as new versions."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from audience.orders import RETURNED_WHOLE
from service.clock import as_text, utcnow
from service.db.batches import batches
from service.db.models import AudienceSnapshot, Customer, Event, Interaction, Job, Send, profile_columns
from service.db.session import session_scope
from service.erasures import Erasures, id_digest
from service.errors import JobCancelled, NotReady
from service.jobs.runner import JobRunning
from service.pipeline import frames
from service.pipeline.model_store import current_folder, publish, read_metadata
from service.pipeline.stored_bounds import refuse_lines_past_bounds
from service.segments import NO_ORDERS, segment_kpis, withheld
from service.settings import (
    AudienceSettings,
    CampaignSettings,
    JobSettings,
    ModelSettings,
    ScoringSettings,
    home_settings,
)
from service.state import require_writable_home
from service.wording import span_of

if TYPE_CHECKING:
    from evals.recommenders.protocols import Split
    from recommenders.base import FitProgress
    from service.jobs import JobRunner

ProgressFn = Any  # service.jobs.Progress, or any callable(done, total, message)
STEP_SHARE = 100  # train_all's figures per step: each step's own stages move them within it
STAGE_SHARE = 100  # train_recommender's figures per stage: a model's fit moves them within its stage
TRAINING_JOBS = ("train", "retrain")
AUDIENCE_JOB = "audience"
log = logging.getLogger("tailor.training")
# A profile is written to its customer's row by id, if the row is still there: one erased while the profiles were
# computed (DELETE /customers/{id}) has none, and the ORM's update by primary key failed the whole refresh, and the
# training it began, for it (StaleDataError).
_PROFILE_WRITE = update(Customer.__table__).where(Customer.__table__.c.id == bindparam("customer_pk"))
HOLDOUT_DAYS = 30  # the recommender's quality is measured on the shop's last 30 days
MIN_SHOP_SENDS = 50  # fewer sends with outcomes than this: the public prior alone scores drafts


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return None if pd.isna(value) else value.isoformat()[:10]
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


def refresh_audience(engine: Engine, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Recompute every customer's segment and profile (churn risk, CLV, next purchase, and the reasons in
    words) from their orders, over the horizon and as of the day `AudienceSettings` give; `progress` hears
    (done, total, message) per step."""
    from audience.profiles import build_profiles

    report = progress or (lambda done, total, message="": None)
    settings = AudienceSettings()
    horizon_days = settings.horizon_days
    with session_scope(engine) as session:
        report(0, 100, "reading orders")
        erased_before = Erasures.read(session)  # before the orders: one erased after them is counted in the figures
        as_of = frames.audience_as_of(session)
        refuse_lines_past_bounds(session, before=as_of)  # named here, not as a NaN deep in the models
        orders = frames.orders_frame(session, before=as_of)  # a past as-of day (a backtest) sees none after it
        ids = dict(
            session.execute(Customer.__table__.select().with_only_columns(Customer.external_id, Customer.id)).all()
        )
        if not ids:
            raise NotReady(
                "There are no customers yet: import customers first (`tailor import customers FILE`), then their "
                "orders."
            )
        if orders.empty and settings.as_of is not None:
            _refuse_a_day_before_every_order(session, as_of)
        profiling = f"profiling {len(ids):,} customers"
        report(10, 100, profiling)
        profiles = pd.DataFrame()
        if not orders.empty:

            def step(done: int, total: int, message: str) -> None:  # the profile's steps move it from 10 to 60
                report(10 + 50 * done // total, 100, f"{profiling}: {message}")

            profiles = build_profiles(
                orders, pd.Timestamp(as_of), horizon_days=horizon_days, progress=step, threads=settings.threads
            )
            profiles.index = profiles.index.astype(str)
        report(60, 100, "saving profiles")
        # One transaction, so that a refresh that stops leaves every profile as it was: its progress is held on
        # SQLite from the first write to the commit (a shop of more than one batch of customers failed, busy, at
        # its second report). A batch of customers' profiles is put in words and written at a time: a profile with
        # its reasons takes a few KB, too much to hold for every customer of a big shop at once.
        with during_write_transaction(progress):
            try:
                segment_of, stored = _save_profiles(
                    session, ids, profiles, orders, as_of, horizon_days, report, erased_before
                )
                session.commit()  # before the held progress is written, from another connection
            except BaseException:  # a cancel or an error: the lock goes before the held figures are written
                session.rollback()
                raise
    report(100, 100, "audience recomputed")
    segments = pd.Series([segment or NO_ORDERS for segment in segment_of]).value_counts().to_dict()
    result = {
        "as_of": as_of.isoformat(), "horizon_days": horizon_days, "customers": len(ids), "segments": segments,
        "fallbacks": list(profiles.attrs.get("fallbacks", [])),  # the figures a simpler model gave, and why
    }  # fmt: skip
    return result if stored else withheld(result)  # kept as its job's result: nothing of one erased meanwhile


def _refuse_a_day_before_every_order(session, as_of: date) -> None:
    """NotReady when the shop has purchases but `TAILOR_AUDIENCE_AS_OF` comes before all of them: every customer
    would be stored as one with no orders (and mailed as such), where `tailor audience --as-of` refuses the day."""
    first = session.scalar(select(func.min(Interaction.timestamp)).where(Interaction.kind == "purchase"))
    if first is not None:
        raise NotReady(
            f"There are no orders before {as_of} (TAILOR_AUDIENCE_AS_OF): choose a later day, or unset it for the "
            f"day after the latest purchase (the orders start on {first.date()})."
        )


def _save_profiles(
    session,
    ids: dict[str, int],
    profiles: pd.DataFrame,
    orders: pd.DataFrame,
    as_of: date,
    horizon_days: int,
    report,
    erased_before: Erasures,
) -> tuple[list[str | None], bool]:
    """Write every customer's segment and profile, a batch at a time, and the audience snapshot, unless a customer
    whose orders it counts was erased since ``erased_before`` was read (the erasure deleted the snapshots that
    counted them, and queued the refresh that counts them no more); each customer's segment, in the order of
    ``ids``, and whether the snapshot was stored (when not, the refresh's result withholds its counts too)."""
    segment_of: list[str | None] = []
    returned_whole = set(orders.attrs.get(RETURNED_WHOLE, ()))  # frames.orders_frame names them
    for batch in batches(ids.items()):
        done = len(segment_of)  # said as the batch being written: a shop of one batch sat at "0 of 300" throughout
        report(
            60 + 39 * done // max(len(ids), 1),
            100,
            f"saving profiles: {span_of(done + 1, done + len(batch), len(ids))}",
        )
        if orders.empty:
            updates = [{"customer_pk": cid, "segment": None, "profile": {}, **profile_columns({})} for _, cid in batch]
        else:
            updates = _profile_updates(batch, profiles, returned_whole, as_of, horizon_days)
        session.execute(_PROFILE_WRITE, updates)
        segment_of += [u["segment"] for u in updates]
    segments_of = pd.DataFrame({"customer_id": list(ids), "segment": segment_of})
    if "recency_days" in profiles:
        segments_of["recency_days"] = profiles["recency_days"].reindex(list(ids)).to_numpy()
    # Checked once every profile is written: an erasure of a customer written here has committed before (it held
    # their row, or SQLite's one write lock) or waits for this commit.
    stored = not _erased_since(session, erased_before, set(orders["customer_id"].unique()) | returned_whole)
    if not stored:
        log.info("audience snapshot not stored: a customer it counted was erased while it was computed")
    else:
        session.add(
            AudienceSnapshot(
                as_of=as_of, horizon_days=horizon_days,
                segments=segment_kpis(segments_of, orders, pd.Timestamp(as_of), horizon_days),
            )
        )  # fmt: skip
    if (since := JobSettings().kept_since()) is not None:  # the new one is the latest: GET /segments serves it
        session.execute(delete(AudienceSnapshot).where(AudienceSnapshot.computed_at < since))
    return segment_of, stored


def _erased_since(session, erased_before: Erasures, counted: set[str]) -> bool:
    """Whether a customer of ``counted`` (their ids) was erased since ``erased_before`` was read."""
    erased_since = Erasures.read(session).ids - erased_before.ids
    return bool(erased_since) and any(id_digest(customer) in erased_since for customer in counted)


def _profile_updates(
    batch: list[tuple[str, int]], profiles: pd.DataFrame, returned_whole: set[str], as_of: date, horizon_days: int
) -> list[dict[str, Any]]:
    """The row updates (``_profile_update``) of a ``batch`` of (external id, primary key) customers in a shop with
    orders, from their rows of ``profiles`` (``build_profiles``; none for a customer without orders)."""
    from audience.reasons import profiles_reasons

    known = profiles.loc[profiles.index.intersection([external for external, _ in batch], sort=False)]
    columns = _json_columns(known)
    values = zip(*columns.values(), strict=True)
    rows = {key: dict(zip(columns, row, strict=True)) for key, row in zip(known.index, values, strict=True)}
    # put in words a field at a time, from the values stored (one customer at a time, 1.05 s of CPU for 96,000)
    reasons = dict(zip(known.index, profiles_reasons(columns, as_of, horizon_days), strict=True))
    return [
        _profile_update(
            cid, rows.get(external, {}), reasons.get(external, {}), as_of, horizon_days, external in returned_whole
        )
        for external, cid in batch
    ]


def _json_columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Each column of ``frame``, as ``_json_safe`` gives its values, converted a column at a time: value by value,
    they took 2.9 s of a 100,000-customer shop's refresh."""
    return {name: _json_column(frame[name]) for name in frame.columns}


def _json_column(column: pd.Series) -> list[Any]:
    """``_json_safe`` of each of ``column``'s values: NaN and NaT as None, a day as its ISO text, a number as
    Python's."""
    kind = column.dtype.kind
    if kind == "M":
        days = np.datetime_as_string(column.to_numpy(dtype="datetime64[D]"))
        return [None if day == "NaT" else day for day in days.tolist()]
    if kind == "f":
        return [None if math.isnan(value) else value for value in column.tolist()]
    if kind in "iub":
        return column.tolist()
    return [value if type(value) is str else _json_safe(value) for value in column.tolist()]


def _profile_update(
    customer_pk: int,
    profile: dict[str, Any],
    reasons: dict[str, str],
    as_of: date,
    horizon_days: int,
    returned_whole: bool = False,
) -> dict[str, Any]:
    """A customer's row update in a shop with orders, from their row of ``build_profiles`` made JSON-safe
    (``_json_columns``; empty for a customer without orders) and its ``reasons`` in words
    (``audience.reasons.profiles_reasons``): segment, profile with its reasons, profile columns. ``returned_whole``:
    the customer bought before ``as_of`` but their returns cancel all of it, which their reasons say, or they would
    read as a sign-up who never bought."""
    if returned_whole and not profile:
        reasons["segment"] = (
            f"no orders: their returns and cancellations undo every purchase they made before {as_of.isoformat()}"
        )

    return {
        "customer_pk": customer_pk,
        "segment": profile.get("rfm_segment"),
        "profile": {
            "as_of": as_of.isoformat(),
            "horizon_days": horizon_days,
            **profile,
            "reasons": reasons,
        },  # fmt: skip
        **profile_columns(profile),
    }


def recompute_audience(progress: ProgressFn, engine: Engine) -> dict[str, Any]:
    """Job: :func:`refresh_audience` (after an orders import, or on request)."""
    return refresh_audience(engine, progress)


def submit_audience_refresh(runner: JobRunner, engine: Engine) -> str:
    """Queue :func:`recompute_audience` and return its job id; a refresh still waiting in the queue already
    covers what was committed before this call, so its id is returned instead of queueing a second one: looked for
    again as the new one's row is written, one such submission at a time (``JobRunner.submit_checked``), else two
    imports ending at the same moment each found none and each queued one."""
    with session_scope(engine) as session:
        if waiting := _waiting_audience_refresh(session):
            return waiting

    def check(session: Session) -> None:
        if waiting := _waiting_audience_refresh(session):
            raise JobRunning(waiting)

    try:
        return runner.submit_checked(AUDIENCE_JOB, recompute_audience, check, engine=engine)
    except JobRunning as queued:
        return queued.job_id


def _waiting_audience_refresh(session: Session) -> str | None:
    """The id of the latest audience refresh still waiting in the queue, if any."""
    latest = select(Job.id).where(Job.kind == AUDIENCE_JOB, Job.status == "queued").order_by(Job.created_at.desc())
    return session.scalar(latest.limit(1))


def refresh_missing_segments(runner: JobRunner, engine: Engine) -> str | None:
    """At the server's start: queue an audience refresh when the shop has orders but no stored segments (a
    database from before they were stored, migration 0009, where `GET /segments` answered `[]` until the next
    orders import or training), and return its job id; None when there is nothing to fill."""
    with session_scope(engine) as session:
        if session.scalar(select(AudienceSnapshot.id).limit(1)) is not None:
            return None
        if session.scalar(select(Interaction.id).where(Interaction.kind == "purchase").limit(1)) is None:
            return None
    job_id = submit_audience_refresh(runner, engine)
    log.info("audience refresh queued: orders but no stored segments", extra={"job_id": job_id})
    return job_id


class _Stages:
    """``progress`` over ``count`` stages of ``share`` figures each: ``stages(i, message)`` says stage ``i`` starts,
    and ``stages.within(i, message)`` is a listener whose (done, total) move the figures inside it, short of the
    last figure, which only the whole work's end reports."""

    def __init__(self, progress: ProgressFn | None, count: int, share: int = STAGE_SHARE) -> None:
        self.progress = progress or (lambda done, total, message="": None)
        self.share, self.total = share, count * share

    def __call__(self, index: int, message: str) -> None:
        self.progress(index * self.share, self.total, message)

    def within(self, index: int, message: str) -> FitProgress:
        def heard(done: int, total: int, detail: str = "") -> None:
            figure = index * self.share + (self.share * min(done, total) // total if total > 0 else 0)
            self.progress(min(figure, self.total - 1), self.total, f"{message}: {detail}" if detail else message)

        heard.during_write_transaction = lambda: during_write_transaction(self.progress)  # type: ignore[attr-defined]
        return heard


def during_write_transaction(progress: ProgressFn | None) -> contextlib.AbstractContextManager:
    """``progress.during_write_transaction()`` (a job's, service.jobs.Progress): around a write transaction in which
    the work reports progress, which on SQLite would wait for that transaction from another connection and fail
    after the busy timeout; a plain listener's, or none, needs nothing."""
    held = getattr(progress, "during_write_transaction", None)
    return held() if held is not None else contextlib.nullcontext()


def train_recommender(
    engine: Engine, model: str | None = None, tune_trials: int = 0, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Fit the recommender on every interaction and publish it with its metadata: data snapshot, parameters and
    its quality on the shop's own last ``HOLDOUT_DAYS`` days (fitted on what came before, scored once on them).

    With ``tune_trials``, Optuna first searches the model's hyperparameters on a validation split cut from the
    part before those days (never the held-out days); the best are kept with the model, and later trainings of
    the same model (a scheduled retrain included) reuse them. `progress` hears (done, total, message) per stage,
    and within the search and the two fits as their trials, windows or iterations pass."""
    from recommenders import registry
    from recommenders.artifacts import training_metadata

    report = _Stages(progress, 4)
    name = model or CampaignSettings().recommender
    report(0, "reading interactions")
    read_at = datetime.now(UTC)  # names the version: a customer erased from now on is one the model holds
    with session_scope(engine) as session:
        interactions = frames.interactions_frame(session, email_clicks=ModelSettings().learn_clicks)
        products = frames.products_frame(session)
    if interactions.empty:
        raise NotReady("There are no orders to learn from: import orders first (`tailor import orders FILE`).")
    from evals.recommenders.protocols import time_split

    started = time.perf_counter()
    # The last days held out, for tuning and quality: the imported history's last days (``_measurable``).
    split = time_split(_measurable(interactions), test_days=HOLDOUT_DAYS)
    searching = f"searching {name}'s parameters ({tune_trials} trials)"
    if tune_trials:
        report(1, searching)
    params, tuning = _tuned_params(name, split, products, tune_trials, report.within(1, searching))
    measuring = f"measuring {name} on the last {HOLDOUT_DAYS} days"
    report(2, measuring)
    holdout = _holdout_quality(name, params, split, products, report.within(2, measuring))
    fitting = f"fitting {name} on {len(interactions):,} interactions"
    report(3, fitting)
    recommender = registry.create(name, **params).fit(interactions, products, report.within(3, fitting))
    learned = training_metadata(recommender, interactions)
    learned["data"]["email_clicks"] = int(interactions["order_id"].str.startswith(frames.EMAIL_CLICK_ORDER).sum())
    metadata = {
        **learned,
        "holdout": holdout,
        "tuning": tuning,
        "trained_at": as_text(utcnow(), timespec="seconds"),
        "fit_seconds": round(time.perf_counter() - started, 2),
    }
    version, in_use, note = _published("recommender", recommender.save, metadata, read_at)
    report(4, f"saved {name} {version}{note}")
    return {**metadata, "version": version, "in_use": in_use}


def _measurable(interactions: pd.DataFrame) -> pd.DataFrame:
    """``interactions`` but the email clicks (``frames.EMAIL_CLICK_ORDER``) later than every imported one: clicks are
    recorded as they come, orders only when the shop imports them, and a click since the last import moved the
    held-out days past the orders (with a month's orders still to import, the holdout had no purchase, and the model
    no measure). They were no purchase to find in those days, nor history before them."""
    clicked = interactions["order_id"].str.startswith(frames.EMAIL_CLICK_ORDER)
    if not clicked.any() or clicked.all():
        return interactions
    return interactions[~clicked | (interactions["timestamp"] <= interactions.loc[~clicked, "timestamp"].max())]


def tuning_problem(model: str | None, trials: int) -> str | None:
    """Why ``trials`` Optuna trials cannot search ``model``'s hyperparameters (None: the configured default
    recommender), or None when they can; asked before a training starts, so that a bad request costs nothing."""
    if not trials:
        return None
    from evals.recommenders.tuning import TUNABLE

    name = model or CampaignSettings().recommender
    if name in TUNABLE:
        return None
    return f"The {name} recommender has no hyperparameter search; tunable: {', '.join(TUNABLE)}."


def _tuned_params(
    name: str, split: Split, products: pd.DataFrame, trials: int, progress: FitProgress
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The hyperparameters to fit with, and how they were found: a new Optuna search of ``trials`` trials on
    ``split``'s validation part, the search saved with the current model of the same name, or none (the
    model's defaults)."""
    from evals.recommenders.tuning import tune

    if trials:
        if problem := tuning_problem(name, trials):
            raise NotReady(problem)
        params, objective = tune(name, split, products, trials=trials, progress=progress)
        # The objective: Recall@10 on the validation split, averaged over all products and products new to the customer.
        return params, {"trials": trials, "validation_objective": round(objective, 4), "params": params}
    current = current_folder(home_settings().models_dir, "recommender")
    if current is not None:
        saved = read_metadata(current)
        if saved.get("model") == name and saved.get("tuning"):
            return saved["tuning"]["params"], saved["tuning"]
    return {}, None


def _holdout_quality(
    name: str, params: dict[str, Any], split: Split, products: pd.DataFrame, progress: FitProgress
) -> dict[str, Any]:
    """Recall, NDCG and HitRate at 10 (all products, and products new to the customer) on ``split``'s test
    part, the last ``HOLDOUT_DAYS`` days, for a model fitted on the days before; the reason instead when they
    cannot be had."""
    from evals.recommenders.evaluate import evaluate

    if split.train.empty or not split.relevant:
        return {"days": HOLDOUT_DAYS, "skipped": "no customer with earlier history bought in those days"}
    measured = evaluate(name, params, split, products, beyond=False, progress=progress)  # no coverage and the like
    figures = {
        f"{part}_{metric}@10": round(measured[part][f"{metric}@10"], 4)
        for part in ("all", "new")
        if part in measured
        for metric in ("recall", "ndcg", "hit")
    }
    return {"days": HOLDOUT_DAYS, "customers": len(split.relevant), **figures}


def train_engagement(engine: Engine, progress: ProgressFn | None = None) -> dict[str, Any]:
    """The scoring model the service serves: the public prior (scoring.prior) blended with a model of the
    shop's own sends, whose weight per link grows as n / (n + 2,000) sends, set to the shop's own rates. With
    fewer than ``MIN_SHOP_SENDS`` sends with outcomes, or too few opens to fit it, the shop model is left out
    (the metadata says why) and the prior, set to the shop's rates, scores drafts. Sends younger than
    ``TAILOR_SCORING_OUTCOME_DAYS`` wait: their outcomes may still come. Of the others, the latest
    ``TAILOR_SCORING_MAX_SENDS`` are learned from (the metadata counts the older ones left out)."""
    from scoring.prior import BlendedEngagement, PublicPrior

    report = progress or (lambda done, total, message="": None)
    report(0, 2, "reading sends")
    settings = ScoringSettings()
    copy_model_path = settings.copy_model
    copy_model = _copy_model(copy_model_path) if copy_model_path else None
    outcomes_due = settings.outcomes_due()
    read_at = datetime.now(UTC)  # names the version (as the recommender's)
    with session_scope(engine) as session:
        sends = frames.sends_frame(session, sent_before=outcomes_due, latest=settings.max_sends)
        learnable, waiting = frames.count_sends(session, outcomes_due)
    started = time.perf_counter()
    report(1, 2, f"fitting on {len(sends):,} sends")
    model = BlendedEngagement.fit(sends, PublicPrior.default(copy_model), min_shop_sends=MIN_SHOP_SENDS)
    if model.shop_model_note:
        log.warning(
            "engagement model without a shop model", extra={"reason": model.shop_model_note, "sends": len(sends)}
        )
    metadata = {
        "copy_model": str(copy_model_path) if copy_model_path else None,
        "trained_at": as_text(utcnow(), timespec="seconds"),
        "sends": len(sends),
        "sends_waiting_for_outcomes": waiting,
        "older_sends_left_out": learnable - len(sends),
        "open_rate": round(float(sends.opened.mean()), 4) if len(sends) else None,
        "click_rate": round(float(sends.clicked.mean()), 4) if len(sends) else None,
        "shop_model": "fitted" if model.shop is not None else model.shop_model_note,
        "shop_weights": {link: round(weight, 4) for link, weight in model.weights().items()},
        "level_offsets": {link: round(offset, 4) for link, offset in model.offsets.items()},
        "prior_sends": model.prior_sends,
        "fit_seconds": round(time.perf_counter() - started, 2),
    }
    version, in_use, note = _published("engagement", model.save, metadata, read_at)
    report(2, 2, f"saved {version}{note}")
    return {**metadata, "version": version, "in_use": in_use}


def _published(kind: str, save, metadata: dict[str, Any], read_at: datetime) -> tuple[str, bool, str]:
    """Publish a trained model of ``kind`` (``model_store.publish``): its version, whether it is the one in use, and
    what the training's last message adds when it is not (a training that began later, on newer data, published the
    one in use meanwhile)."""
    models_dir = home_settings().models_dir
    folder = publish(models_dir, kind, save, metadata, ModelSettings().kept, read_at)
    current = current_folder(models_dir, kind)
    if current == folder:
        return folder.name, True, ""
    return (
        folder.name,
        False,
        f", not in use: {current.name if current else 'another'}, trained on newer data meanwhile, is",
    )


def require_copy_model_file() -> None:
    """NotReady naming TAILOR_SCORING_COPY_MODEL when it names no file: told at the server's start and before a
    training's first step, not once the training reaches the engagement model."""
    copy_model = ScoringSettings().copy_model
    if copy_model and not Path(copy_model).is_file():
        _copy_model(copy_model)


def _copy_model(path: Path):
    from scoring.copy_model import CopyModel
    from scoring.errors import ExtraNotInstalled, ModelFileError

    try:
        return CopyModel.load(path)
    except (ModelFileError, ExtraNotInstalled) as error:
        raise NotReady(f"TAILOR_SCORING_COPY_MODEL: {error}") from error


def data_marker(engine: Engine) -> dict[str, int]:
    """How much there is to learn from: the rows and newest id of sends, events and order lines, and the sends old
    enough for the engagement model to learn from (``TAILOR_SCORING_OUTCOME_DAYS``). Two equal markers mean nothing
    new arrived, or came of age, in between: a campaign's sends are too young when its last events arrive, and a
    shop that sent nothing more was never retrained on them."""
    marker: dict[str, int] = {}
    with session_scope(engine) as session:
        for name, table in (("sends", Send), ("events", Event), ("interactions", Interaction)):
            rows, newest = session.execute(select(func.count(), func.max(table.id))).one()
            marker |= {name: int(rows), f"{name}_last_id": int(newest or 0)}
        due = ScoringSettings().outcomes_due()
        marker["sends_with_outcomes"] = int(session.scalar(select(func.count()).where(Send.sent_at <= due)))
    return marker


def last_training_marker(engine: Engine) -> dict[str, int] | None:
    """The data marker of the latest successful training (by command, API or schedule), if it recorded one."""
    with session_scope(engine) as session:
        results = session.scalars(
            select(Job.result)
            .where(Job.kind.in_(TRAINING_JOBS), Job.status == "succeeded")
            .order_by(Job.created_at.desc())
        )
        return next((result["data_marker"] for result in results if result and "data_marker" in result), None)


def retrain_if_new_data(progress: ProgressFn, engine: Engine, model: str | None = None) -> dict[str, Any]:
    """Job (the scheduled retrain): :func:`train_all` of ``model``, else of the recommender in use, skipped when no
    sends, events or orders arrived, nor sends came of age, since the last training (``data_marker``)."""
    marker = data_marker(engine)
    if marker == last_training_marker(engine):
        progress(1, 1, "skipped: no new sends, events or orders, nor sends come of age, since the last training")
        return {"skipped": True, "data_marker": marker}
    return {"skipped": False, **train_all(progress, engine, model or recommender_in_use())}


def recommender_in_use() -> str | None:
    """The name of the recommender in use, for a scheduled retrain to train it again (with the hyperparameters a
    search kept with it, ``_tuned_params``): a shop that trained `tailor train --model ease` got the default back
    at the next retrain. None when none is trained, or when this version of Tailor no longer has it (logged)."""
    from recommenders.registry import names

    current = current_folder(home_settings().models_dir, "recommender")
    name = read_metadata(current).get("model") if current is not None else None
    if name is not None and name not in names():
        log.warning(
            "the recommender in use is unknown to this version: the retrain trains the default",
            extra={"model": name, "default": CampaignSettings().recommender},
        )
        return None
    return name


def train_all(progress: ProgressFn, engine: Engine, model: str | None = None, tune_trials: int = 0) -> dict[str, Any]:
    """Job: audience, recommender (its hyperparameters searched first with ``tune_trials``) and engagement model
    in turn."""
    ModelSettings()  # what publishing reads, told before the work: TAILOR_MODELS_KEPT=0 failed a finished training
    require_copy_model_file()  # told before the audience and recommender are trained
    require_writable_home()  # where the models are saved, told before the work too
    marker = data_marker(engine)  # taken first, so that data arriving during training counts as new
    steps = (
        ("audience", lambda report: refresh_audience(engine, report)),
        ("recommender", lambda report: train_recommender(engine, model, tune_trials, report)),
        ("engagement", lambda report: train_engagement(engine, report)),
    )
    # Each step's own stages move the job's figures (a step in hundredths), so that a big shop's job does not sit
    # at 0 while its audience is profiled for minutes; and each report is where a cancel or a shutdown stops it.
    stages = _Stages(progress, len(steps), STEP_SHARE)
    results: dict[str, Any] = {}
    for index, (name, step) in enumerate(steps):
        held: list[JobCancelled] = []
        try:
            within = stages.within(index, f"training {name}")
            within(0, 1)
            results[name] = step(_ended_step_kept(within, held))
            if held:
                raise held[0]
        except (JobCancelled, KeyboardInterrupt) as stopped:
            # the steps finished are kept (the profiles committed, a model published and in use): the cancelled
            # job's result says which, as a finished training's does, and which were not done (it said `{}`)
            stopped.done_before = {**results, "not_done": [later for later, _ in steps[len(results) :]]}
            raise
    progress(stages.total, stages.total, "trained")
    return {**results, "data_marker": marker}


def _ended_step_kept(listener: FitProgress, held: list[JobCancelled]) -> FitProgress:
    """``listener`` for a step of train_all whose last report (done of done: its profiles committed, its model
    published) is no place to stop: a cancel heard there goes to ``held``, for train_all to raise once the step has
    returned what it did, so that the cancelled job's result names the step among those done, not among those not
    done while its model was in use."""

    def heard(done: int, total: int, detail: str = "") -> None:
        try:
            listener(done, total, detail)
        except JobCancelled as cancelled:
            if done < total:
                raise
            held.append(cancelled)

    heard.during_write_transaction = listener.during_write_transaction  # type: ignore[attr-defined]
    return heard
