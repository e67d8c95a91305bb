"""The review page: campaigns, their drafts, and approve / reject / edit forms for copywriters."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from service import campaigns as campaign_ops
from service import drafts as draft_ops
from service.auth import verify_key
from service.deps import REVIEW_COOKIE, ApiKeyDep, SessionDep, StateDep
from service.errors import NotReady, Unauthorized
from service.experiments import experiment_results
from service.review import TEMPLATES_DIR

router = APIRouter(prefix="/review", tags=["review page"], include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)


def _back_to(draft_id: int) -> RedirectResponse:
    return RedirectResponse(f"/review/drafts/{draft_id}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login", response_model=None)
def login(request: Request, session: SessionDep, api_key: Annotated[str, Form()]) -> HTMLResponse | RedirectResponse:
    try:
        verify_key(session, api_key.strip())
    except Unauthorized as error:
        return templates.TemplateResponse(request, "login.html", {"error": str(error)}, status_code=401)
    response = RedirectResponse("/review", status_code=303)
    response.set_cookie(REVIEW_COOKIE, api_key.strip(), httponly=True, samesite="strict")
    return response


@router.get("", response_class=HTMLResponse)
def campaigns_page(request: Request, session: SessionDep, _key: ApiKeyDep) -> HTMLResponse:
    campaigns = [campaign_ops.campaign_out(session, c) for c in campaign_ops.list_campaigns(session)]
    return templates.TemplateResponse(request, "campaigns.html", {"campaigns": campaigns})


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(campaign_id: int, request: Request, session: SessionDep, _key: ApiKeyDep) -> HTMLResponse:
    campaign = campaign_ops.campaign_out(session, campaign_ops.get_campaign(session, campaign_id))
    drafts = [draft_ops.draft_out(d) for d in draft_ops.list_drafts(session, campaign_id, limit=1000)]
    return templates.TemplateResponse(request, "campaign.html", {"campaign": campaign, "drafts": drafts})


@router.get("/campaigns/{campaign_id}/experiment", response_class=HTMLResponse)
def experiment_page(campaign_id: int, request: Request, session: SessionDep, _key: ApiKeyDep) -> HTMLResponse:
    campaign = campaign_ops.get_campaign(session, campaign_id)
    try:
        results, message = experiment_results(session, campaign), ""
    except NotReady as error:
        results, message = None, str(error)
    context = {"campaign": campaign_ops.campaign_out(session, campaign), "results": results, "message": message}
    return templates.TemplateResponse(request, "experiment.html", context)


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(draft_id: int, request: Request, session: SessionDep, _key: ApiKeyDep) -> HTMLResponse:
    draft = draft_ops.draft_out(draft_ops.get_draft(session, draft_id))
    editable = draft.status in draft_ops.REVIEWABLE
    return templates.TemplateResponse(request, "draft.html", {"draft": draft, "editable": editable})


@router.post("/drafts/{draft_id}/approve")
def approve(
    draft_id: int, session: SessionDep, key: ApiKeyDep,
    variant_id: Annotated[int | None, Form()] = None, comment: Annotated[str, Form()] = "",
) -> RedirectResponse:  # fmt: skip
    draft_ops.approve(session, draft_id, variant_id, key.name, comment)
    return _back_to(draft_id)


@router.post("/drafts/{draft_id}/reject")
def reject(
    draft_id: int, session: SessionDep, key: ApiKeyDep, comment: Annotated[str, Form()] = ""
) -> RedirectResponse:
    draft_ops.reject(session, draft_id, key.name, comment)
    return _back_to(draft_id)


@router.post("/drafts/{draft_id}/variants/{variant_id}/edit")
def edit(
    draft_id: int, variant_id: int, session: SessionDep, state: StateDep, key: ApiKeyDep,
    subject: Annotated[str, Form()], preheader: Annotated[str, Form()] = "", intro: Annotated[str, Form()] = "",
) -> RedirectResponse:  # fmt: skip
    changes = {"subject": subject.strip(), "preheader": preheader.strip(), "intro": intro.strip()}
    draft_ops.edit_variant(session, draft_id, variant_id, changes, key.name, state.models)
    return _back_to(draft_id)
