"""Send-time optimization: the best hour to mail each customer, alone or for a whole campaign."""

from fastapi import APIRouter, Query

from service import campaigns as campaign_ops
from service import customers as customer_ops
from service import send_times
from service.deps import ApiKeyDep, OffsetQuery, SessionDep
from service.routes.responses import KEYED, errors
from service.schemas import DatabaseId, SendTimeOut

router = APIRouter(tags=["send times"], responses=errors(*KEYED))


@router.get("/customers/{customer_id:external_id}/send-time", response_model=SendTimeOut, responses=errors(404, 409))
def customer_send_time(customer_id: str, session: SessionDep, _key: ApiKeyDep) -> SendTimeOut:
    """The hour this customer most likely opens, from their past opens shrunk towards the shop's."""
    customer = customer_ops.get_customer(session, customer_id)
    return send_times.best_hours(session, [customer.external_id])[0]


@router.get("/campaigns/{campaign_id}/send-times", response_model=list[SendTimeOut], responses=errors(404, 409))
def campaign_send_times(
    campaign_id: DatabaseId, session: SessionDep, _key: ApiKeyDep,
    limit: int = Query(1000, ge=1, le=1000), offset: OffsetQuery = 0,
) -> list[SendTimeOut]:  # fmt: skip
    """The best send hour of each customer with a draft in the campaign, a page at a time in the audience's order,
    the order a send mails them in (a campaign of a million customers was one answer of 64 MB): ask again with
    `offset` moved on by `limit` until a page comes back shorter than `limit`."""
    campaign_ops.get_campaign(session, campaign_id)
    return send_times.campaign_send_times(session, campaign_id, limit=limit, offset=offset)
