"""A copywriter's edit is scored again: the predictions and reasons shown are those of the edited copy, and the
variant the draft will send stays the one it was."""

from __future__ import annotations

from datetime import datetime

from tests.service.conftest import generated_campaign, trained_shop


def test_an_edited_variant_gets_the_scores_of_its_new_copy(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    hour = datetime.now().hour
    campaign_id = generated_campaign(client, max_customers=2)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    other = next(v for v in draft["variants"] if v["id"] != draft["selected_variant_id"])
    url = f"/drafts/{draft['id']}/variants/{other['id']}"

    edited = client.patch(url, json={"subject": "URGENT!!! LAST CHANCE $$$ FREE FREE FREE", "reviewer": "copy"})
    assert edited.status_code == 200, edited.text
    edited = edited.json()
    after = next(v for v in edited["variants"] if v["id"] == other["id"])
    assert (after["p_open"], after["p_click"]) != (other["p_open"], other["p_click"])
    assert 0 < after["p_click"] <= after["p_open"] < 1 and after["reasons"]
    assert edited["selected_variant_id"] == draft["selected_variant_id"]

    restored = client.patch(url, json={"subject": other["subject"], "reviewer": "copy"}).json()
    back = next(v for v in restored["variants"] if v["id"] == other["id"])
    if datetime.now().hour == hour:  # the send hour is a feature: scores match only within the same hour
        assert back["p_open"] == other["p_open"] and back["reasons"] == other["reasons"]


def test_a_copywriter_rewrites_the_product_lines_through_the_api_and_the_page(client, demo_files, monkeypatch):
    """The model's product lines are the part most often wrong, and neither the API nor the page could edit them."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=1)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    variant = draft["variants"][0]
    url = f"/drafts/{draft['id']}/variants/{variant['id']}"
    n_lines = len(variant["product_lines"])
    assert n_lines == len(draft["recommendations"]) > 0

    wrong = client.patch(url, json={"product_lines": ["Just one line."] * (n_lines + 1)})
    assert wrong.status_code == 422 and "product_lines" in wrong.text and f"{n_lines} products" in wrong.text
    lines = [f"Hand-picked for you, pick {'ABCDEFG'[i]}." for i in range(n_lines)]
    edited = client.patch(url, json={"product_lines": lines, "reviewer": "copy"})
    assert edited.status_code == 200, edited.text
    after = next(v for v in edited.json()["variants"] if v["id"] == variant["id"])
    assert after["product_lines"] == lines and after["edited"]
    assert all(line in after["text"] for line in lines)

    page_lines = [f"From the page, pick {'ABCDEFG'[i]}." for i in range(n_lines)]
    form = {"subject": after["subject"], "preheader": after["preheader"], "intro": after["intro"],
            "product_line": page_lines}  # fmt: skip
    posted = client.post(f"/review{url}/edit", data=form, follow_redirects=False)
    assert posted.status_code == 303
    saved = next(v for v in client.get(f"/drafts/{draft['id']}").json()["variants"] if v["id"] == variant["id"])
    assert saved["product_lines"] == page_lines
    page = client.get(f"/review/drafts/{draft['id']}").text
    assert all(f'name="product_line" lang="{draft["locale"]}" dir="auto" value="{line}"' in page for line in page_lines)
    assert "<legend>Variant to send</legend>" in page  # the radio buttons are named as one group, for screen readers

    form["intro"] = "Two lines from the page.\r\nThe second one."  # a browser's text box sends CR LF
    assert client.post(f"/review{url}/edit", data=form, follow_redirects=False).status_code == 303
    saved = next(v for v in client.get(f"/drafts/{draft['id']}").json()["variants"] if v["id"] == variant["id"])
    assert saved["intro"] == "Two lines from the page.\nThe second one."
    assert "Two lines from the page.<br>The second one." in saved["html"] and "\r" not in saved["text"]


def test_a_revision_the_draft_never_had_is_named_as_a_mistake_not_as_a_change(client, engine):
    """expected_revision 5 for a draft at 0 said the draft "was changed since you read it"."""
    from tests.service.test_api_input import _sent_email

    ids = _sent_email(client, engine)
    refused = client.post(f"/drafts/{ids['draft']}/approve", json={"expected_revision": 5})
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"] == [
        {"field": "expected_revision", "message": "the draft is at revision 0; it never had 5"}
    ]


def test_an_edit_keeps_the_language_the_draft_was_written_in_when_the_customer_s_changed(
    client, engine, demo_files, monkeypatch
):
    """An import changed a German customer's locale to French; a one-word edit of their German draft then put its
    copy in a French frame: <html lang="fr">, "Bonjour", a French offer sentence, sign-off and footer."""
    from sqlalchemy import select

    from service.db.models import Customer
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=40)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts", params={"limit": 40}).json()
    german = next(d for d in drafts if '<html lang="de"' in d["variants"][0]["html"])
    with session_scope(engine) as session:
        session.scalar(select(Customer).where(Customer.external_id == german["customer_id"])).locale = "fr"
    variant = german["variants"][0]
    edited = client.patch(f"/drafts/{german['id']}/variants/{variant['id']}", json={"subject": "Für Sie ausgesucht"})
    assert edited.status_code == 200, edited.text
    html = next(v for v in edited.json()["variants"] if v["id"] == variant["id"])["html"]
    assert '<html lang="de"' in html and "Bonjour" not in html
    sign_off = variant["html"].split("</p>")[-3:]  # the frame's own German words are still there
    assert all(part in html for part in sign_off)


def test_a_product_line_is_one_line(client, demo_files, monkeypatch):
    """A product line with a line break was taken: the text email showed its second half unindented between the
    products, as a line of its own, and the review page's one-line box could not hold it."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=1)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    variant = draft["variants"][0]
    lines = ["Lovely with tea.\nVisit our shop for more."] + variant["product_lines"][1:]
    refused = client.patch(f"/drafts/{draft['id']}/variants/{variant['id']}", json={"product_lines": lines})
    assert refused.status_code == 422, refused.text
    assert [p["field"] for p in refused.json()["problems"]] == ["product_lines[0]"]
    assert client.get(f"/drafts/{draft['id']}").json()["variants"][0]["product_lines"] == variant["product_lines"]


def test_an_edit_says_where_the_chosen_variant_stands_against_the_review_floors(client, demo_files, monkeypatch):
    """The floor's reason kept the figure generation wrote after an edit had scored the draft again: lifted above
    the floor, a draft stayed flagged, "predicted open rate 34.0% is under the 40% floor" beside the 41.0% its
    variant showed; sunk under it, it stayed pending, for approving all at once."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    monkeypatch.setenv("TAILOR_CAMPAIGN_REVIEW_THRESHOLD_P_OPEN", "0.99")
    campaign_id = generated_campaign(client, max_customers=1)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    assert draft["status"] == "flagged" and "under the 99% floor" in draft["flag_reasons"][0]
    chosen, other = sorted(draft["variants"], key=lambda v: v["id"] != draft["selected_variant_id"])
    url = f"/drafts/{draft['id']}/variants/{chosen['id']}"  # subjects of this customer's language, which pass

    monkeypatch.setenv("TAILOR_CAMPAIGN_REVIEW_THRESHOLD_P_OPEN", "0")  # the floor of now is cleared
    lifted = client.patch(url, json={"subject": other["subject"], "reviewer": "copy"})
    assert lifted.status_code == 200, lifted.text
    assert (lifted.json()["status"], lifted.json()["flag_reasons"]) == ("pending", [])

    monkeypatch.setenv("TAILOR_CAMPAIGN_REVIEW_THRESHOLD_P_OPEN", "0.99")
    sunk = client.patch(url, json={"subject": chosen["subject"], "reviewer": "copy"}).json()
    rescored = next(v for v in sunk["variants"] if v["id"] == chosen["id"])
    assert sunk["status"] == "flagged"
    assert sunk["flag_reasons"] == [f"predicted open rate {rescored['p_open']:.1%} is under the 99% floor"]
    approved = client.post(f"/campaigns/{campaign_id}/drafts/approve", json={}).json()
    assert approved["approved"] == 0 and approved["left_for_review"] == 1
