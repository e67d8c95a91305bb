"""Ingest of delivery, open, click, conversion and unsubscribe events from the email service provider."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from service.db.session import session_scope, wait_for_locks_bounded
from service.deps import ApiKeyDep, RecordingSessionDep
from service.events import event_refusals, ingest_events
from service.routes.responses import KEYED, errors
from service.schemas import EventIn, EventsIn, EventsRecorded


class EventsRoute(APIRoute):
    """A batch some of whose events FastAPI refused (a bad `kind`) is refused naming the problems of its other
    events too (a send that never existed...), each by its index in the batch: the client fixed the first and was
    then refused again for the second. Only for a caller whose key was taken (dependencies come before the body)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as refused:
                raise await _with_refusals_of_the_others(request, refused) from None

        return answer


async def _with_refusals_of_the_others(request: Request, refused: RequestValidationError) -> RequestValidationError:
    """``refused`` with the refusals (``service.events.event_refusals``) of the batch's events it did not name, in
    the order of their indices; ``refused`` itself when the body is no batch of events to read one by one."""
    named = [tuple(error["loc"]) for error in refused.errors()]
    # Anything else wrong is the body as a whole or its list of events (more than 10,000: refused unread).
    if not all(len(loc) > 2 and loc[:2] == ("body", "events") and isinstance(loc[2], int) for loc in named):
        return refused
    wrong = {loc[2] for loc in named}
    events = [(index, event) for index, event in enumerate((await request.json())["events"]) if index not in wrong]
    more = await run_in_threadpool(_refusals, request.app.state.tailor.engine, events)
    every = sorted([*refused.errors(), *more], key=lambda error: error["loc"][2])
    return RequestValidationError(every, body=refused.body)


def _refusals(engine: Engine, events: list[tuple[int, Any]]) -> list[dict[str, Any]]:
    """The refusals of these events of a batch (each with its index in it, as JSON), as errors of the request: in a
    thread of its own, as a route's reading of the database is, off the server's event loop."""
    readable = [(index, EventIn.model_validate(event)) for index, event in events]  # FastAPI read them without fault
    with session_scope(engine) as session:
        # as long as other requests' reads, not the recording wait of the events' writes: it records nothing, and
        # a 503 is sent again by the email service, to be refused then
        wait_for_locks_bounded(session)
        refusals = event_refusals(session, readable)
    return [
        {"type": "value_error", "loc": ("body", "events", refusal.index, *([refusal.field] if refusal.field else [])),
         "msg": refusal.message, "input": None}
        for refusal in refusals
    ]  # fmt: skip


router = APIRouter(tags=["events"], responses=errors(*KEYED), route_class=EventsRoute)


# Fields left out stay out (`skipped` with none skipped, the way an event did not name its send), as ever.
@router.post("/events", response_model=EventsRecorded, response_model_exclude_unset=True, responses=errors(413))
def post_events(body: EventsIn, session: RecordingSessionDep, _key: ApiKeyDep) -> dict:
    """Record delivery, open, click, conversion and unsubscribe events of sent email, each naming its send by
    `send_id` or `message_id` (the email's Message-ID, with or without its angle brackets). An open or a click your
    service tells a machine made (SendGrid's `sg_machine_open`) is posted as `machine_open` or `machine_click`: kept,
    and counted apart from the readers' (the campaign's `machine_opened`, `machine_clicked`). An event that names
    a send that never existed refuses the whole batch (422), which names every problem of the batch it found, each by
    its event's index (`events[3].kind`, `events[5].send_id`): a bad field of one event and a send another names
    that never existed are told in one answer. An event of a send erased with its customer
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
