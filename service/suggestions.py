"""Another version of a variant's copy, asked of the model for a copywriter (generation.suggestion): checked, scored
and answered, the draft left as it is. The copywriter saves it as any edit (service.drafts.edit_variant), which keeps
the review history and the revision check; the suggestion says the revision it was written from.

The model may take a while (TAILOR_LLM_SUGGESTION_DEADLINE bounds it), so the draft is read and the read ended
before the call: no transaction stays open while the model writes. While it writes, the request holds one of the
API's worker threads: a variant has one suggestion written at a time, and the server at most ``AT_ONCE``, so that
suggestions asked again and again can neither pay the model for the same copy many times over nor stall the API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy.orm import Session

from generation.errors import ModelTimedOut, ModelUnavailable
from generation.settings import LLMSettings
from service.drafts import REVIEWABLE, get_draft
from service.errors import (
    Conflict,
    CopyModelBusy,
    CopyModelTimedOut,
    CopyModelUnavailable,
    InvalidInput,
    NotFound,
    NotReady,
    Problem,
)  # fmt: skip
from service.pipeline.model_store import ModelStore
from service.schemas import CheckOut, SuggestionOut

WHAT_NEXT = "No suggestion was made and the draft is unchanged: try again later, or edit the copy yourself."
# Suggestions written at once by this server, each holding one of the API's 40 worker threads for up to
# TAILOR_LLM_SUGGESTION_DEADLINE: enough for a team of copywriters, far from all the threads.
AT_ONCE = 8
_being_written: dict[int, float] = {}  # variant id -> when its suggestion was asked (time.monotonic())
_being_written_lock = threading.Lock()


def suggest_for_variant(
    session: Session, draft_id: int, variant_id: int, note: str, models: ModelStore | None = None,
    settings: LLMSettings | None = None,
) -> SuggestionOut:  # fmt: skip
    """A new version of the variant's subject, preheader and intro, written by the configured model with ``note``
    as the copywriter's wish, with its checks and (with ``models``' engagement model) its predictions. Refused: a
    draft already reviewed (409), a variant whose suggestion is being written (409), a note over the limits (422,
    `note`), every version failing the checks (422, naming each check), ``AT_ONCE`` suggestions being written (503),
    the model unreachable (503) or too slow (504)."""
    from generation.brands import load_brand
    from generation.copywriter import CopyVariant
    from generation.suggestion import LocaleNotWritten, NoteInvalid, SuggestionTurnedDown, checked_note, suggest_copy
    from service.pipeline.generate import score_in_place_of
    from service.pipeline.rendering import draft_request

    draft = get_draft(session, draft_id)
    if draft.status not in REVIEWABLE:
        raise Conflict(
            f"Draft {draft.id} is already {draft.status}; only pending or flagged drafts get suggestions (reopen it "
            "first to change its copy)."
        )
    variant = next((v for v in draft.variants if v.id == variant_id), None)
    if variant is None:
        raise NotFound(f"Variant {variant_id} is not a variant of draft {draft_id}.")
    brand = load_brand(draft.campaign.brand.slug)
    request = draft_request(draft, brand)
    # as stored: a preheader a copywriter emptied is none, which a model's version must not be
    current = CopyVariant.model_construct(subject=variant.subject, preheader=variant.preheader, intro=variant.intro)
    label, lines, revision = variant.label, list(variant.product_lines or []), draft.revision
    session.commit()  # the read ends here: the model's minutes hold no transaction open
    try:
        with _one_of_few(draft_id, variant_id, label):
            suggestion = suggest_copy(
                request, brand, current, lines, note=note, variant_id=label, settings=settings or LLMSettings()
            )
    except NoteInvalid as invalid:
        raise InvalidInput("suggestion", [Problem(None, "note", str(invalid), "field")]) from None
    except SuggestionTurnedDown as turned_down:
        problems = [Problem(None, name, why, "check") for name, why in turned_down.reasons]
        raise InvalidInput(
            "suggestion", problems, outcome=f"turned down: the model's {turned_down.versions} versions failed the "
            "checks, nothing was changed (ask again, perhaps with another note, or edit the copy yourself)",
        ) from None  # fmt: skip
    except LocaleNotWritten as unwritten:
        raise Conflict(str(unwritten)) from None
    except ModelTimedOut as slow:
        raise CopyModelTimedOut(f"{slow} {WHAT_NEXT}") from None
    except ModelUnavailable as down:
        raise CopyModelUnavailable(f"{down} {WHAT_NEXT}") from None
    written = suggestion.variant
    scores = {"p_open": None, "p_click": None, "p_conversion": None, "reasons": []}
    if models is not None:
        with suppress(NotReady):  # drafts made before any scoring model: nothing to score with
            scored = get_draft(session, draft_id)
            scores = score_in_place_of(scored, label, written, written.passed, models.get("engagement"))
    return SuggestionOut(
        draft_id=draft_id, variant_id=variant_id, label=label, revision=revision, note=checked_note(note),
        subject=written.subject, preheader=written.preheader, intro=written.intro, product_lines=written.product_lines,
        html=written.html, text=written.text, checks=[CheckOut(**c.model_dump()) for c in written.checks],
        passed=written.passed, versions=suggestion.versions, **scores,
    )  # fmt: skip


@contextmanager
def _one_of_few(draft_id: int, variant_id: int, label: str) -> Iterator[None]:
    """Holds the variant's place among the suggestions being written while the model writes; Conflict when the
    variant's suggestion is already being written (its answer goes to the request that asked for it), CopyModelBusy
    when ``AT_ONCE`` are."""
    with _being_written_lock:
        if (asked := _being_written.get(variant_id)) is not None:
            raise Conflict(
                f"A suggestion for variant {label} of draft {draft_id} is already being written (asked "
                f"{time.monotonic() - asked:.0f} s ago); its answer goes to the request that asked for it. Wait for "
                "it, then ask again if you want another version."
            )
        if len(_being_written) >= AT_ONCE:
            raise CopyModelBusy(
                f"The server is already writing {len(_being_written)} suggestions, as many as it writes at once; "
                f"nothing was asked of the model. Try again in {CopyModelBusy.retry_after_seconds} s."
            )
        _being_written[variant_id] = time.monotonic()
    try:
        yield
    finally:
        with _being_written_lock:
            del _being_written[variant_id]
