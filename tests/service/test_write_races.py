"""Two writers of the same new keys at once, as PostgreSQL lets them run: the later is refused as written
meanwhile (409, send it again), not a 500 whose log line held the values written. (Two customers files wait for
each other instead: tests/service/test_concurrent_customer_imports.py.)"""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import func, select

from service.db.models import Customer, Product
from service.db.session import session_scope
from service.errors import WrittenMeanwhile, as_told
from service.importing import import_file
from tests.service.conftest import new_migrated_postgres_database

PRODUCTS = "sku,name,category,price,currency,description,url,in_stock\n" + "".join(
    f"n{i},Secret blend {i},tea,7.5,EUR,,,true\n" for i in range(50)
)


@pytest.mark.postgres
def test_two_imports_of_the_same_new_products_at_once(postgres_url, tmp_path, caplog):
    engine = new_migrated_postgres_database(postgres_url, "import_race")
    path = tmp_path / "products.csv"
    path.write_text(PRODUCTS)
    first_wrote, second_started = threading.Event(), threading.Event()
    outcome: dict[str, BaseException | None] = {}

    def first() -> None:
        with session_scope(engine) as session:
            import_file(session, "products", path)
            first_wrote.set()  # its rows are written, not committed: the second's inserts wait for them
            second_started.wait(30)
            threading.Event().wait(1.0)  # the second reaches its insert and waits on the same keys

    def second() -> None:
        first_wrote.wait(30)
        second_started.set()
        try:
            with session_scope(engine) as session:
                import_file(session, "products", path)
            outcome["second"] = None
        except Exception as error:  # noqa: BLE001 (what the API and the job runner are given)
            outcome["second"] = error

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    with caplog.at_level(logging.DEBUG):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    told = as_told(outcome["second"])
    assert isinstance(told, WrittenMeanwhile) and told.status_code == 409, outcome
    assert "nothing of this one was written" in str(told)
    assert "Secret blend 0" not in str(outcome["second"])  # the statement's values are not in the error
    assert "Secret blend 0" not in caplog.text
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 50
        import_file(session, "products", path)  # sent again, it updates what the other wrote
    engine.dispose()


def test_the_api_answers_a_write_made_meanwhile_with_a_409(client, engine):
    """The app's handler for a unique key written by another writer a moment before: a 409 with Retry-After."""
    from fastapi import APIRouter
    from sqlalchemy.exc import IntegrityError

    class Refused(Exception):
        sqlstate = "23505"

    router = APIRouter()

    @router.get("/raced")
    def raced() -> None:
        raise IntegrityError("INSERT INTO customers ...", {"email": "x@example.com"}, Refused())

    client.app.include_router(router)
    answer = client.get("/raced")
    assert answer.status_code == 409 and answer.json()["error"] == "WrittenMeanwhile"
    assert answer.headers["Retry-After"] == "5" and "x@example.com" not in answer.text


@pytest.mark.postgres
def test_an_edit_committed_while_a_campaign_is_generated_again_keeps_its_draft(postgres_url):
    """On PostgreSQL the regeneration's delete waited for the edit's lock on the draft, then looked again at the
    draft alone, not at the review the edit had added: an edit answered 200 was thrown away with its draft."""
    from service.db.models import Brand, Campaign, Draft, Review, Variant
    from service.drafts import record_review
    from service.pipeline.generate import clear_untouched_drafts

    engine = new_migrated_postgres_database(postgres_url, "edit_regenerate_race")
    with session_scope(engine) as session:
        campaign = Campaign(name="c", brand=Brand(slug="hearth", name="Hearth"), campaign_type="win_back")
        customers = [Customer(external_id=f"c{i}", email=f"c{i}@example.com", marketing_consent=True) for i in (1, 2)]
        drafts = [Draft(campaign=campaign, customer=c, variants=[Variant(label="A", subject="Hi")]) for c in customers]
        session.add_all(drafts)
        session.flush()
        campaign_id, edited_id, untouched_id = campaign.id, drafts[0].id, drafts[1].id
    edit_wrote, outcome = threading.Event(), {}

    def edit() -> None:
        with session_scope(engine) as session:
            record_review(session, session.get(Draft, edited_id), Review(action="edit", reviewer="ann"))
            session.flush()
            edit_wrote.set()
            threading.Event().wait(1.0)  # the regeneration reaches its delete and waits on this draft

    def regenerate() -> None:
        edit_wrote.wait(30)
        with session_scope(engine) as session:
            outcome["kept"] = clear_untouched_drafts(session, campaign_id)

    threads = [threading.Thread(target=edit), threading.Thread(target=regenerate)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with session_scope(engine) as session:
        left = set(session.scalars(select(Draft.id).where(Draft.campaign_id == campaign_id)))
        reviews = session.scalar(select(func.count()).select_from(Review).where(Review.draft_id == edited_id))
    assert left == {edited_id} and reviews == 1 and outcome["kept"] == {"c1"}
    assert untouched_id not in left


@pytest.mark.postgres
def test_a_customer_erased_while_their_email_is_sent_waits_for_the_send(postgres_url):
    """The erasure marked the campaign's forecast stale, then waited to delete the customer the send's row names;
    the send then waited to mark the campaign sent: a deadlock that failed the send job, or the erasure with a 503."""
    from datetime import UTC, datetime

    from service.customers import erase_customer
    from service.db.models import Brand, Campaign, Draft, Send, Variant

    engine = new_migrated_postgres_database(postgres_url, "erase_send_race")
    with session_scope(engine) as session:
        campaign = Campaign(name="c", brand=Brand(slug="hearth", name="Hearth"), campaign_type="win_back",
                            forecast={"opens": 1.0})  # fmt: skip
        customer = Customer(external_id="leaving", email="leaving@example.com", marketing_consent=True)
        draft = Draft(
            campaign=campaign, customer=customer, status="sending", variants=[Variant(label="A", subject="Hi")]
        )
        session.add(draft)
        session.flush()
        campaign_id, draft_id, customer_pk = campaign.id, draft.id, customer.id
    mailing, outcome = threading.Event(), {}

    def send() -> None:  # as sending.send_campaign writes one email: its send row, the mail, then draft and campaign
        try:
            with session_scope(engine) as session:
                session.add(Send(customer_id=customer_pk, campaign_id=campaign_id, draft_id=draft_id, subject="Hi",
                                 campaign_type="win_back", sent_at=datetime.now(UTC).replace(tzinfo=None)))  # fmt: skip
                session.flush()
                mailing.set()
                threading.Event().wait(1.0)  # the mail server takes its time; the erasure comes meanwhile
                session.get(Draft, draft_id).status = "sent"
                session.get(Campaign, campaign_id).status = "sent"
            outcome["send"] = None
        except Exception as error:  # noqa: BLE001
            outcome["send"] = error

    def erase() -> None:
        mailing.wait(30)
        try:
            with session_scope(engine) as session:
                erase_customer(session, "leaving")
            outcome["erase"] = None
        except Exception as error:  # noqa: BLE001
            outcome["erase"] = error

    threads = [threading.Thread(target=send), threading.Thread(target=erase)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcome == {"send": None, "erase": None}
    with session_scope(engine) as session:
        assert session.get(Campaign, campaign_id).status == "sent"
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
