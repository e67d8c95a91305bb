"""The review page's forms over HTTP: an edit meets the API's limits, and a refused action comes back to the
draft with what went wrong."""

from __future__ import annotations

from tests.service.conftest import generated_campaign, trained_shop


def _is_page(response) -> bool:
    return response.headers["content-type"].startswith("text/html") and '{"error"' not in response.text


def test_page_edits_meet_the_apis_limits_and_refusals_show_the_draft(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=2)
    first, second = client.get(f"/campaigns/{campaign_id}/drafts").json()
    variant = next(v for v in first["variants"] if v["id"] == first["selected_variant_id"])
    form = f"/review/drafts/{first['id']}/variants/{variant['id']}/edit"

    for subject, words in (("", "subject: String should have at least 1 character"),
                           ("   ", "subject: String should have at least 1 character"),
                           ("x" * 500, "subject: String should have at most 200 characters")):  # fmt: skip
        response = client.post(form, data={"subject": subject, "preheader": "kept as typed"})
        assert response.status_code == 422 and _is_page(response)
        assert words in response.text and 'value="kept as typed"' in response.text  # nothing typed is lost
        assert client.get(f"/drafts/{first['id']}").json()["variants"] == first["variants"]  # nothing saved

    client.post(f"/drafts/{second['id']}/reject", json={"comment": "done in the other tab"})
    stale = client.post(f"/review/drafts/{second['id']}/reject", data={"comment": "from a stale tab"})
    assert stale.status_code == 409 and _is_page(stale)
    assert f"Draft {second['id']} is already rejected" in stale.text and 'id="status">rejected' in stale.text
