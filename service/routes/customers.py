"""Customers with their segment and profile, everything held about one (a subject access request), their erasure and
its lifting, products, and recommendations for one customer."""

from fastapi import APIRouter, Query, Response, status

from recommenders.rules import Rules
from service import customers as customer_ops
from service import erasures, subject_access
from service.bounds import BOOST_WEIGHT_MAX
from service.consent import latest_changes
from service.deps import WHOLE_LIST, ApiKeyDep, OffsetQuery, SessionDep, StateDep
from service.errors import InvalidInput, Problem
from service.pipeline.frames import boost_weights
from service.pipeline.training import submit_audience_refresh
from service.renamed_fields import either_name
from service.routes.responses import KEYED, errors
from service.schemas import (
    CustomerOut,
    CustomerSendOut,
    ErasureLiftIn,
    ErasuresLifted,
    ProductOut,
    Recommendation,
    SegmentOut,
    SubjectAccessOut,
)
from service.segments import latest_segments, none_stored_note, refresh_note, refresh_under_way

router = APIRouter(tags=["customers"], responses=errors(*KEYED))
# A customer's own record, by an id that may hold "/" (a shop's "2024/0001", service.external_ids): its
# path would also take /customers/{id}/sends and the other routes under a customer, so the app includes it last.
record_router = APIRouter(tags=["customers"], responses=errors(*KEYED))

# What the recent-arrival boost lifts: its old name, boost_new, read as a lift of the answers' `new_arrival`, which
# marks another newness (a product the model was trained without) and which the boost does not read.
RECOMMENDED_MAX = 100  # products one request for recommendations may ask for (k)
RECENTLY_ARRIVED = (
    "weight that lifts the products whose catalog `arrived_at` falls within the last 30 days (the products file's "
    "column; a product without one is never lifted), added to a score running from 1 for the model's first pick "
    "down to 0, however low the model ranks them. Not the answer's `new_arrival`, which marks a product the model "
    "was trained without, whenever it arrived"
)
WARNING = "X-Tailor-Warning"
_ERASED_ADDRESS = {
    200: {
        "description": "the customers",
        "headers": {
            WARNING: {
                "description": "set when the `email` asked for is nobody's and was an erased customer's: when",
                "schema": {"type": "string"},
            }
        },
    }
}

AUDIENCE_JOB = "X-Tailor-Audience-Job"
_RECOMPUTING = {
    200: {
        "description": "the segments",
        "headers": {
            AUDIENCE_JOB: {
                "description": "set while an audience refresh (or a training) is queued or running, which stores "
                "the segments' next figures: its job id, to follow at GET /jobs/{id}",
                "schema": {"type": "string"},
            },
            WARNING: {
                "description": "set with it: which as-of day the figures answered describe, or that `[]` means "
                "none stored yet, until that job ends; and on a `[]` of a shop with orders, which no job is "
                "recomputing: why, and what computes them",
                "schema": {"type": "string"},
            },
        },
    }
}


@router.get("/customers", response_model=list[CustomerOut], responses=_ERASED_ADDRESS)
def list_customers(
    session: SessionDep, _key: ApiKeyDep, response: Response,
    segment: str | None = Query(None, description="an RFM segment as GET /segments lists them, or no_orders"),
    email: str | None = Query(None, description="only the customers at this address, in any case (a household "
        "may hold several ids)"),
    unsubscribed: bool | None = Query(None, description="only those unsubscribed (true: by an email's link, an "
        "event or a file; each with `unsubscribed_at`), or only those not (false)"),
    limit: int = Query(100, ge=1, le=1000), offset: OffsetQuery = 0,
) -> list[CustomerOut]:  # fmt: skip
    """Customers a page at a time, optionally of one `segment`, at one `email` address (whom a person who writes
    in is) or `unsubscribed` (the unsubscribes for the shop's own systems to honour), each with their segment and
    profile (churn risk, CLV, expected purchases, cluster). An `email` nobody has that was an erased customer's is
    answered `[]` with the header `X-Tailor-Warning` saying so, and when."""
    found = customer_ops.list_customers(session, segment, limit, offset, email=email, unsubscribed=unsubscribed)
    if email is not None and not found and not offset and (note := customer_ops.erased_address_note(session, email)):
        response.headers[WARNING] = note
    latest = latest_changes(session, [customer.id for customer in found])
    return [customer_ops.customer_out(customer, latest.get(customer.id)) for customer in found]


@router.get(
    "/segments",
    response_model=list[SegmentOut],
    responses=_RECOMPUTING,
    openapi_extra={WHOLE_LIST: "the segments are answered whole, not a page at a time: they are a handful, one for "
                   "each RFM segment and one for no_orders"},
)  # fmt: skip
def segments(session: SessionDep, _key: ApiKeyDep, response: Response) -> list[dict]:
    """Every segment with its customers, revenue, orders and average order value, and its retention: of the
    customers in the segment on `retention_since` (`retention_days` before the as-of day; `retention_base` of
    them), the share who ordered again since (`retention_rate`). As the latest audience refresh computed them
    (after each orders import, and in training): `as_of`, `computed_at`; but `customers` as they are now, the
    customers `GET /customers?segment=` lists (those imported since, without orders, under `no_orders`). While the
    job that stores their next figures is queued or running (an audience refresh after an orders import or an
    erasure, or a training), the header `X-Tailor-Audience-Job` gives its id and `X-Tailor-Warning` says which as-of
    day the figures answered describe, or that `[]` means none stored yet: an erasure deletes the figures that counted
    the customer's orders, and until the refresh it queues ends, older ones are answered, or none. A `[]` of a shop
    with orders and no such job (an erasure by `tailor customers erase`, or failed refreshes) says so in
    `X-Tailor-Warning` too."""
    found = latest_segments(session)
    if (job_id := refresh_under_way(session)) is not None:
        response.headers[AUDIENCE_JOB] = job_id
        response.headers[WARNING] = refresh_note(job_id, found)
    elif not found and (note := none_stored_note(session)):
        response.headers[WARNING] = note
    return found


@router.get("/customers/{customer_id:external_id}/sends", response_model=list[CustomerSendOut], responses=errors(404))
def customer_sends(
    customer_id: str, session: SessionDep, _key: ApiKeyDep,
    limit: int = Query(50, ge=1, le=500), offset: OffsetQuery = 0,
) -> list[CustomerSendOut]:  # fmt: skip
    """The emails the customer was sent, newest first (Tailor's campaigns and the imported history), each with its
    events (delivered, open, click, conversion, unsubscribe, complaint, bounce): what a shop answers a customer
    who asks what they were sent, and why they stopped getting mail."""
    sends = customer_ops.customer_sends(session, customer_id, limit, offset)
    return [CustomerSendOut.model_validate(send, from_attributes=True) for send in sends]


@router.get(
    "/customers/{customer_id:external_id}/export",
    response_model=SubjectAccessOut,
    responses=errors(404),
    openapi_extra={WHOLE_LIST: "the export is answered whole, not a page at a time: everything Tailor holds about the "
                   "customer in one document, as it is handed to them (GDPR Art. 15 and 20)"},
)  # fmt: skip
def export_customer(customer_id: str, session: SessionDep, _key: ApiKeyDep) -> SubjectAccessOut:
    """Everything Tailor holds about the customer, in one document for the shop to hand over when the customer asks
    (a subject access request, GDPR Art. 15 and 20): their record, order lines, drafts with their variants and
    review history, sends with their events, experiment assignments, and what else may hold something of them
    (`not_included`). 404 for a customer it does not hold, saying so when they were erased."""
    return subject_access.subject_access(session, customer_id)


@router.get(
    "/customers/{customer_id:external_id}/recommendations",
    response_model=list[Recommendation],
    responses=errors(404, 409),
    openapi_extra={WHOLE_LIST: "the recommendations are one ranked list, not a page at a time: the customer's best "
                   f"k (at most {RECOMMENDED_MAX}); ask for more with k"},
)  # fmt: skip
def recommendations(
    customer_id: str, session: SessionDep, state: StateDep, _key: ApiKeyDep,
    k: int = Query(10, ge=1, le=RECOMMENDED_MAX),
    include_seen: bool = Query(False, description="also recommend products the customer already bought"),
    reorderable_categories: list[str] = Query([], description="categories whose bought products may come again"),
    max_per_category: int | None = Query(None, ge=1, description="at most this many products of one category"),
    max_per_family: int | None = Query(None, ge=1,
        description="at most this many products of one family, told apart by name, unless categories tell them apart"),
    price_band_low: float | None = Query(None, gt=0, allow_inf_nan=False,
        description="lowest price as a multiple of the usual spend"),
    price_band_high: float | None = Query(None, gt=0, allow_inf_nan=False,
        description="highest price as a multiple of the usual spend"),
    boost_margin: float = Query(0.0, ge=0, le=BOOST_WEIGHT_MAX, allow_inf_nan=False,
        description="weight of the product's margin (scaled 0-1 over the catalog)"),
    boost_recently_arrived: float | None = Query(None, ge=0, le=BOOST_WEIGHT_MAX, allow_inf_nan=False,
        description=RECENTLY_ARRIVED),
    boost_new: float | None = Query(None, ge=0, le=BOOST_WEIGHT_MAX, allow_inf_nan=False, deprecated=True,
        description="deprecated: the same as `boost_recently_arrived`, which replaces it; still taken, and refused "
        "(422) with it when the two differ"),
) -> list[Recommendation]:  # fmt: skip
    """Top-k in-stock products for one customer, after the business rules the query asks for. A list the model
    cannot fill (products imported since its training that read like none it knows) is filled with those products by
    their recent popularity in the shop's orders, each marked `fallback`; where it can rank none and none of those was
    ever bought, a 409 says so."""
    recently_arrived = either_name(
        "recommendations", "boost_recently_arrived", boost_recently_arrived, "boost_new", boost_new
    )
    if (price_band_low is None) != (price_band_high is None):
        missing = "price_band_low" if price_band_low is None else "price_band_high"
        problem = Problem(None, missing, "give both price band bounds or neither", "parameter")
        raise InvalidInput("recommendations", [problem], outcome="refused")  # a read: nothing to write
    if price_band_low is not None and price_band_low > price_band_high:
        above = f"{price_band_low} is above price_band_high"
        raise InvalidInput("recommendations", [Problem(None, "price_band_low", above, "parameter")], outcome="refused")
    customer = customer_ops.get_customer(session, customer_id)
    recommender, catalog = state.models.get("recommender"), state.catalog.get(session)
    rules = Rules(
        exclude_bought=not include_seen,
        reorderable_categories=customer_ops.known_categories(catalog, reorderable_categories),
        max_per_category=max_per_category,
        max_per_family=max_per_family,
        price_band=(price_band_low, price_band_high) if price_band_low is not None else None,
        boosts=boost_weights(margin=boost_margin, new=recently_arrived or 0.0),
    )  # fmt: skip
    return customer_ops.recommend_for(session, recommender, catalog, customer, k, rules, state.popularity)


_NO_ERASURE = {
    404: {**errors(404)[404], "description": "No erasure holds the customer id or the address given."},
    **errors(413),
}


@router.post("/erasures/lift", response_model=ErasuresLifted, responses=_NO_ERASURE)
def lift_erasures(body: ErasureLiftIn, session: SessionDep, _key: ApiKeyDep) -> ErasuresLifted:
    """Let back in someone erased (DELETE /customers/{id}) who signed up again of their own will, named by the
    customer id they were erased under, their address, or both: the next imports bring them in, with their orders
    and sends, where they left them out. 404 when no erasure holds either."""
    return ErasuresLifted(lifted=erasures.lift_erasures(session, body.customer_id, body.email))


@router.get("/products", response_model=list[ProductOut])
def list_products(
    session: SessionDep, _key: ApiKeyDep, category: str | None = None, in_stock: bool | None = None,
    limit: int = Query(100, ge=1, le=1000), offset: OffsetQuery = 0,
) -> list[ProductOut]:  # fmt: skip
    """Products a page at a time, optionally of one `category` (in any case) or only those `in_stock`."""
    return [customer_ops.product_out(p) for p in customer_ops.list_products(session, category, in_stock, limit, offset)]


@router.get("/products/{sku:external_id}", response_model=ProductOut, responses=errors(404))
def get_product(sku: str, session: SessionDep, _key: ApiKeyDep) -> ProductOut:
    """One product by its sku (one holding "/" too: `A%2F1` or `A/1`)."""
    return customer_ops.product_out(customer_ops.get_product(session, sku))


@record_router.get("/customers/{customer_id:external_id}", response_model=CustomerOut, responses=errors(404))
def get_customer(customer_id: str, session: SessionDep, _key: ApiKeyDep) -> CustomerOut:
    """One customer with their segment and profile (churn risk, CLV, expected purchases, cluster)."""
    customer = customer_ops.get_customer(session, customer_id)
    return customer_ops.customer_out(customer, latest_changes(session, [customer.id]).get(customer.id))


@record_router.delete(
    "/customers/{customer_id:external_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409, 507)
)
def erase_customer(customer_id: str, session: SessionDep, state: StateDep, _key: ApiKeyDep) -> None:
    """Erase a customer (the right to erasure): their record, orders, drafts, sends and events. Digests of their
    customer id and address are kept, nothing readable, so that an import does not bring them back (POST
    /erasures/lift lets them in again). Refused (409) while a campaign is being generated. The model versions
    trained before are deleted but the current ones, which forget them at the next training (POST /train); on
    SQLite, the write-ahead log that held their rows as they were is emptied. For a customer who had bought, the
    stored audience refreshes whose figures counted their orders are deleted, and a refresh is queued (GET
    /jobs?kind=audience), which recomputes the segments' figures without them: until then GET /segments serves the
    latest refresh from before their first order (its as_of says which), or nothing, its headers naming the job."""
    if customer_ops.erase_for_good(session, state.engine, state.models.models_dir, customer_id):
        submit_audience_refresh(state.jobs, state.engine)
