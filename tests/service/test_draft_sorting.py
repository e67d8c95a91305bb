"""A campaign's drafts in the order a copywriter asks for (predicted opens or clicks, status, customer, flagged
first): through the API's `sort` and the review page's control, each tie broken by the draft's id so that paging
through a sorted list neither repeats nor skips a draft. Before, the list came flagged first only."""

from __future__ import annotations

import re
from html import unescape
from typing import get_args
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from service.db.session import session_scope
from service.schemas import DraftStatus

SORTS = ("flagged", "audience", "p_open", "p_click", "status", "customer")  # the orders offered

# (first name, status, flagged, position, chosen variant's p_open, p_click): ties on every key a sort reads
ROWS = [
    ("Ola", "pending", False, 3, 0.30, 0.02), ("ada", "flagged", True, 0, 0.30, None),
    ("Ola", "approved", False, 1, None, 0.05), ("Bea", "pending", False, 2, 0.45, 0.02),
    ("", "rejected", False, None, 0.10, 0.01), ("Ada", "pending", False, 5, 0.30, 0.05),
    ("Cy", "flagged", True, 4, None, None), ("bea", "sent", False, 6, 0.45, 0.02),
    ("Ola", "pending", False, None, 0.30, 0.02), ("Dot", "approved", False, 7, 0.10, 0.05),
    ("Eve", "pending", False, 8, 0.45, None), ("Fay", "approved", True, 0, 0.20, 0.03),
    ("Gus", "rejected", True, None, None, 0.01),
]  # fmt: skip
WAITING = ("pending", "flagged")  # the drafts "next to review" leads to, and the flagged ones "flagged first" lists


def _campaign_of_ties(session) -> int:
    """A campaign whose drafts tie on each order, written in an order unlike any of them; its id."""
    from service.db.models import Brand, Campaign, Customer, Draft, Variant

    brand = session.scalar(select(Brand).where(Brand.slug == "hearth")) or Brand(slug="hearth", name="Hearth")
    campaign = Campaign(name="Ties", brand=brand, campaign_type="vip")
    session.add(campaign)
    for i in (4, 9, 11, 0, 7, 2, 10, 12, 5, 1, 8, 3, 6):
        name, status, flagged, position, p_open, p_click = ROWS[i]
        customer = Customer(external_id=f"t{i:02d}", email=f"t{i:02d}@example.com", first_name=name)
        chosen = Variant(label="A", subject=f"Subject {i}", html="<p>A</p>", p_open=p_open, p_click=p_click)
        other = Variant(label="B", subject=f"Other {i}", html="<p>B</p>", p_open=0.99, p_click=0.99)  # not chosen
        draft = Draft(
            campaign=campaign, customer=customer, status=status, flagged=flagged, position=position,
            variants=[chosen, other],
        )  # fmt: skip
        session.add(draft)
        session.flush()
        draft.selected_variant_id = chosen.id
    session.flush()
    return campaign.id


def _expected(drafts: list[dict], sort: str) -> list[int]:
    """The drafts' ids in the order ``sort`` names, worked out here from what the API shows of each draft."""

    def chosen(draft: dict, score: str) -> float | None:
        return next(v[score] for v in draft["variants"] if v["id"] == draft["selected_variant_id"])

    def audience(draft: dict) -> tuple:
        position = ROWS[int(draft["customer_id"][1:])][3]
        return (position is None, position or 0, draft["id"])

    keys = {
        # a draft keeps its flag once reviewed: those still waiting come first, not the approved or rejected ones
        "flagged": lambda d: (not (d["flagged"] and d["status"] in WAITING), *audience(d)),
        "audience": audience,
        "p_open": lambda d: (chosen(d, "p_open") is None, -(chosen(d, "p_open") or 0), d["id"]),
        "p_click": lambda d: (chosen(d, "p_click") is None, -(chosen(d, "p_click") or 0), d["id"]),
        "status": lambda d: (get_args(DraftStatus).index(d["status"]), not d["flagged"], *audience(d)),
        "customer": lambda d: ((d["first_name"] or d["customer_id"]).lower(), d["id"]),
    }
    return [d["id"] for d in sorted(drafts, key=keys[sort])]


def test_every_order_the_api_and_the_page_offer_is_one_the_database_sorts_by():
    from service.draft_orders import ORDERS
    from service.draft_sorts import DraftSort

    assert tuple(ORDERS) == get_args(DraftSort) == SORTS


def test_the_api_lists_the_drafts_in_the_order_asked_for_and_pages_through_it_whole(client, engine):
    with session_scope(engine) as session:
        campaign_id = _campaign_of_ties(session)
    listed = f"/campaigns/{campaign_id}/drafts"
    everything = client.get(listed).json()
    assert len(everything) == len(ROWS)
    for sort in SORTS:
        whole = client.get(listed, params={"sort": sort})
        assert whole.status_code == 200, whole.text
        in_order = [d["id"] for d in whole.json()]
        assert in_order == _expected(everything, sort), sort
        paged = [d["id"] for offset in range(0, len(ROWS), 3)
                 for d in client.get(listed, params={"sort": sort, "limit": 3, "offset": offset}).json()]  # fmt: skip
        assert paged == in_order, sort  # no draft twice, none skipped
    # the default is the order the list always had: flagged first
    assert [d["id"] for d in everything] == _expected(everything, "flagged")
    # a sort within a filter
    pending = client.get(listed, params={"sort": "p_open", "status": "pending"}).json()
    assert [d["id"] for d in pending] == [i for i in _expected(everything, "p_open") if i in {d["id"] for d in pending}]
    assert {d["status"] for d in pending} == {"pending"}


def test_an_unknown_order_is_refused_naming_the_parameter_and_the_orders_it_takes(client, engine):
    with session_scope(engine) as session:
        campaign_id = _campaign_of_ties(session)
    refused = client.get(f"/campaigns/{campaign_id}/drafts", params={"sort": "score"})
    assert refused.status_code == 422
    problem = refused.json()["problems"][0]
    assert problem["field"] == "query.sort" and "'p_open'" in problem["message"] and "'customer'" in problem["message"]

    page = client.get(f"/review/campaigns/{campaign_id}", params={"sort": "score", "status": "pending"})  # not a 500
    assert page.status_code == 422 and "sort: the drafts have no order named “score”" in page.text
    assert "p_open (predicted opens, highest first)" in page.text and "flagged (flagged first)" in page.text
    assert f'id="onward" href="/review/campaigns/{campaign_id}?status=pending">the list in the usual order' in page.text


def test_the_openapi_document_describes_the_order_and_the_values_it_takes(client):
    operation = client.get("/openapi.json").json()["paths"]["/campaigns/{campaign_id}/drafts"]["get"]
    sort = next(p for p in operation["parameters"] if p["name"] == "sort")
    assert sort["in"] == "query" and sort["schema"]["enum"] == list(SORTS)
    assert sort["schema"]["default"] == "flagged"
    assert "tie broken by the draft's id" in sort["description"]
    assert "`p_open` and `p_click`: predicted opens" in sort["description"]


def _rows(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-draft-id="(\d+)"', page)]


def test_the_campaign_page_sorts_its_drafts_and_keeps_the_order_across_filters_searches_and_pages(
    client, engine, monkeypatch
):
    monkeypatch.setattr("service.routes.review.campaign_pages.DRAFTS_PER_PAGE", 4)
    with session_scope(engine) as session:
        campaign_id = _campaign_of_ties(session)
    campaign = f"/review/campaigns/{campaign_id}"
    expected = _expected(client.get(f"/campaigns/{campaign_id}/drafts").json(), "p_open")

    first = client.get(campaign).text
    assert '<form method="get" id="sort-drafts"' in first
    assert '<option value="flagged" selected>flagged first</option>' in first
    assert '<option value="p_open">predicted opens, highest first</option>' in first

    seen, address = [], f"{campaign}?sort=p_open"
    while address:  # page by page, by the page's own "next" links
        page = client.get(address).text
        assert '<option value="p_open" selected>' in page and '<th scope="col" aria-sort="descending">P(open)' in page
        seen += _rows(page)
        following = re.search(r'id="next-page" href="\?([^"]*)"', page)
        address = f"{campaign}?{following[1].replace('&amp;', '&')}" if following else None
    assert seen == expected  # each draft once, in order, across the pages

    page = client.get(campaign, params={"sort": "p_open", "status": "pending"}).text
    assert "Ties: pending drafts, in order of predicted opens, highest first · Tailor" in page
    # the filters, the search and the pages keep the order, and the order form keeps the filter and the search
    assert 'href="?sort=p_open">all' in page and 'href="?status=flagged&amp;sort=p_open"' in page
    assert '<input type="hidden" name="sort" value="p_open"> <button type="submit">Find</button>' in page
    sort_form = re.search(r'<form method="get" id="sort-drafts".*?</form>', page)[0]
    assert '<input type="hidden" name="status" value="pending">' in sort_form
    searched = client.get(campaign, params={"sort": "customer", "customer": "ola", "status": "pending"}).text
    assert '<input type="hidden" name="customer" value="ola">' in re.search(r'id="sort-drafts".*?</form>', searched)[0]
    assert [d for d in _rows(searched)] == sorted(_rows(searched))  # three of one name: by id
    second = client.get(campaign, params={"sort": "p_open", "page": 2}).text
    assert 'id="previous-page" href="?page=1&amp;sort=p_open"' in second
    # a draft opened from the sorted list leads back to it
    draft_link = re.search(r'href="(/review/drafts/\d+\?[^"]*)"', second)[1].replace("&amp;", "&")
    assert "sort=p_open" in draft_link and "page=2" in draft_link
    back = re.search(r'id="back-to-campaign" href="([^"]*)"', client.get(draft_link).text)[1]
    assert back == f"{campaign}?sort=p_open&amp;page=2"


@pytest.mark.parametrize("sort", SORTS)
def test_each_order_pages_alike_on_either_database(any_engine, sort):
    """NULLS LAST, a CASE over the statuses and a subquery per row read alike on SQLite and PostgreSQL."""
    from service.drafts import draft_out, list_drafts

    with session_scope(any_engine) as session:
        campaign_id = _campaign_of_ties(session)
    with session_scope(any_engine) as session:
        drafts = [draft_out(d).model_dump() for d in list_drafts(session, campaign_id, sort=sort)]
        assert [d["id"] for d in drafts] == _expected(drafts, sort)
        paged = [d.id for offset in range(0, len(ROWS), 2)
                 for d in list_drafts(session, campaign_id, limit=2, offset=offset, sort=sort)]  # fmt: skip
        assert paged == [d["id"] for d in drafts]


@pytest.mark.parametrize(
    "listed",
    [{"sort": sort} for sort in SORTS]
    + [{"sort": "p_open", "status": "pending"}, {"customer": "ola", "sort": "customer"}],
    ids=lambda listed: "&".join(f"{k}={v}" for k, v in listed.items()),
)
def test_next_to_review_walks_the_list_the_draft_was_opened_from_in_its_order(client, engine, listed):
    """A copywriter who sorted the drafts by predicted opens, or kept to the pending ones, opened the first and
    followed "next to review": it led flagged first, then in the audience's order, whatever the list, and out of
    the filter. It walks the list they came from, in its order (ties by id, as the list breaks them), round from the
    last to the first, and keeps the list for the way back."""
    with session_scope(engine) as session:
        campaign_id = _campaign_of_ties(session)
    in_list = [d["id"] for d in client.get(f"/campaigns/{campaign_id}/drafts", params=listed).json()
               if d["status"] in WAITING]  # fmt: skip
    kept = {key: [value] for key, value in listed.items() if value != "flagged"}  # the default order is left out
    walked = [in_list[0]]
    for _ in in_list:
        page = client.get(f"/review/drafts/{walked[-1]}", params=listed).text
        following = unescape(re.search(r'id="next-to-review" href="([^"]+)"', page)[1])
        path, _, query = following.partition("?")
        assert parse_qs(query) == kept
        walked.append(int(path.rsplit("/", 1)[1]))
    assert walked == [*in_list, in_list[0]]
    besides = len(in_list) - 1
    filtered = "in the list you came from " if "status" in listed or "customer" in listed else ""
    assert f"{besides} waiting {filtered}besides this one" in page

    from service.db.models import Draft

    def everything() -> list[int]:
        return [d["id"] for d in client.get(f"/campaigns/{campaign_id}/drafts", params={"sort": listed["sort"]}).json()]

    while_waiting = everything()
    with session_scope(engine) as session:  # approved from the page: out of the list of pending ones
        session.get(Draft, in_list[1]).status = "approved"
    page = client.get(f"/review/drafts/{in_list[1]}", params=listed).text
    following = re.search(r'id="next-to-review" href="/review/drafts/(\d+)', page)
    # on from the approved draft's place in the order (by status: among the approved ones, past those waiting;
    # flagged first: where it stood while it waited, among the flagged ones, as it keeps its flag)
    everything = while_waiting if listed["sort"] == "flagged" else everything()
    still = [i for i in everything if i in in_list and i != in_list[1]]
    after = [i for i in still if everything.index(i) > everything.index(in_list[1])]
    assert int(following[1]) == (after or still)[0]
    if listed["sort"] != "status":
        assert int(following[1]) == (in_list[2] if len(in_list) > 2 else in_list[0])


@pytest.mark.parametrize("sort", SORTS)
def test_next_to_review_follows_each_order_and_names_the_page_it_is_on_on_either_database(any_engine, sort):
    """A window over the list's drafts, counting those of a filter, reads alike on SQLite and PostgreSQL."""
    from service.db.models import Draft
    from service.drafts import list_drafts, next_to_review

    with session_scope(any_engine) as session:
        campaign_id = _campaign_of_ties(session)
    with session_scope(any_engine) as session:
        everything = list_drafts(session, campaign_id, sort=sort)
        in_order = [d.id for d in everything if d.status in WAITING]
        walked = [next_to_review(session, session.get(Draft, i), sort, per_page=3) for i in in_order]
        assert [found.draft_id for found in walked] == [*in_order[1:], in_order[0]]
        places = {d.id: place for place, d in enumerate(everything)}
        assert [found.page for found in walked] == [places[found.draft_id] // 3 + 1 for found in walked]
        assert {found.waiting for found in walked} == {len(in_order) - 1}
        pending = [d.id for d in list_drafts(session, campaign_id, "pending", sort=sort)]
        found = next_to_review(session, session.get(Draft, pending[0]), sort, "pending", per_page=2)
        assert (found.draft_id, found.page, found.waiting) == (pending[1], 1, len(pending) - 1)
        last = next_to_review(session, session.get(Draft, pending[2]), sort, "pending", per_page=2)
        assert (last.draft_id, last.page) == (pending[3], 2)


def test_the_list_is_walked_on_after_a_draft_is_approved_rejected_or_refused_from_its_page(client, engine):
    """The draft's forms dropped the list the draft was opened from: after approving it, "next to review" led
    flagged first again, and "← campaign" back to page 1 of every draft, the order and the filter lost."""
    with session_scope(engine) as session:
        campaign_id = _campaign_of_ties(session)
    listed = {"sort": "p_open", "status": "pending"}
    in_list = [d["id"] for d in client.get(f"/campaigns/{campaign_id}/drafts", params=listed).json()]
    opened = client.get(f"/review/drafts/{in_list[0]}", params=listed).text
    assert opened.count('<input type="hidden" name="listed" value="status=pending&amp;sort=p_open">') == 6  # each form

    def walked_on(page: str) -> tuple[int, dict, str]:
        following = unescape(re.search(r'id="next-to-review" href="/review/drafts/([^"]+)"', page)[1])
        back = unescape(re.search(r'id="back-to-campaign" href="([^"]+)"', page)[1])
        draft_id, _, query = following.partition("?")
        return int(draft_id), parse_qs(query), back

    form = {"campaign_id": campaign_id, "listed": "status=pending&sort=p_open"}
    approved = client.post(f"/review/drafts/{in_list[0]}/approve", data=form)
    assert approved.status_code == 200 and 'id="status">approved' in approved.text
    assert walked_on(approved.text) == (
        in_list[1], {"status": ["pending"], "sort": ["p_open"]},
        f"/review/campaigns/{campaign_id}?status=pending&sort=p_open",
    )  # fmt: skip
    refused = client.post(f"/review/drafts/{in_list[1]}/reject", data=form)  # no reason given: refused
    assert refused.status_code == 422 and walked_on(refused.text)[0] == in_list[2]
    forged = client.post(f"/review/drafts/{in_list[1]}/reject", data={**form, "listed": "status=nonsense&x=1"})
    assert walked_on(forged.text)[2] == f"/review/campaigns/{campaign_id}"  # what no list has is left out


def test_next_to_review_answers_as_the_whole_list_read_in_order_does_on_either_database(any_engine):
    """The seek by the order's keys (not a window over the list, ~8x slower on 20,000 drafts) answers for every
    order, filter and search, from every draft of the campaign (those out of the list too), as reading the whole
    ordered list from the top does: the first waiting past the draft shown, else the first; its page; how many wait."""
    from service.db.models import Draft
    from service.drafts import NextToReview, draft_out, list_drafts, next_to_review

    with session_scope(any_engine) as session:
        campaign_id = _campaign_of_ties(session)
    with session_scope(any_engine) as session:
        every_draft = list_drafts(session, campaign_id)  # held: session.get finds each one here, not by a query
        drafts = [draft_out(d).model_dump() for d in every_draft]
        for sort in SORTS:
            everything = [d.id for d in list_drafts(session, campaign_id, sort=sort)]
            for status in (None, "pending", "flagged", "approved"):
                for customer in (None, "ola", "nobody"):
                    listed = list_drafts(session, campaign_id, status, customer=customer, sort=sort)
                    for shown in everything:
                        waiting = [d.id for d in listed if d.status in WAITING and d.id != shown]
                        # a reviewed draft is walked on from where it stood while it waited (flagged first: among
                        # the flagged ones, if it is)
                        as_waiting = [d | {"status": "pending"} if d["id"] == shown else d for d in drafts]
                        order = _expected(as_waiting, sort) if sort == "flagged" else everything
                        after = [i for i in waiting if order.index(i) > order.index(shown)]
                        following = (after or waiting or [None])[0]
                        page = [d.id for d in listed].index(following) // 2 + 1 if following else 1
                        expected = NextToReview(following, page, len(waiting))
                        found = next_to_review(session, session.get(Draft, shown), sort, status, customer, per_page=2)
                        assert found == expected, (sort, status, customer, shown)
