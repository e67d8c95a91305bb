"""Logging in to the review page and out of it: the review session's cookie, the notes the login page shows
when a session ended, and a form sent after it ended, carried through the login to be offered again.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from service.auth import SESSION_HOURS, close_session, open_session, verify_key
from service.db.models import Draft
from service.db.session import session_scope
from service.deps import REVIEW_COOKIE, ApiKeyDep, SessionDep, get_state
from service.errors import Unauthorized
from service.review import PREFIX, REVIEWING_AS, SESSION_ENDED, address, after_login, templates
from service.review.resend import CARRIED_MAX, CarriedForm, keep_form, kept_form, read_carried, target_named
from service.routes.review.campaign_pages import NOT_DONE_COOKIE, NOT_DONE_SECONDS, list_page, offered_again
from service.routes.review.draft_pages import copy_locale
from service.routes.review.redirects import to_page
from service.settings import PublicSettings

router = APIRouter(prefix=PREFIX)
RESEND_PAGE = f"{PREFIX}/resend"  # the page offering again a form carried through the login
REVIEWER_MAX = 100  # characters of a reviewer's name (the reviews table holds 200)
# Why the login page was shown, by the `why` its address gives (service.review.login_address).
LOGIN_NOTES = {
    SESSION_ENDED: "Your review session had ended (signed out in another tab, over "
    f"{SESSION_HOURS} hours old, or its API key revoked), so what you just sent was not done: an edit you typed "
    "was not saved, an approval or rejection not recorded. Log in to go back to the page you were on.",
}
# Why the login page was shown for a link followed (a next draft to review, a search) or an address opened: it said
# nothing, and read as if the page had signed the person out.
LINK_NOTE = (
    f"Log in to go on to the page you opened: this browser has no review session now (it ended: signed out, over "
    f"{SESSION_HOURS} hours old, or its API key revoked; or none was opened here)."
)
CARRIED_NOTE = (
    f"Your review session had ended (signed out in another tab, over {SESSION_HOURS} hours old, or its API key "
    "revoked), so what you just sent was not done yet: nothing was saved or recorded. Log in and it is shown to "
    "you again as you wrote it, to send again or leave."
)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, why: str | None = None) -> HTMLResponse:
    """`next`: the review page to go on to once logged in (where the person was sent here from); `why`: the reason
    they were sent here, said on the page (one of LOGIN_NOTES; else, sent here from a page, LINK_NOTE)."""
    onward = after_login(next)
    note = LOGIN_NOTES.get(why or "") or (LINK_NOTE if onward != PREFIX else None)
    return _login_form(request, {"error": None, "reviewer": "", "next": onward, "note": note})


def session_ended_login(request: Request, carried: CarriedForm) -> HTMLResponse:
    """The login page for a form sent after its session had ended, holding the form to offer it again once the
    person is back in (service.review.resend)."""
    context = {
        "error": None, "reviewer": "", "next": carried.page, "note": CARRIED_NOTE, "carried": carried.as_field(),
    }  # fmt: skip
    return _login_form(request, context, status_code=401)


def _login_form(request: Request, context: dict, status_code: int = 200) -> HTMLResponse:
    """The login page with ``context``, and the most characters its name field takes (REVIEWER_MAX, which the login
    holds the name to): each of its answers (asked for, a form carried, a login refused) needs it."""
    context = {**context, "reviewer_max": REVIEWER_MAX}
    return templates.TemplateResponse(request, "login.html", context, status_code=status_code)


def offered_to_reviewer_now(request: Request, carried: CarriedForm) -> RedirectResponse:
    """A form refused for coming from a page shown to another reviewer than the one signed in now (ReviewerChanged),
    kept for the page that offers it again (resend_page), by a redirect as after a login: to the person at the tab,
    who reads there who is signed in, and sends it as them or leaves it. It writes to the database: an async caller
    runs it in a thread."""
    with session_scope(get_state(request).engine) as session:
        keep_form(session, request.cookies[REVIEW_COOKIE], carried)
    return to_page(request, RESEND_PAGE)


@router.post("/login", response_model=None)
def login(
    request: Request, session: SessionDep, api_key: Annotated[str, Form()],
    reviewer: Annotated[str, Form(max_length=REVIEWER_MAX)] = "", next: Annotated[str, Form()] = "",
    carried: Annotated[str, Form(max_length=CARRIED_MAX)] = "",
) -> HTMLResponse | RedirectResponse:  # fmt: skip
    """Log in with an API key and one's own name: reviews record the person, not the key they share. Then on to
    `next`, the review page the person had asked for; or, when the login page carried a form sent after the last
    session had ended, to that form again, to be checked and sent: a campaign's bulk form on the campaign's page,
    as it stands now (campaign_pages.offered_again), a draft's on a page of its own (resend_page). Each is reached by
    a redirect: the page answering this POST stood in the browser's history, and Back to it from the page the form
    sent again led to asked to send the login again ("Confirm Form Resubmission")."""
    form = read_carried(carried)
    typed = {
        "reviewer": reviewer, "next": after_login(next), "note": CARRIED_NOTE if form else None,
        "carried": form.as_field() if form else "",
    }  # fmt: skip
    if not reviewer.strip():
        error = "Give your name: it is recorded with every review you make."
        context = {"error": error, "error_field": "reviewer", **typed}  # the field marked, and focused, is its own
        return _login_form(request, context, status_code=422)
    try:
        key = verify_key(session, api_key.strip())
    except Unauthorized as error:
        context = {"error": str(error), "error_field": "api_key", **typed}
        return _login_form(request, context, status_code=401)
    # the browser's earlier session ends: its cookie is replaced, and a copy of it (another person's, at a shared
    # desk, logged in as themselves before) signed in for the rest of its 12 hours
    close_session(session, request.cookies.get(REVIEW_COOKIE))
    token = open_session(session, key, reviewer.strip())
    secure = _over_https(request)  # the token is a bearer secret: over https it never goes out over plain http
    response = to_page(request, after_login(next))
    again = offered_again(form) if form is not None else None
    if form is not None and again is not None:  # a campaign's bulk form: its page says so, once
        response = to_page(request, list_page(form))  # the list it was sent from, filtered, sorted and paged
        page = address(request, form.page)  # the cookie's path: the page's, whatever list of it is shown
        response.set_cookie(NOT_DONE_COOKIE, again, max_age=NOT_DONE_SECONDS, path=page, httponly=True,
                            samesite="strict", secure=secure)  # fmt: skip
    elif form is not None:  # on to a page of its own, by a redirect: Back to it, or a reload, sends nothing again
        keep_form(session, token, form)
        response = to_page(request, RESEND_PAGE)
    response.set_cookie(
        REVIEW_COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="strict", secure=secure
    )
    return response


def _over_https(request: Request) -> bool:
    """Whether the person reached the page over https: directly, through a proxy that says so, or at an https
    TAILOR_PUBLIC_URL."""
    public = PublicSettings().url or ""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https" or public.lower().startswith("https://")


@router.get("/resend", response_model=None)
def resend_page(request: Request, session: SessionDep, _key: ApiKeyDep) -> HTMLResponse | RedirectResponse:
    """The form the login carried into this session, or one refused for coming from a page shown to another reviewer
    (offered_to_reviewer_now: the page says so), to be checked and sent again (service.review.resend), while it is
    kept; else the campaigns. "Leave it" leads to the page it was sent from, in the list it was opened from."""
    form = kept_form(session, request.cookies.get(REVIEW_COOKIE))
    if form is None:
        return to_page(request, PREFIX)
    draft = session.get(Draft, form.draft_id) if form.draft_id is not None else None
    lang = copy_locale(draft) if draft is not None else None  # the fields hold copy in that language
    products = [str(item.get("name", "")) for item in (draft.recommendations or [])] if draft is not None else []
    whose = target_named(form, draft)
    labels = {variant.id: variant.label for variant in draft.variants} if draft is not None else {}
    shown_to, signed_in = form.value(REVIEWING_AS), getattr(request.state, "reviewer", "")
    context = {"form": form, "lang": lang, "products": products, "whose": whose,
               "what": form.what_it_does(whose, labels), "leave": list_page(form),
               "shown_to": shown_to if shown_to != signed_in else None}  # fmt: skip
    return templates.TemplateResponse(request, "resend.html", context)


@router.post("/logout", response_model=None)
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    """Sign out: the session ends (its token no longer signs anyone in, even from a copy of the cookie) and the
    browser forgets it."""
    close_session(session, request.cookies.get(REVIEW_COOKIE))
    response = to_page(request, "/review/login")
    response.delete_cookie(REVIEW_COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/logout", include_in_schema=False)
def logout_address(request: Request) -> RedirectResponse:
    """Sign out's address opened as a page (typed, bookmarked, Back to it): the campaigns, whose header holds Sign
    out (or the login page, signed out already); it was a 405 page. Opening an address signs nobody out: a link on
    any page could do it."""
    return to_page(request, "/review")
