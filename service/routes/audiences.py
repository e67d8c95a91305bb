"""Audience preview for campaigns: who a campaign type and query reach, with reasons and offers."""

from fastapi import APIRouter, Query

from service.audiences import preview_audience
from service.deps import ApiKeyDep, OffsetQuery, SessionDep
from service.routes.responses import KEYED, errors
from service.schemas import AudienceOut, CampaignType

router = APIRouter(tags=["audience"], responses=errors(*KEYED))


@router.get("/audience", response_model=AudienceOut)
def audience(
    session: SessionDep, _key: ApiKeyDep, campaign_type: CampaignType,
    query: str | None = Query(None, description="e.g. segment in (at_risk, cant_lose) and clv > 100"),
    limit: int = Query(20, ge=0, le=1000, description="how many customers to list"), offset: OffsetQuery = 0,
) -> dict:  # fmt: skip
    """Mailable customers a campaign of `campaign_type` would target today, narrowed by `query`: how many
    (`customers`), how many of them were mailed within the contact policy's days (`mailed_recently`: sent now,
    their emails would wait), how many an experiment holds out within its conversion window (`held_out`: they
    would wait for its end), and a page of `limit` of them after `offset`, with why they are in it and their offer:
    in the campaign's order, ties in the order the customers were added, so that pages read one after another
    neither repeat nor skip a customer."""
    return preview_audience(session, campaign_type, query, limit, offset)
