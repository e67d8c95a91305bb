"""A draft's scores at generation are those an edit or a refresh gives its unchanged copy: the copy model's appeal
of a subject is measured against the draft's own subjects, not against whichever drafts shared its batch (a
copywriter saw a variant's p_click move on an edit that changed nothing of it)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from operator import itemgetter

from generation.brands import load_brand
from generation.llm.fake import answer
from generation.llm.registry import Endpoint, register
from generation.templates import fallback_copies
from tests.service.conftest import generated_campaign, trained_shop


@register("names_a_product")
def _names_a_product_endpoint(model, settings):
    """Writes the template's copy as the fake model does, but an English group's first subject names the kind of
    its least recommended product: the customers whose email shows none get the template's subject, so the drafts
    of one batch have subjects of their own, as the local model's often do."""

    def respond(messages, schema):
        body = json.loads(answer(messages, schema))
        if body["variants"][0]["subject"] == fallback_copies("cross_sell", "en")[0]["subject"]:
            products = re.findall(r"^p\d+: (.*)$", messages[-1]["content"], flags=re.MULTILINE)
            kinds = [
                word for word in load_brand("hearth").product_words["en"] if re.search(rf"\b{word}", products[-1], re.I)
            ]
            if kinds:
                body["variants"][0]["subject"] = f"A {kinds[0]} to go with your last order"
        return json.dumps(body)

    return Endpoint(model="openai/names_a_product", api_key="x", mock=respond)


def test_generation_scores_each_draft_as_an_edit_or_a_refresh_of_it_does(
    client, demo_files, engine, copy_model_file, monkeypatch
):
    from sqlalchemy import select

    from service.db.models import Draft
    from service.db.session import session_scope
    from service.drafts import score_again
    from service.pipeline import generate

    monkeypatch.setenv("TAILOR_SCORING_COPY_MODEL", str(copy_model_file))
    monkeypatch.setenv("TAILOR_LLM_MODEL", "names_a_product")
    monkeypatch.setattr(generate, "utcnow", lambda: datetime(2026, 11, 20, 10, 30))  # one hour planned for all
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=16)
    models = client.app.state.tailor.models

    def scores(drafts: list) -> dict[tuple[int, str], tuple]:
        return {(d.id, v.label): (v.p_open, v.p_click, v.p_conversion, v.reasons) for d in drafts for v in d.variants}

    with session_scope(engine) as session:
        drafts = list(session.scalars(select(Draft).where(Draft.campaign_id == campaign_id).order_by(Draft.id)))
        named = {d.variants[0].subject for d in drafts if d.variants[0].subject.endswith("to go with your last order")}
        assert len(named) > 1  # the model's subject for some, the template's for others
        at_generation = scores(drafts)
        previewed = {  # as a person's edit is previewed: the draft's rows alone (once a variant, not once a figure)
            (d.id, v.label): itemgetter("p_open", "p_click", "p_conversion", "reasons")(
                generate.score_in_place_of(d, v.label, v, all(c["passed"] for c in v.checks), models.get("engagement"))
            )
            for d in drafts for v in d.variants
        }  # fmt: skip
        for draft in drafts:  # as an edit that changed nothing of the copy scores it
            score_again([draft], models)
        edited = scores(drafts)
        score_again(drafts, models)  # as a refresh of the campaign scores its drafts, together
        refreshed = scores(drafts)
        session.rollback()
    assert at_generation == previewed == edited == refreshed
    assert len({p_click for _, p_click, *_ in at_generation.values()}) > 1  # the copy model's appeal moved them
