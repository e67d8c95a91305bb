"""Ingest of delivery, open, click, conversion and unsubscribe events from the email service provider."""

from fastapi import APIRouter

from service.deps import ApiKeyDep, SessionDep
from service.events import ingest_events
from service.routes.responses import KEYED, errors
from service.schemas import EventsIn

router = APIRouter(tags=["events"], responses=errors(*KEYED))


@router.post("/events")
def post_events(body: EventsIn, session: SessionDep, _key: ApiKeyDep) -> dict:
    """Record delivery, open, click, conversion and unsubscribe events of sent email, each naming its send by
    `send_id` or `message_id`; an event that names no known send refuses the whole batch (422), and an event
    already recorded is counted as a duplicate, not recorded twice."""
    return ingest_events(session, body.events)
