"""The review page's routes, for copywriters: logging in and out, the campaigns and their drafts, and the forms that
approve, reject and edit them, one module each (the templates are in service.review).

A refused action (an edit over the limits, an approval of a variant that failed checks, a draft reviewed in
another tab meanwhile) shows the draft again with what went wrong; the rest of the errors become a page with a
way back (service.app).
"""

from fastapi import APIRouter

from service.routes.review import campaign_actions, campaign_pages, draft_actions, draft_pages, login

router = APIRouter(tags=["review page"], include_in_schema=False)
# The order matters only among the pages: a campaign's or draft's form address opened as a page (its catch-all GET)
# comes after that campaign's or draft's own pages.
for part in (login, campaign_pages, campaign_actions, draft_pages, draft_actions):
    router.include_router(part.router)
