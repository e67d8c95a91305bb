"""Campaign runs as the CLI reports them."""

from __future__ import annotations

from service.pipeline.campaign_runs import RunSummary


def test_an_empty_audience_is_a_warning_not_a_silent_empty_campaign():
    assert RunSummary(7, {"customers": 0}).warning() == (
        "campaign #7 is empty: no mailable customer fits its campaign type and audience query"
    )
    assert RunSummary(7, {"customers": 3}).warning() is None
