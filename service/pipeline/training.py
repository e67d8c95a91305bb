"""Training: audience profiles onto customers, the recommender and the engagement model as new versions."""

from __future__ import annotations

import logging
import math
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select, update

from service.db.models import Customer, Event, Interaction, Job, Send
from service.db.session import session_scope
from service.errors import NotReady
from service.pipeline import frames
from service.pipeline.model_store import publish
from service.settings import AudienceSettings, CampaignSettings, ScoringSettings, home_settings

ProgressFn = Any  # service.jobs.Progress, or any callable(done, total, message)
TRAINING_JOBS = ("train", "retrain")
log = logging.getLogger("tailor.training")
MIN_SHOP_SENDS = 50  # fewer sends with outcomes than this: the public prior alone scores drafts


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return None if pd.isna(value) else value.isoformat()[:10]
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


def refresh_audience(engine: Engine) -> dict[str, Any]:
    """Recompute every customer's segment and profile (churn risk, CLV, next purchase, and the reasons in
    words) from their orders, over the horizon and as of the day `AudienceSettings` give."""
    from audience.profiles import build_profiles
    from audience.reasons import profile_reasons

    horizon_days = AudienceSettings().horizon_days
    with session_scope(engine) as session:
        orders = frames.orders_frame(session)
        ids = dict(
            session.execute(Customer.__table__.select().with_only_columns(Customer.external_id, Customer.id)).all()
        )
        as_of = frames.audience_as_of(session)
        updates = [{"id": cid, "segment": None, "profile": {}} for cid in ids.values()]
        if not orders.empty:
            profiles = build_profiles(orders, pd.Timestamp(as_of), horizon_days=horizon_days)
            by_customer = {
                str(customer_id): {k: _json_safe(v) for k, v in row.items()}
                for customer_id, row in profiles.to_dict("index").items()
            }
            updates = [
                {
                    "id": cid,
                    "segment": by_customer.get(external, {}).get("rfm_segment"),
                    "profile": {
                        "as_of": as_of.isoformat(),
                        **by_customer.get(external, {}),
                        "reasons": profile_reasons(by_customer.get(external, {}), as_of, horizon_days),
                    },
                }
                for external, cid in ids.items()
            ]
        if updates:
            session.execute(update(Customer), updates)
    segments = pd.Series([u["segment"] or "no_orders" for u in updates]).value_counts().to_dict()
    return {"as_of": as_of.isoformat(), "horizon_days": horizon_days, "customers": len(updates), "segments": segments}


def train_recommender(engine: Engine, model: str | None = None) -> dict[str, Any]:
    from recommenders import registry
    from recommenders.artifacts import training_metadata

    name = model or CampaignSettings().recommender
    with session_scope(engine) as session:
        interactions = frames.interactions_frame(session)
        products = frames.products_frame(session)
    if interactions.empty:
        raise NotReady("There are no orders to learn from: import orders first (`tailor import orders FILE`).")
    started = time.perf_counter()
    recommender = registry.create(name).fit(interactions, products)
    seconds = time.perf_counter() - started
    metadata = {
        **training_metadata(recommender, interactions),
        "trained_at": datetime.now().isoformat(timespec="seconds"),
        "fit_seconds": round(seconds, 2),
    }
    folder = publish(home_settings().models_dir, "recommender", recommender.save, metadata)
    return {**metadata, "version": folder.name}


def train_engagement(engine: Engine) -> dict[str, Any]:
    """The scoring model the service serves: the public prior (scoring.prior) blended with a model of the
    shop's own sends, whose weight per link grows as n / (n + 2,000) sends, set to the shop's own rates. With
    fewer than ``MIN_SHOP_SENDS`` sends with outcomes, or too few opens to fit it, the shop model is left out
    (the metadata says why) and the prior, set to the shop's rates, scores drafts."""
    from scoring.prior import BlendedEngagement, PublicPrior

    copy_model_path = ScoringSettings().copy_model
    copy_model = _copy_model(copy_model_path) if copy_model_path else None
    with session_scope(engine) as session:
        sends = frames.sends_frame(session)
    started = time.perf_counter()
    model = BlendedEngagement.fit(sends, PublicPrior.default(copy_model), min_shop_sends=MIN_SHOP_SENDS)
    if model.shop_model_note:
        log.warning(
            "engagement model without a shop model", extra={"reason": model.shop_model_note, "sends": len(sends)}
        )
    metadata = {
        "copy_model": str(copy_model_path) if copy_model_path else None,
        "trained_at": datetime.now().isoformat(timespec="seconds"),
        "sends": len(sends),
        "open_rate": round(float(sends.opened.mean()), 4) if len(sends) else None,
        "click_rate": round(float(sends.clicked.mean()), 4) if len(sends) else None,
        "shop_model": "fitted" if model.shop is not None else model.shop_model_note,
        "shop_weights": {link: round(weight, 4) for link, weight in model.weights().items()},
        "level_offsets": {link: round(offset, 4) for link, offset in model.offsets.items()},
        "prior_sends": model.prior_sends,
        "fit_seconds": round(time.perf_counter() - started, 2),
    }
    folder = publish(home_settings().models_dir, "engagement", model.save, metadata)
    return {**metadata, "version": folder.name}


def _copy_model(path: Path):
    from scoring.copy_model import CopyModel
    from scoring.errors import ExtraNotInstalled, ModelFileError

    try:
        return CopyModel.load(path)
    except (ModelFileError, ExtraNotInstalled) as error:
        raise NotReady(f"TAILOR_SCORING_COPY_MODEL: {error}") from error


def data_marker(engine: Engine) -> dict[str, int]:
    """How much there is to learn from: the rows and newest id of sends, events and order lines. Two equal
    markers mean nothing new arrived in between."""
    marker: dict[str, int] = {}
    with session_scope(engine) as session:
        for name, table in (("sends", Send), ("events", Event), ("interactions", Interaction)):
            rows, newest = session.execute(select(func.count(), func.max(table.id))).one()
            marker |= {name: int(rows), f"{name}_last_id": int(newest or 0)}
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
    """Job (the scheduled retrain): :func:`train_all`, skipped when no sends, events or orders arrived since
    the last training."""
    marker = data_marker(engine)
    if marker == last_training_marker(engine):
        progress(1, 1, "skipped: no new sends, events or orders since the last training")
        return {"skipped": True, "data_marker": marker}
    return {"skipped": False, **train_all(progress, engine, model)}


def train_all(progress: ProgressFn, engine: Engine, model: str | None = None) -> dict[str, Any]:
    """Job: audience, recommender and engagement model in turn."""
    marker = data_marker(engine)  # taken first, so that data arriving during training counts as new
    steps = (
        ("audience", lambda: refresh_audience(engine)),
        ("recommender", lambda: train_recommender(engine, model)),
        ("engagement", lambda: train_engagement(engine)),
    )
    results: dict[str, Any] = {}
    for done, (name, step) in enumerate(steps):
        progress(done, len(steps), f"training {name}")
        results[name] = step()
    progress(len(steps), len(steps), "trained")
    return {**results, "data_marker": marker}
