"""Campaign experiments: who is held out, which variant arm each remaining send gets, and the results.

A campaign runs as an A/B/n experiment when it has a ``holdout_share``. The arms are the variant labels of
its drafts (``A``, ``B`` …) plus ``holdout``, whose customers are sent nothing.

- Holdout: chosen by a hash of the customer id salted with the campaign id (``scoring.experiments.assign_arms``),
  so sending again, or in several batches, holds out the same customers; a customer's arm, once recorded in
  ``experiment_assignments``, never changes.
- Allocation: each batch of sends is split across the variant arms by Thompson sampling on the outcomes
  recorded so far (``ExperimentSettings.allocation_outcome``, clicks by default), so the arm that is ahead
  gets more of the sends still to go as events arrive.
- Who could report: an arm's open and click rates, and the allocation by them, count only the sends that could report
  the outcome (their email tracked it, or the shop's email service posts it: ``service.outcome_reports``). A send
  that could not is no send nobody clicked: counted, it diluted its arm's rate (tracking switched off half way, the
  arm ahead got most of those sends and fell behind). Each arm says how many of its sends could report an open and a
  click, and the results warn when none could report the allocation outcome nor will the next batch: the experiment
  cannot learn, and splits every batch evenly. They warn too when those that could have only machines' outcomes
  (a privacy proxy's opens, a link scanner's clicks), no reader's: the arms' even split is then no result.
- Conversions: a customer of any arm converted when their send got a ``conversion`` event, or when they made
  a purchase (an order line in ``interactions``) after they were assigned and within
  ``conversion_window_days``. Held-out customers can only convert by purchase, which is what makes the lift
  over the holdout the campaign's incremental effect. Opens and clicks exist only for arms that were sent.
- Who takes part: the drafts being sent whose customer can be mailed; one who cannot (unsubscribed, bounced, no
  consent) is skipped at sending and is in no arm, the holdout included. Nor is a draft its reviewer pinned
  (``Draft.pinned``: they chose another variant, overrode a check or edited copy): it is sent exactly the
  approved variant, and since that choice is not random it is left out of the arms; the results count these.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scoring.experiments import (
    HOLDOUT,
    allocate_sends,
    assign_arms,
    effects,
    revenue_difference,
    thompson_allocation,
)
from service.db.models import Assignment, Campaign, Customer, Draft, Event, Interaction, Send, Variant
from service.db.session import dialect_insert
from service.errors import Conflict, NotReady
from service.outcome_reports import (
    MACHINES_COLUMNS,
    TRACKED,
    machines_only_warning,
    reporting_sends,
    tracked_now,
    unseen_warning,
)
from service.performance import SHOWN_BY
from service.schemas import ArmOut, ExperimentOut, LiftOut, RateOut, RevenueLiftOut
from service.settings import ExperimentSettings, TrackingSettings

OUTCOME_COLUMNS = {"open": "opened", "click": "clicked", "conversion": "converted"}  # _outcome_table's 0/1 columns


def _salt(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def _hash_order(customer_ids: list[str], salt: str) -> list[str]:
    return sorted(customer_ids, key=lambda customer: hashlib.sha256(f"{salt}:order:{customer}".encode()).hexdigest())


def set_holdout_share(session: Session, campaign: Campaign, holdout_share: float | None) -> None:
    """Make ``campaign`` an experiment, or change its holdout share, before anyone has been assigned; a
    campaign that has sent as a plain one cannot become an experiment (its first emails had no holdout to be
    compared with, and the holdout would be drawn among customers already mailed)."""
    if holdout_share is None or holdout_share == campaign.holdout_share:
        return
    assigned = session.scalar(select(Assignment.id).where(Assignment.campaign_id == campaign.id).limit(1))
    if assigned is not None:
        raise Conflict(
            f"Campaign {campaign.id} already holds out {campaign.holdout_share:.0%} of its audience; "
            "holdout_share cannot change once customers have been assigned."
        )
    if session.scalar(select(Send.id).where(Send.campaign_id == campaign.id).limit(1)) is not None:
        raise Conflict(
            f"Campaign {campaign.id} has already sent without a holdout: it cannot become an experiment now. "
            "Send it on without holdout_share, or run the experiment as a new campaign."
        )
    campaign.holdout_share = holdout_share
    from service.forecasts import mark_stale  # forecasts builds on this module's holdout

    mark_stale(campaign)


def held_out_customers(campaign_id: int, holdout_share: float, customer_ids: list[str]) -> list[str]:
    """The customers (external ids) the campaign's holdout will take, by the same hash that sending uses."""
    arms = assign_arms(customer_ids, ["sent"], holdout_share=holdout_share, salt=_salt(campaign_id))
    return [customer for customer, arm in zip(customer_ids, arms, strict=True) if arm == HOLDOUT]


def variant_arms(session: Session, campaign_id: int) -> list[str]:
    """The variant labels of the campaign's drafts, in order: the experiment's arms besides the holdout."""
    labels = session.scalars(
        select(Variant.label).join(Draft, Variant.draft_id == Draft.id).where(Draft.campaign_id == campaign_id)
    )
    return sorted(set(labels))


def in_the_arms(draft: Draft) -> bool:
    """Whether an experiment's arms (the holdout among them) take the draft's customer (``takes_into_arms``)."""
    return takes_into_arms(draft.customer.mailable, draft.pinned)


def takes_into_arms(mailable: bool, pinned: bool) -> bool:
    """Whether an experiment's arms take a draft: its customer may be mailed and no reviewer pinned it to a variant
    (``plan_arms``; the export marks the holdout by the same rule, from its columns)."""
    return bool(mailable) and not pinned


class ArmOutcomes:
    """The arms' outcomes (``arm_outcomes``) as one send reads them, once: its batch's Thompson allocation
    (``plan_arms``) allocates from them however many times the send looks for more drafts to mail (a batch with a
    holdout looks twice or more), and when they hold a reader's outcome of the kind it allocates by, the warning as
    the send ends (``no_reader_signal``) reads nothing again: outcomes are only added, so that one is still there.
    At 50,000 sends in the arms each read took 1.2-1.5 s here, and a batch of 200 made three or four of them
    (evals.scale.experiment_batch)."""

    def __init__(self, campaign_id: int, settings: ExperimentSettings | None = None) -> None:
        self.campaign_id, self.settings = campaign_id, settings or ExperimentSettings()
        self.variant_labels: list[str] = []
        self.rows: dict[str, dict[str, float]] | None = None  # None until read

    def read(self, session: Session) -> dict[str, dict[str, float]]:
        """Per arm, its outcomes so far: read the first time asked."""
        if self.rows is None:
            self.variant_labels, self.rows = arm_outcomes(session, self.campaign_id, self.settings)
        return self.rows

    def reader_seen(self) -> bool:
        """Whether a reader's outcome of the kind allocated by was among those read (False before any read)."""
        successes = f"{self.settings.allocation_outcome}_successes"
        return self.rows is not None and any(self.rows[arm][successes] for arm in self.variant_labels)


def plan_arms(
    session: Session, campaign: Campaign, drafts: list[Draft], outcomes: ArmOutcomes | None = None
) -> dict[int, str]:
    """Each draft's arm for this batch: the arm already recorded for its customer, else ``holdout`` by hash,
    else a variant arm by Thompson sampling over the outcomes so far (``outcomes``, read now unless the send read
    them already). Records the holdout customers' arms.

    A draft whose customer cannot be mailed (unsubscribed, bounced, no consent) gets no arm: the sender skips
    it, and a holdout that kept such customers while the variant arms lost them would overstate the lift. Nor
    does a pinned draft: it is sent the variant its reviewer approved."""
    drafts = [draft for draft in drafts if in_the_arms(draft)]
    recorded = dict(
        session.execute(
            select(Assignment.customer_id, Assignment.arm).where(Assignment.campaign_id == campaign.id)
        ).all()
    )
    arms = variant_arms(session, campaign.id)
    if not arms:
        raise NotReady(f"Campaign {campaign.id} has no drafts with variants to experiment on: generate it first.")
    salt = _salt(campaign.id)
    new = [draft for draft in drafts if draft.customer_id not in recorded]
    held = assign_arms([d.customer.external_id for d in new], ["sent"], holdout_share=campaign.holdout_share, salt=salt)
    plan = {draft.id: recorded[draft.customer_id] for draft in drafts if draft.customer_id in recorded}
    treated, holdout_rows = {}, []
    for draft, arm in zip(new, held, strict=True):
        if arm == HOLDOUT:
            plan[draft.id] = HOLDOUT
            holdout_rows.append({"campaign_id": campaign.id, "customer_id": draft.customer_id, "arm": HOLDOUT})
        else:
            treated[draft.customer.external_id] = draft.id
    if holdout_rows:  # a send of the same campaign at the same moment may record them first: the hash gave it the same
        add = dialect_insert(session)(Assignment).on_conflict_do_nothing(
            index_elements=[Assignment.campaign_id, Assignment.customer_id]
        )
        session.execute(add, holdout_rows)
    if treated:
        outcomes = outcomes or ArmOutcomes(campaign.id)
        rows = outcomes.read(session)
        sends_per_arm = allocate_sends(_allocation_counts(rows, arms, outcomes.settings), len(treated))
        queue = iter(_hash_order(list(treated), salt))
        for arm, n_sends in sends_per_arm.items():
            for _ in range(int(n_sends)):
                plan[treated[next(queue)]] = str(arm)
    session.flush()
    return plan


# Significant digits the API gives its shares, probabilities and amounts: float noise starts past the fifteenth,
# and showed as figures (an unsent arm's interval began at 0.025000000000000022, 1 - 0.95 halved).
SIGNIFICANT_DIGITS = 12


def _tidy(value: float | None) -> float | None:
    return None if value is None or pd.isna(value) else float(f"{float(value):.{SIGNIFICANT_DIGITS}g}")


def _rate(row: pd.Series, p_best: float | None) -> RateOut:
    return RateOut(
        mean=_tidy(row["rate"]), low=_tidy(row["rate_low"]), high=_tidy(row["rate_high"]), p_best=_tidy(p_best),
        observed=_tidy(row["observed"]),
    )  # fmt: skip


def _outcome_table(assignments: pd.DataFrame, session: Session, window: timedelta) -> pd.DataFrame:
    """One row per assigned customer with 0/1 ``opened``, ``clicked`` and ``converted`` (a reader's), ``machine_opened``
    and ``machine_clicked`` (a machine's: service.machine_opens, service.machine_clicks), and ``revenue``: the
    amount of their purchases in the window or the value of their send's conversion events in it, whichever is
    larger (both may record the same order). A conversion reported after the window counts no more than a
    holdout's purchase after it: the arms are compared over the same days."""
    send_ids = assignments.send_id.dropna().astype(int).tolist()
    events = pd.DataFrame(
        session.execute(
            select(Event.send_id, Event.kind, Event.value, Event.occurred_at).where(Event.send_id.in_(send_ids))
        ).all(),
        columns=["send_id", "kind", "value", "occurred_at"],
    )
    if not events.empty:
        sent = assignments.dropna(subset=["send_id"])
        assigned = pd.Series(sent["assigned_at"].to_numpy(), index=sent["send_id"].astype(int).to_numpy())
        deadline = pd.to_datetime(events.send_id.map(assigned)) + window
        late = (events.kind == "conversion") & (pd.to_datetime(events.occurred_at) > deadline)
        events = events[~late.to_numpy(bool)]
    purchases = pd.DataFrame(
        session.execute(
            select(Interaction.customer_id, Interaction.timestamp, Interaction.amount).where(
                Interaction.customer_id.in_(assignments.customer_id.tolist()),
                Interaction.kind == "purchase",
                Interaction.timestamp > assignments.assigned_at.min(),
            )
        ).all(),
        columns=["customer_id", "timestamp", "amount"],
    ).merge(assignments[["customer_id", "assigned_at"]], on="customer_id")
    in_window = purchases[
        (purchases.timestamp > purchases.assigned_at) & (purchases.timestamp <= purchases.assigned_at + window)
    ]
    table = assignments.copy()
    # A chain (SHOWN_BY): a click with no open recorded (images blocked) counted as unopened, and an arm read 2 opens
    # and 3 clicks in 15 sends, its open rate short of the opens the forecast predicted.
    for column, kinds in SHOWN_BY.items():
        table[column] = table.send_id.isin(set(events.loc[events.kind.isin(kinds), "send_id"])).astype(int)
    for column, kind in MACHINES_COLUMNS.values():  # kept apart: no reader's, but they say why none is counted
        table[column] = table.send_id.isin(set(events.loc[events.kind == kind, "send_id"])).astype(int)
    table["converted"] = (table.converted.astype(bool) | table.customer_id.isin(set(in_window.customer_id))).astype(int)
    conversion_values = events[events.kind == "conversion"].groupby("send_id")["value"].sum()
    purchased = table.customer_id.map(in_window.groupby("customer_id")["amount"].sum()).fillna(0.0)
    reported = table.send_id.map(conversion_values).fillna(0.0)
    table["revenue"] = np.maximum(purchased.to_numpy(float), reported.to_numpy(float))
    return table


def arm_outcomes(
    session: Session, campaign_id: int, settings: ExperimentSettings
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """The variant arms, and per arm (holdout included) its customers, sends, opens, clicks, conversions and
    revenue (with its sum of squares, for intervals) so far, and per outcome its trials and successes among the sends
    that could report it (``<outcome>_trials``, ``<outcome>_successes``): what both the results and the next batch's
    allocation count; and of those sends, the ones a machine opened or clicked (``open_machines``,
    ``click_machines``), which no rate counts."""
    window = timedelta(days=settings.conversion_window_days)
    assignments = pd.DataFrame(
        session.execute(
            select(Assignment.arm, Assignment.customer_id, Assignment.send_id, Assignment.assigned_at, Send.tracking)
            .outerjoin(Send, Send.id == Assignment.send_id)
            .where(Assignment.campaign_id == campaign_id)
        ).all(),
        columns=["arm", "customer_id", "send_id", "assigned_at", "tracking"],
    )
    variant_labels = variant_arms(session, campaign_id)
    arm_names = [*variant_labels, HOLDOUT]
    if len(assignments):
        table = _outcome_table(assignments, session, window)
    else:
        no_machines = {column: 0 for column, _ in MACHINES_COLUMNS.values()}
        table = assignments.assign(opened=0, clicked=0, converted=0, **no_machines, revenue=0.0)
    sent = table.send_id.notna()
    reporting = reporting_sends(session, sent, table.tracking)
    rows = {}
    for arm in arm_names:
        members = table.arm == arm
        counted = {}
        for outcome, column in OUTCOME_COLUMNS.items():
            reported = members & reporting[outcome]
            counted[f"{outcome}_trials"] = int(reported.sum())
            counted[f"{outcome}_successes"] = int(table.loc[reported, column].sum())
            if outcome in MACHINES_COLUMNS:
                counted[f"{outcome}_machines"] = int(table.loc[reported, MACHINES_COLUMNS[outcome][0]].sum())
        chosen = table[members]
        rows[arm] = {
            "customers": len(chosen),
            "sends": int(sent[members].sum()),
            "opens": int(chosen.opened.sum()),
            "clicks": int(chosen.clicked.sum()),
            "conversions": int(chosen.converted.sum()),
            "revenue": float(chosen.revenue.sum()),
            "revenue_squares": float((chosen.revenue**2).sum()),
            **counted,
        }
    return variant_labels, rows


def experiment_results(session: Session, campaign: Campaign) -> ExperimentOut:
    """Per arm: customers, sends, opens, clicks, conversions, rates with credible intervals, P(best), the
    conversion lift over the holdout (when the holdout has customers), revenue, and revenue per customer over
    the holdout's."""
    if campaign.holdout_share is None:
        if session.scalar(select(Send.id).where(Send.campaign_id == campaign.id).limit(1)) is not None:
            # sending it with holdout_share, which it was told to, is refused once it has sent (set_holdout_share)
            raise NotReady(
                f"Campaign {campaign.id} is not an experiment, and it has sent without a holdout, so it cannot become "
                "one: run the experiment as a new campaign, created with holdout_share (e.g. 0.1)."
            )
        raise NotReady(
            f"Campaign {campaign.id} is not an experiment: create it with holdout_share, or send it with "
            "?holdout_share=0.1 (any share in [0, 1))."
        )
    settings = ExperimentSettings()
    variant_labels, rows = arm_outcomes(session, campaign.id, settings)
    arm_names = [*variant_labels, HOLDOUT]
    level = settings.credible_level
    variant_stats = {outcome: _variant_effects(rows, variant_labels, outcome, level) for outcome in OUTCOME_COLUMNS}
    lifts = _holdout_lifts(rows, variant_labels, level)
    allocation_counts = _allocation_counts(rows, variant_labels, settings)
    next_allocation = thompson_allocation(allocation_counts).round(4).to_dict() if len(allocation_counts) else {}
    arms_out = []
    for arm in arm_names:
        counts = rows[arm]
        is_holdout = arm == HOLDOUT
        holdout_conversion = lifts.get(HOLDOUT) if is_holdout else None
        arms_out.append(
            ArmOut(
                arm=arm,
                customers=counts["customers"],
                sends=counts["sends"],
                opens=None if is_holdout else counts["opens"],
                clicks=None if is_holdout else counts["clicks"],
                sends_reporting_opens=None if is_holdout else counts["open_trials"],
                sends_reporting_clicks=None if is_holdout else counts["click_trials"],
                conversions=counts["conversions"],
                open_rate=variant_stats["open"].get(arm),
                click_rate=variant_stats["click"].get(arm),
                conversion_rate=holdout_conversion or variant_stats["conversion"].get(arm),
                lift_over_holdout=lifts.get(f"lift:{arm}"),
                revenue=round(counts["revenue"], 2),
                revenue_per_customer=_tidy(counts["revenue"] / counts["customers"]) if counts["customers"] else None,
                revenue_lift_over_holdout=None if is_holdout else _revenue_lift(rows, arm, level),
            )
        )
    return ExperimentOut(
        campaign_id=campaign.id,
        holdout_share=campaign.holdout_share,
        level=level,
        allocation_outcome=settings.allocation_outcome,
        conversion_window_days=settings.conversion_window_days,
        conversion_definition=(
            "a conversion event on the customer's send, or a purchase within "
            f"{settings.conversion_window_days} days after the customer was assigned (the holdout: purchases only)"
        ),
        next_allocation={str(arm): float(share) for arm, share in next_allocation.items()},
        pinned=session.scalar(
            select(func.count()).where(Draft.campaign_id == campaign.id, Draft.pinned, Draft.status == "sent")
        ),
        arms=arms_out,
        warnings=_unseen_allocation(rows, variant_labels, settings.allocation_outcome)
        or _machines_only(rows, variant_labels, settings.allocation_outcome),
    )


def _unseen_allocation(rows: dict[str, dict[str, float]], arms: list[str], outcome: str) -> list[str]:
    """The warning when the experiment cannot learn: it has sent, none of its arms' sends could report the outcome
    it allocates by, and email sent now will not either (its own tracking is off, and with no email service's report
    none could)."""
    sends = sum(rows[arm]["sends"] for arm in arms)
    if outcome not in TRACKED or not sends or any(rows[arm][f"{outcome}_trials"] for arm in arms):
        return []
    carried = TrackingSettings().carried()
    return [] if tracked_now(outcome, carried) else [unseen_warning(outcome, sends, carried, just_sent=False)]


def no_reader_signal(
    session: Session, campaign_id: int, just_sent: int, allocated_from: ArmOutcomes | None = None
) -> str | None:
    """The results' warning (``_machines_only``) that the experiment's arms have only machines' outcomes of the kind
    it allocates by, no reader's, for the result of a send of ``just_sent`` emails in the arms to say too. None when a
    reader's is recorded, or none at all, or when the batch was the arms' first: a first batch is split evenly by
    rule, and the gateways that open its email as it arrives would have it warn every time. The outcomes are read
    again only where they can give the warning: not when the batch was ``allocated_from`` outcomes holding a
    reader's, nor for an outcome no machine makes (a conversion)."""
    settings = ExperimentSettings()
    if settings.allocation_outcome not in MACHINES_COLUMNS or (allocated_from and allocated_from.reader_seen()):
        return None
    arms, rows = arm_outcomes(session, campaign_id, settings)
    if sum(rows[arm]["sends"] for arm in arms) <= just_sent:
        return None
    return next(iter(_machines_only(rows, arms, settings.allocation_outcome)), None)


def _machines_only(rows: dict[str, dict[str, float]], arms: list[str], outcome: str) -> list[str]:
    """The warning when the experiment has no reader's signal to learn from: of its arms' sends that could report the
    outcome it allocates by, machines opened or clicked some (``machine_open``, ``machine_click``) and no reader any,
    so no arm is ahead and the next batch is split evenly, which the results would show with no word of why."""
    if outcome not in MACHINES_COLUMNS or any(rows[arm][f"{outcome}_successes"] for arm in arms):
        return []
    machines = sum(rows[arm][f"{outcome}_machines"] for arm in arms)
    sends = sum(rows[arm][f"{outcome}_trials"] for arm in arms)
    return [machines_only_warning(outcome, machines, sends)] if machines else []


def _allocation_counts(
    rows: dict[str, dict[str, float]], arms: list[str], settings: ExperimentSettings
) -> pd.DataFrame:
    """What Thompson sampling allocates the next batch from: every variant arm's sends and outcomes (an arm not
    sent yet takes part with its prior). The sender and the results both use it, so that ``next_allocation`` is
    the split the next batch gets."""
    return _counts(rows, arms, settings.allocation_outcome, sent_only=False)


def _counts(rows: dict[str, dict[str, float]], arms: list[str], outcome: str, sent_only: bool = True) -> pd.DataFrame:
    """Trials (the sends that could report ``outcome``) and successes per variant arm: those that have been sent, or
    (``sent_only=False``) all."""
    sent = [arm for arm in arms if rows[arm]["sends"] or not sent_only]
    trials, successes = ([rows[arm][f"{outcome}_{name}"] for arm in sent] for name in ("trials", "successes"))
    return pd.DataFrame({"arm": sent, "trials": trials, "successes": successes})


def _variant_effects(rows: dict[str, dict[str, float]], arms: list[str], outcome: str, level: float) -> dict:
    """Each variant arm's rate with its interval and P(best); an arm not sent yet shows its prior (a uniform
    rate), which is what Thompson sampling gives it its share by."""
    counts = _counts(rows, arms, outcome, sent_only=False)
    if counts.empty:
        return {}
    table = effects(counts, control=counts.arm.iloc[0], level=level)
    p_best = thompson_allocation(counts)
    return {arm: _rate(table.loc[arm], float(p_best[arm])) for arm in counts.arm}


def _holdout_lifts(rows: dict[str, dict[str, float]], arms: list[str], level: float) -> dict:
    """The holdout's conversion rate (key ``holdout``) and each sent arm's lift over it (``lift:<arm>``)."""
    if not rows[HOLDOUT]["customers"]:
        return {}
    counts = _counts(rows, arms, "conversion")
    counts = pd.concat(
        [
            counts,
            pd.DataFrame(
                {"arm": [HOLDOUT], "trials": [rows[HOLDOUT]["customers"]], "successes": [rows[HOLDOUT]["conversions"]]}
            ),
        ],
        ignore_index=True,
    )
    table = effects(counts, control=HOLDOUT, level=level)
    lifts: dict = {HOLDOUT: _rate(table.loc[HOLDOUT], None)}
    for arm in counts.arm:
        if arm != HOLDOUT:
            row = table.loc[arm]
            lifts[f"lift:{arm}"] = LiftOut(
                mean=_tidy(row["lift"]), low=_tidy(row["lift_low"]), high=_tidy(row["lift_high"]),
                p_better=_tidy(row["p_better_than_control"]), observed=_tidy(row["lift_observed"]),
            )  # fmt: skip
    return lifts


def _revenue_lift(rows: dict[str, dict[str, float]], arm: str, level: float) -> RevenueLiftOut | None:
    """The arm's revenue per customer minus the holdout's, with its interval (None without a holdout, or before
    any purchase in either: see scoring.experiments.revenue_difference)."""

    def summary(name: str) -> tuple[int, float, float]:
        return int(rows[name]["customers"]), rows[name]["revenue"], rows[name]["revenue_squares"]

    difference = revenue_difference(summary(arm), summary(HOLDOUT), level=level)
    return RevenueLiftOut(**{name: _tidy(value) for name, value in difference.items()}) if difference else None


def record_send(session: Session, campaign_id: int, customer: Customer, send: Send, arm: str, now: datetime) -> None:
    """Record a sent customer's arm (their send carries it too)."""
    send.arm = arm
    session.flush()
    assignment = session.scalar(
        select(Assignment).where(Assignment.campaign_id == campaign_id, Assignment.customer_id == customer.id)
    )
    if assignment is None:
        assignment = Assignment(campaign_id=campaign_id, customer_id=customer.id, arm=arm, assigned_at=now)
        session.add(assignment)
    assignment.send_id = send.id
