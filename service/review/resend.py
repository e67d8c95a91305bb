"""A form a person sent after their review session had ended, carried through the login page so that it can be
sent again once they are back in: an edit typed over ten minutes is not lost to an expired session.

The login page holds the form as one hidden field (JSON: the address it was sent to and its fields in order).
After the login, a page shows those fields, editable, in a form to the same address. The form keeps the
revision of the draft its first page showed, so a draft that someone changed meanwhile is refused, as any form
from an older page is (service.drafts), with the draft as it is now beside what was typed. A campaign's bulk form
(approve every pending draft...) is offered again on the campaign's page instead, as the campaign stands after the
login, its comment typed in (service.routes.review.campaign_pages.offered_again): its question and its count are
the page's.

A form sent from a page that showed another reviewer than the one the browser's session signs in now (someone logged
in as themselves in another tab: service.deps.page_reviewer) is offered again on that page too, to the reviewer signed
in now, saying so: it is kept for their session, and their name goes with it if they send it.

The login leads on to that page by a redirect (GET /review/resend), so that neither Back to it nor a reload of it
asks to send a form again; the form is kept for it in the database, on the review session it was carried into
(``keep_form``), for KEPT_SECONDS: whichever server of the shop answers the page finds it, and a restart loses none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from service.auth import session_of_token
from service.clock import utcnow
from service.db.models import Draft
from service.paths import route_path
from service.review import FORM_PAGE, PREFIX, REVIEWING_AS, isolated

CARRIED_MAX = 64 * 1024  # characters of a carried form: a draft's texts are a few thousand at most
# The forms carried (their address; the last part says what they do): any other address is not sent again.
_ACTIONS = re.compile(
    rf"^{PREFIX}/(?:drafts/\d+/(?:approve|reject|reopen|refresh-facts|variants/\d+/(?:edit|suggest))"
    r"|campaigns/\d+/(?:approve-pending|reapprove-late|refresh-facts))$"
)
BUTTONS = {
    "approve": "Approve", "reject": "Reject", "reopen": "Reopen", "edit": "Save edit",
    "suggest": "Suggest another version", "approve-pending": "Approve all pending drafts",
    "reapprove-late": "Approve again the drafts held back for lateness",
    "refresh-facts": "Update with the catalog's facts",
}  # fmt: skip
# What a form does, in words, besides an approval, an edit and a note (CarriedForm.what_it_does): a draft's, and a
# campaign's bulk form.
DRAFT_ACTS = {
    "reject": "Reject {whose}.", "reopen": "Reopen {whose} for review.",
    "refresh-facts": "Update {whose} with the catalog's facts.",
}  # fmt: skip
CAMPAIGN_ACTS = {
    "approve-pending": "Approve the pending drafts of {whose}.",
    "reapprove-late": "Approve again the drafts of {whose} held back for lateness.",
    "refresh-facts": "Update the out-of-date drafts of {whose} with the catalog's facts.",
}
# The fields a person wrote, shown to be checked or changed; the rest (revision, variant, override) stay hidden.
WRITTEN = {"subject": "Subject", "preheader": "Preheader", "intro": "Intro", "product_line": "Product line",
           "comment": "Comment", "note": "Note for the model"}  # fmt: skip
MULTILINE = {"intro", "comment"}
# A comment labelled as the form it was typed in labels it, by the address's last part: a rejection's reason was
# "Comment" here and "Why reject?" (required) on the draft's page.
COMMENT_LABELS = {"reject": "Why reject?", "reopen": "Why?", "approve-pending": "Comment, kept with each approval",
                  "reapprove-late": "Comment, kept with each approval"}  # fmt: skip
REQUIRED = {("reject", "comment")}  # (form, field) the draft's page requires


@dataclass(frozen=True)
class CarriedForm:
    action: str
    fields: tuple[tuple[str, str], ...]

    @property
    def button(self) -> str:
        return BUTTONS[self.action.rsplit("/", 1)[1]]

    @property
    def holds_revision(self) -> bool:
        """Whether the form names the draft's revision its page showed, and is refused if the draft changed since (a
        request for a suggestion is made of the draft as it is, a bulk approval leaves the drafts changed since)."""
        return any(name == "expected_revision" for name, _ in self.fields)

    @property
    def draft_id(self) -> int | None:
        """The draft the form acts on (None for a campaign's form)."""
        found = re.match(rf"^{PREFIX}/drafts/(\d+)/", self.action)
        return int(found[1]) if found else None

    @property
    def campaign_form(self) -> str | None:
        """What a campaign's bulk form does, by its address's last part ("approve-pending"); None for a draft's."""
        return None if self.draft_id is not None else self.action.rsplit("/", 1)[1]

    def value(self, name: str) -> str:
        """The form's first field called ``name`` as sent ("" when it has none)."""
        return next((text for field, text in self.fields if field == name), "")

    @property
    def page(self) -> str:
        """The review page the form was on (a draft, or a campaign's list)."""
        return FORM_PAGE.match(self.action)[1]

    def as_field(self) -> str:
        return json.dumps({"action": self.action, "fields": [list(f) for f in self.fields]}, ensure_ascii=False)

    def what_it_does(self, whose: str, labels: Mapping[int, str]) -> str:
        """What sending the form again does, in words, and to what (``whose``: target_named's; ``labels``: the
        draft's variants' labels by id). The page showed its written fields and its button alone: the variant an
        approval chose and its override of failed checks are hidden fields, and an edit's variant and draft were
        named nowhere, to a person who may have had several drafts open."""
        action = self.action.rsplit("/", 1)[1]
        if self.campaign_form is not None:  # a bulk form whose comment was too long for the campaign page's cookie
            return CAMPAIGN_ACTS[action].format(whose=whose)
        if action in ("edit", "suggest"):
            label = labels.get(int(re.search(r"/variants/(\d+)/", self.action)[1]))
            of = f"variant {label} of {whose}" if label else whose  # a variant the draft no longer has
            return f"{'Save your edit of' if action == 'edit' else 'Ask the model for another version of'} {of}."
        if action == "approve":
            chosen = labels.get(int(self.value("variant_id"))) if self.value("variant_id").isdecimal() else None
            said = f"Approve {whose}" + (f", with variant {chosen} chosen" if chosen else "")
            overriding = self.value("override_checks").lower() in ("true", "on", "1", "yes")  # as the route reads it
            return said + (", despite its failed checks." if overriding else ".")
        return DRAFT_ACTS[action].format(whose=whose)

    def shown(self, products: Sequence[str] = ()) -> list[dict[str, str | bool]]:
        """The fields as the page lays them out: a label for each written one, and each product line labelled as the
        draft's page labels it ("Line for Sencha Green", by ``products``, the draft's product names in order; else
        numbered)."""
        rows, lines, action = [], 0, self.action.rsplit("/", 1)[1]
        for name, value in self.fields:
            if name == REVIEWING_AS:  # the page offering it names its own reviewer, who sends it now
                continue
            label = COMMENT_LABELS.get(action, WRITTEN[name]) if name == "comment" else WRITTEN.get(name)
            if name == "product_line":
                lines += 1
                label = f"Line for {isolated(products[lines - 1])}" if lines <= len(products) else f"{label} {lines}"
            rows.append({"name": name, "value": value, "label": label or "", "multiline": name in MULTILINE,
                         "required": (action, name) in REQUIRED})  # fmt: skip
        return rows


def target_named(form: CarriedForm, draft: Draft | None) -> str:
    """What the form acts on, as the page offering it again names it: "draft 7 for Ida (c1)" (``draft``, the draft
    the form names; "draft 7" once it is gone), or "campaign 3"."""
    if form.draft_id is None:
        campaign = re.match(rf"^{PREFIX}/campaigns/(\d+)/", form.action)[1]
        return f"campaign {campaign}"
    if draft is None:
        return f"draft {form.draft_id}"
    return (
        f"draft {form.draft_id} for {isolated(draft.customer.first_name or 'customer')} ({draft.customer.external_id})"
    )


async def sent_form(request: Request) -> CarriedForm | None:
    """The review form ``request`` posted, when it is one that can be sent again and not too big to carry."""
    path = route_path(request.scope)  # the app's path, as every address the login page carries
    if request.method != "POST" or not _ACTIONS.match(path):
        return None
    try:
        form = await request.form()  # parsed already by the route, before its session was checked
    except (RuntimeError, ClientDisconnect):  # a body that cannot be read again is not carried; the login still works
        return None
    carried = CarriedForm(path, tuple((k, v) for k, v in form.multi_items() if isinstance(v, str)))
    return carried if len(carried.as_field()) <= CARRIED_MAX else None


def read_carried(value: str) -> CarriedForm | None:
    """The form the login page carried, or None when there is none or it is not one of the review page's forms
    (the field comes from the browser: it is checked as any input is)."""
    if not value:
        return None
    try:
        data = json.loads(value)
        action, fields = data["action"], data["fields"]
        pairs = tuple((name, text) for name, text in fields)
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(action, str) or not _ACTIONS.match(action):
        return None
    if not all(isinstance(name, str) and isinstance(text, str) for name, text in pairs):
        return None
    return CarriedForm(action, pairs)


KEPT_SECONDS = 600  # how long the page offering a form again can be reloaded, or gone back to, after the login


def keep_form(session: Session, token: str, form: CarriedForm) -> None:
    """Keep ``form`` for the page that offers it again, on the review session of ``token`` (only that browser's cookie
    finds it, so no link can offer a form the person never sent), for KEPT_SECONDS; a later one replaces it. Kept in
    the database: in a process's memory, a restart within KEPT_SECONDS, or a second server behind a balancer that
    answered the page, had none, and the page led to the campaigns."""
    if (found := session_of_token(session, token)) is not None:
        found.kept_form, found.kept_form_until = form.as_field(), utcnow() + timedelta(seconds=KEPT_SECONDS)


def kept_form(session: Session, token: str | None) -> CarriedForm | None:
    """The form kept for the review session of ``token`` (a browser's cookie), while it is kept and the session open."""
    found, now = session_of_token(session, token), utcnow()
    if found is None or found.kept_form is None or found.kept_form_until <= now or found.expires_at <= now:
        return None
    return read_carried(found.kept_form)  # checked as when the login page carried it
