"""Ingest of delivery, open, click, conversion and unsubscribe events from the email service provider."""

from fastapi import APIRouter

from service.deps import ApiKeyDep, SessionDep
from service.events import ingest_events
from service.schemas import EventsIn

router = APIRouter(tags=["events"])


@router.post("/events")
def post_events(body: EventsIn, session: SessionDep, _key: ApiKeyDep) -> dict:
    return ingest_events(session, body.events)
