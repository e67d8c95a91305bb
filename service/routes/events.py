"""Ingest of delivery, open, click, conversion and unsubscribe events from the email service provider."""

from fastapi import APIRouter

from service.deps import ApiKeyDep, RecordingSessionDep
from service.events import ingest_events
from service.routes.responses import KEYED, errors
from service.schemas import EventsIn, EventsRecorded

router = APIRouter(tags=["events"], responses=errors(*KEYED, 413))


# Fields left out stay out (`skipped` with none skipped, the way an event did not name its send), as ever.
@router.post("/events", response_model=EventsRecorded, response_model_exclude_unset=True)
def post_events(body: EventsIn, session: RecordingSessionDep, _key: ApiKeyDep) -> dict:
    """Record delivery, open, click, conversion and unsubscribe events of sent email, each naming its send by
    `send_id` or `message_id` (the email's Message-ID, with or without its angle brackets). An open or a click your
    service tells a machine made (SendGrid's `sg_machine_open`) is posted as `machine_open` or `machine_click`: kept,
    and counted apart from the readers' (the campaign's `machine_opened`, `machine_clicked`). An event that names
    a send that never existed refuses the whole batch (422). An event of a send erased with its customer
    (DELETE /customers/{id}) is skipped: the answer then lists it in `skipped`, with its `index` in the batch, the
    `send_id` or `message_id` it named and the `reason`, and the batch's other events are recorded.

    An event is a duplicate (counted in `duplicates`, not recorded again) when its send already has an event with
    the same `event_id`; an event without `event_id`, when its send already has one of the same kind at the same
    `occurred_at`. An event without either happened now, so a retry of it is recorded again: send your service's
    own id for each event as `event_id` (or at least its `occurred_at`), so that retries are counted once and two
    purchases in the same second are both kept.

    A database busy past its timeout with another write (SQLite's one writer, held by a big import) answers 503 with
    Retry-After, nothing of the batch written: send it again then, as email services do with a 5xx."""
    return ingest_events(session, body.events)
