"""Typed FastAPI dependencies: the database session, the caller's API key, the app's shared state, and
parameters checked against the model registries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from types import UnionType
from typing import Annotated, Union, get_args, get_origin

from fastapi import Depends, Form, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from service.auth import act_with_key, verify_key, verify_session
from service.bounds import DATABASE_INT_MAX
from service.db.models import ApiKey
from service.db.session import session_scope, wait_for_locks_bounded
from service.errors import ReviewerChanged, Unauthorized
from service.external_ids import ExternalIdConvertor  # noqa: F401 (registers {name:external_id} for the routes)
from service.review import REVIEWING_AS
from service.state import AppState

REVIEW_COOKIE = "tailor_session"  # the review page's login: a session token (service.auth.open_session)
# A list route answered whole gives why in its OpenAPI operation under this name (``openapi_extra``); a request for a
# page of it (`GET /segments?limit=1`) is told why there is none, where "takes no parameter" left a client looking for
# the pages the other lists have.
WHOLE_LIST = "x-whole-list"
PAGE_PARAMETERS = ("limit", "offset", "cursor", "page", "page_size", "per_page")


def get_state(request: Request) -> AppState:
    return request.app.state.tailor


async def _awaited_state(request: Request) -> AppState:
    """``get_state`` as a dependency, awaited rather than run on the threads that run routes: requests waiting on a
    database that does not answer can hold every one of them, and /health waited behind them for a thread to be
    told the app's state."""
    return get_state(request)


StateDep = Annotated[AppState, Depends(_awaited_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """The request's session, whose writes wait a bounded time for another's lock (``wait_for_locks_bounded``)."""
    with session_scope(state.engine) as session:
        wait_for_locks_bounded(session)
        yield session


def get_recording_session(state: StateDep) -> Iterator[Session]:
    """The session of a request that records what a recipient or their email service did (an unsubscribe link, POST
    /events): on PostgreSQL its writes wait for another's lock longer than other requests' (an import's rows, held
    until it commits), since a busy answer would lose an unsubscribe that neither a browser nor every email service
    sends again; at most ``TAILOR_DB_RECORDING_WAIT_SECONDS`` (a lock held for good, by a session left open in a
    transaction, kept each such request waiting without end, and every request thread of the server once email
    services kept posting). SQLite's busy timeout bounds the wait for its one write lock. Past either, the unsubscribe
    link keeps the unsubscribe on disk (service.unsubscribe_spool), and POST /events is answered 503 with
    Retry-After, which email services retry."""
    with session_scope(state.engine) as session:
        wait_for_locks_bounded(session, round(state.recording_wait_seconds * 1000))
        yield session


# Function scope: the session commits as the route returns, before the response is sent, so that a client (the
# review page following its redirect) never reads the state from before a change it was told was made.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
RecordingSessionDep = Annotated[Session, Depends(get_recording_session, scope="function")]


# The two ways an API client sends its key, declared so that the OpenAPI document (and the docs page's
# Authorize button) states them; the review page's login cookie is the third.
KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="a key made by `tailor keys create`")
KEY_BEARER = HTTPBearer(auto_error=False, description="the same key as `Authorization: Bearer KEY`")


def require_key(
    request: Request, session: SessionDep,
    header: Annotated[str | None, Security(KEY_HEADER)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(KEY_BEARER)],
) -> ApiKey:  # fmt: skip
    """The caller's API key: sent by an API client, or the one the review page's session was opened with (the
    session's reviewer is then kept in ``request.state.reviewer``)."""
    key = header or (bearer.credentials if bearer else None)
    authorization = request.headers.get("Authorization", "")
    if not key and authorization:  # a key sent in another scheme ("Basic KEY") is not taken for no key at all
        scheme = (authorization.split() or [""])[0]  # a header of whitespace alone names no scheme
        raise Unauthorized(f"The Authorization header must be 'Bearer KEY', not '{scheme[:20]} …'; or send the key as "
                           "the X-API-Key header.")  # fmt: skip
    token = request.cookies.get(REVIEW_COOKIE)
    if token and not key:
        review_session = verify_session(session, token)
        request.state.reviewer = review_session.reviewer
        request.state.by_review_session = True  # a browser's: its forms name the reviewer their page showed
        act_with_key(session, review_session.api_key)
        refuse_repeated_query_values(request)
        return review_session.api_key
    found = verify_key(session, key)
    if token:  # a signed-in reviewer whose browser also sends their key: the reviews still record their name
        with suppress(Unauthorized):
            review_session = verify_session(session, token)
            if review_session.api_key_id == found.id:  # another key's review is not the signed-in person's
                request.state.reviewer = review_session.reviewer
    act_with_key(session, found)
    refuse_repeated_query_values(request)
    return found


ApiKeyDep = Annotated[ApiKey, Depends(require_key)]


def known_query_parameters(request: Request, _key: ApiKeyDep) -> None:
    """Refuse a query parameter the route does not take with a 422 naming it and those it takes, for the routes
    where one ignored changes what is done: a misspelt business rule (``?max_per_categroy=1``) came back as a list
    without the rule, as if it held, and ``POST /train?modle=als`` trained the default model. After the key, as
    `refuse_repeated_query_values`: a caller without one learns nothing of the route's parameters."""
    if (route := request.scope.get("route")) is None:
        return
    taken = list(dict.fromkeys(field.alias for field in _query_fields(route.dependant)))
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in taken]
    if unknown:
        message = f"is no parameter of this request; it takes {', '.join(taken)}" if taken else "takes no parameter"
        whole = (route.openapi_extra or {}).get(WHOLE_LIST)
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", name),
                    "msg": f"{message}: {whole}" if whole and name in PAGE_PARAMETERS else message,
                    "input": request.query_params[name],
                }
                for name in unknown
            ]
        )


def reviewer_name(request: Request, key: ApiKeyDep) -> str:
    """Who acts: on the review page, the name given at login; through the API, the key's name."""
    return getattr(request.state, "reviewer", None) or key.name


ReviewerDep = Annotated[str, Depends(reviewer_name)]


def page_reviewer(
    request: Request, reviewer: ReviewerDep, reviewing_as: Annotated[str | None, Form(alias=REVIEWING_AS)] = None
) -> str:
    """Who acts by a review page's form (reviewer_name's), once the form shows that its page was shown to them: a
    browser signed in by its review session sends the name the page said it was "reviewing as". A tab showing Ann
    whose browser was signed in as Bob in another tab since recorded Ann's approval as Bob's; the form, naming
    another reviewer or none, is now refused (ReviewerChanged) and offered again. An API client's key is its own:
    no page was shown to it."""
    if getattr(request.state, "by_review_session", False) and reviewing_as != reviewer:
        raise ReviewerChanged(reviewing_as or "", reviewer)
    return reviewer


PageReviewerDep = Annotated[str, Depends(page_reviewer)]


def registered_recommender(name: str | None) -> str | None:
    """`name` if a recommender is registered under it (None stays None: the configured default)."""
    from recommenders.errors import UnknownModel
    from recommenders.registry import model_class

    if name is not None:
        try:
            model_class(name)
        except UnknownModel as error:
            raise ValueError(str(error)) from None
    return name


RecommenderQuery = Annotated[
    str | None,
    Query(description="a registered recommender (default: TAILOR_CAMPAIGN_RECOMMENDER)"),
    AfterValidator(registered_recommender),
]


def require_tunable(model: str | None, trials: int) -> None:
    """Refuse a hyperparameter search of a recommender that has none with a 422 naming `tune`, as an unknown
    model name is refused, before any job starts (the job would fail after refreshing the audience)."""
    from service.pipeline.training import tuning_problem

    if problem := tuning_problem(model, trials):
        error = {"type": "value_error", "loc": ("query", "tune"), "msg": problem, "input": trials}
        raise RequestValidationError([error])


async def single_query_values(request: Request) -> None:
    """An app-wide dependency (``service.app``): `refuse_repeated_query_values` for the routes that take no key; a
    route that does checks once the key is taken (`require_key`), so that a caller without one learns nothing of its
    parameters (app-wide dependencies are solved before a route's own). Awaited, as ``_awaited_state``: /health
    needs no thread of the server's."""
    if (route := request.scope.get("route")) is not None and not _takes_a_key(route.dependant):
        refuse_repeated_query_values(request)


def refuse_repeated_query_values(request: Request) -> None:
    """Refuse a query parameter given more than once where the route takes one value (``?status=a&status=b``) with
    a 422 naming it: FastAPI would keep the last and answer as if the others had not been sent. Parameters that
    take a list (``reorderable_categories``) may repeat."""
    given = request.query_params
    repeated = {key for key in given if len(given.getlist(key)) > 1}
    if not repeated or (route := request.scope.get("route")) is None:
        return
    errors = [
        {
            "type": "value_error",
            "loc": ("query", field.alias),
            "msg": f"given {len(given.getlist(field.alias))} times; give it once",
            "input": given.getlist(field.alias),
        }
        for field in _query_fields(route.dependant)
        if field.alias in repeated and not _takes_a_list(field.field_info.annotation)
    ]
    if errors:
        raise RequestValidationError(errors)


def _takes_a_key(dependant) -> bool:
    return dependant.call is require_key or any(_takes_a_key(dependency) for dependency in dependant.dependencies)


def _query_fields(dependant) -> Iterator:
    """The query parameters of a route's dependant (``route.dependant``) and of its dependencies'."""
    yield from dependant.query_params
    for dependency in dependant.dependencies:
        yield from _query_fields(dependency)


def _takes_a_list(annotation) -> bool:
    """list[str], tuple[int, ...], list[str] | None and the like."""
    if get_origin(annotation) in (Union, UnionType):
        return any(_takes_a_list(member) for member in get_args(annotation))
    return get_origin(annotation) in (list, set, tuple, frozenset) or annotation in (list, set, tuple, frozenset)


# Rows to skip in a listing; bounded so that a number past the database's integers is a 422, not a driver's crash.
OffsetQuery = Annotated[int, Query(ge=0, le=DATABASE_INT_MAX, description="rows to skip, for the next page")]
