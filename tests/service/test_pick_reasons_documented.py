"""A pick's `reason` is one of a closed set that the OpenAPI document declares and explains value by value wherever
the API answers picks (a customer's recommendations, a draft's), and that README lists: `activity`, the newest, was
added to the picks' reasons and to the recommendations' answer by hand, each list kept apart, and a draft's picks,
which carry the same `reason`, documented none of their fields."""

from __future__ import annotations

import re
from pathlib import Path

from service.pipeline.picks import REASONS

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_reasons_are_a_closed_set_the_openapi_document_explains_for_each_answer_of_picks(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    reason = schemas["Recommendation"]["properties"]["reason"]
    assert reason["enum"] == list(REASONS) and "reason" in schemas["Recommendation"]["required"]
    draft_picks = schemas["DraftOut"]["properties"]["recommendations"]["description"]
    for value in REASONS:
        # named, then what it means: "`popular` where the model ranked it by ...", "`activity`: ..."
        assert re.search(rf"`{value}`[^`]{{12,}}", reason["description"]), value
        assert f"`{value}`" in draft_picks, value


def test_readme_lists_every_reason_a_recommendation_gives():
    told = README[README.index("each product's `reason` says why it is there") :][:1200]
    assert all(f"`{value}`" in told for value in REASONS), told
