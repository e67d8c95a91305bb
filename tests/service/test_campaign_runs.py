"""Campaign runs as the CLI reports them: a mistake in what was asked leaves no campaign behind, and a campaign
whose generation stops is kept, failed, with the command saying which one and why."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from service.db.models import Campaign
from service.db.session import session_scope
from service.errors import CampaignFailed, InvalidInput, NotReady
from service.pipeline.campaign_runs import RunSummary, create_and_generate
from tests import forked_cli
from tests.conftest import PROJECT_ROOT
from tests.forked_cli import run_tailor
from tests.service.conftest import trained_in_process, use_an_unreachable_model


def test_the_summary_says_why_variants_are_in_template_copy():
    """The command said "drafts with fallback copy 96%" (a share of variants) and not why."""
    forecast = {"opens": 1, "clicks": 0, "conversions": 0, "revenue": 0, "revenue_low": 0, "revenue_high": 0}
    result = {
        "customers": 40, "drafts": 40, "flagged": 0, "forecast": forecast, "llm_calls": 6, "seconds": 16.2,
        "fallback_share": 0.96, "template_only_groups": 3, "rejected_by_check": {"injection": 2, "structure": 9},
    }  # fmt: skip
    line = next(row for row in RunSummary(1, result).table().splitlines() if row.startswith("variants in"))
    assert line.endswith(
        "96% (3 groups in locales the model does not write; model copy turned down by structure 9, injection 2)"
    )
    plain = {**result, "template_only_groups": 0, "rejected_by_check": {}, "fallback_share": 0.0}
    assert any(row.endswith("  0%") for row in RunSummary(1, plain).table().splitlines())
    assert not any(row.startswith("model product lines") for row in RunSummary(1, plain).table().splitlines())
    lines = {**plain, "lines_rejected_by_check": {"injection": 6, "not_about_its_product": 18}}
    line = next(row for row in RunSummary(1, lines).table().splitlines() if row.startswith("model product lines"))
    assert line.endswith("not about its product 18, injection 6 (each is the template's line instead)")
    silent = {**plain, "fallback_share": 1.0, "unavailable_groups": 12, "timeouts": 12, "invalid_answers": 1}
    line = next(row for row in RunSummary(1, silent).table().splitlines() if row.startswith("variants in"))
    assert line.endswith(  # a model that timed out on some groups said "100%" and nothing more
        "100% (12 groups without the model (the provider failed, or 12 calls timed out); 1 answer not in the JSON "
        "asked for)"
    )


def test_the_summary_says_why_drafts_are_flagged(engine, demo_files, monkeypatch):
    """CDNOW's win-back said "flagged drafts 8331" and nothing of why (no product could be shown to anyone)."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setenv("TAILOR_CAMPAIGN_REVIEW_THRESHOLD_P_OPEN", "0.99")  # every draft under the floor
    trained_in_process(engine, demo_files)
    summary = _run(engine, limit=3)
    assert summary.result["flagged"] == 3
    assert summary.result["flagged_why"]["predicted open rate is under the floor"] == 3
    line = next(row for row in summary.table().splitlines() if row.startswith("flagged drafts"))
    assert line.endswith("3 (predicted open rate is under the floor: 3)"), line


def test_an_empty_audience_is_a_warning_not_a_silent_empty_campaign():
    assert RunSummary(7, {"customers": 0}).warning() == (
        "campaign #7 is empty: no mailable customer fits its campaign type and audience query"
    )
    assert RunSummary(7, {"customers": 3}).warning() is None


def test_a_campaign_whose_audience_is_no_one_is_generated_empty_through_the_api(client, demo_files, monkeypatch):
    """Generating a campaign whose query matched no customer failed the job with "ValueError: Columns must be same
    length as key" and left the campaign failed."""
    from tests.service.conftest import generated_campaign, trained_shop

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, campaign_type="vip", audience_query="clv > 99999999")
    campaign = client.get(f"/campaigns/{campaign_id}").json()
    assert campaign["status"] == "ready" and campaign["drafts"]["total"] == 0
    # every status is named, 0 for none: a client reading `flagged` or `approved` needs no default of its own
    statuses = ("pending", "flagged", "approved", "sending", "rejected", "sent", "skipped", "holdout")
    assert campaign["drafts"] == dict.fromkeys((*statuses, "total"), 0)
    assert (campaign["stats"]["customers"], campaign["stats"]["drafts"]) == (0, 0)
    (job,) = client.get("/jobs", params={"kind": "generate", "campaign_id": campaign_id}).json()
    # It said "done" with 2 of 2 done: two of nothing, counted as if a draft had been written.
    assert (job["done"], job["total"], job["message"]) == (0, 0, "done: no customer in the audience")


def _campaigns(engine) -> list[tuple[int, str]]:
    with session_scope(engine) as session:
        return list(session.execute(select(Campaign.id, Campaign.status)).all())


def _run(engine, **asked):
    asked = {
        "campaign_type": "cross_sell",
        "brand": "hearth",
        "limit": 2,
        "name": None,
        "audience_query": None,
        **asked,
    }
    return create_and_generate(engine, **asked)


def test_mistakes_leave_no_campaign_and_a_stopped_generation_says_which_one(engine, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    with pytest.raises(InvalidInput, match="option '--campaign-type': Input should be 'welcome'"):
        _run(engine, campaign_type="newsletter")
    with pytest.raises(NotReady, match="No recommender model is trained yet"):
        _run(engine)
    trained_in_process(engine, demo_files)
    with pytest.raises(InvalidInput, match="unknown brand 'nope'"):
        _run(engine, brand="nope")
    with pytest.raises(InvalidInput, match="option '--audience-query': .*unknown field 'foo'"):  # the command's words
        _run(engine, audience_query="foo > 3")
    # a query that leaves the campaign type nobody made an empty campaign, which said only "empty" afterwards
    nobody = "option '--audience-query': no mailable customer fits: win_back is for at_risk, cant_lose, hibernating"
    with pytest.raises(InvalidInput, match=nobody):
        _run(engine, campaign_type="win_back", audience_query="segment = lost")
    assert _campaigns(engine) == []

    use_an_unreachable_model(monkeypatch)  # the generation stops part way
    with pytest.raises(CampaignFailed, match=r"campaign #1 failed while generating \(.*Connection error"):
        _run(engine)
    assert _campaigns(engine) == [(1, "failed")]

    args = ["generate", "--campaign-type", "cross_sell", "--brand", "hearth", "--limit", "2"]
    result = run_tailor(args, timeout=300)
    lines = result.stderr.splitlines()  # the job's log record, then one line for the person
    assert result.returncode == 2 and not any(line.startswith("Traceback") for line in lines)
    error = lines[-1]
    assert error.startswith("error: campaign #2 failed while generating (")
    assert _campaigns(engine) == [(1, "failed"), (2, "failed")]
    # A shop without a server was sent to POST /campaigns/2/generate: the command line could not generate it again.
    # Then the command was named beside the request, which a person at the command line has no use for.
    assert error.endswith("generate it again with `tailor campaigns generate 2`.") and "POST /" not in error

    again = run_tailor(["campaigns", "generate", "2"], env={**os.environ, "TAILOR_LLM_MODEL": "fake"}, timeout=300)
    assert again.returncode == 0, again.stderr
    assert ["campaign", "#2"] in [line.split() for line in again.stdout.splitlines()]
    assert _campaigns(engine) == [(1, "failed"), (2, "ready")]


def test_progress_names_each_step_before_the_drafts_are_written(engine, demo_files, monkeypatch):
    """Generation sat at "choosing the audience" through the recommendation step too, and then at "recommending
    products" until every customer was ranked. The ranking's figures count customers: the job's progress (and the
    bar) said 0 of 1 through it, and each chunk, a "first" report, wrote the job's row unthrottled."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setattr("service.pipeline.generate.RECOMMEND_CHUNK", 2)
    trained_in_process(engine, demo_files)
    reports = []
    create_and_generate(
        engine, campaign_type="cross_sell", brand="hearth", limit=3, name=None, audience_query=None,
        listener=lambda done, total, message: reports.append((done, total, message)),
    )  # fmt: skip
    seen = [message for *_, message in reports]
    steps = list(dict.fromkeys(message.split(" ")[0] for message in seen))
    assert steps[:3] == ["choosing", "recommending", "writing"]
    assert "recommending products for 3 customers" in seen
    ranked = [message for message in seen if message.startswith("recommending products: ")]
    assert ranked == ["recommending products: 2 of 3 customers", "recommending products: 3 of 3 customers"]
    assert [(done, total) for done, total, message in reports if message in ranked] == [(2, 3), (3, 3)]


def test_an_export_counts_drafts_and_variants_and_appears_whole_or_not_at_all(
    engine, demo_files, tmp_path, monkeypatch
):
    """The command said "wrote 6 drafts" for 3 drafts of 2 variants each, and an export that broke off part way
    left half a file where the whole one was expected."""
    import json

    from service.pipeline import exporting

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_in_process(engine, demo_files)
    summary = _run(engine, limit=3)
    out = tmp_path / "exports" / "drafts.jsonl"
    drafts, lines, warning = exporting.export_campaign(engine, summary.campaign_id, out)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert (drafts, lines, warning) == (3, len(records), None) and lines >= 6
    assert len({r["draft_id"] for r in records}) == 3

    def broken(*_):
        raise RuntimeError("the database went away")

    out.write_text("the earlier export\n")
    monkeypatch.setattr(exporting, "_records", broken)
    with pytest.raises(RuntimeError):
        exporting.export_campaign(engine, summary.campaign_id, out)
    assert out.read_text() == "the earlier export\n" and [p.name for p in out.parent.iterdir()] == [out.name]


def _held_model(asked: threading.Event, answer: threading.Event) -> ThreadingHTTPServer:
    """An OpenAI-style model server that holds each call until ``answer``, saying when the first came, then answers
    with copy that is not the JSON asked for (the group's copy is the template's)."""

    class Model(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            asked.set()
            answer.wait(300)
            said = {"role": "assistant", "content": "no JSON here"}
            body = json.dumps({
                "id": "held", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": said, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Model)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_generation_a_later_one_took_over_says_so_and_not_to_generate_again(
    engine, tailor_home, demo_files, monkeypatch
):
    """`tailor campaigns generate` stalled (its process stopped past its beats), taken for interrupted and the
    campaign generated again by another command, said when it went on: "failed while generating ...; it is kept
    with the status failed: once the cause is fixed, generate it again", though the later generation had already
    done so and the campaign was ready with that one's drafts."""
    from service.db.models import Job
    from tests.service.test_cli import run
    from tests.service.test_generate_again import _three_customer_campaign

    campaign_id = _three_customer_campaign(engine, demo_files, monkeypatch)
    asked, answer = threading.Event(), threading.Event()
    model = _held_model(asked, answer)
    held = {
        "TAILOR_LLM_MODEL": "openai/gpt-4o-mini", "TAILOR_LLM_API_KEY": "sk-unused", "TAILOR_LLM_TIMEOUT": "300",
        "TAILOR_LLM_API_BASE": f"http://127.0.0.1:{model.server_address[1]}/v1",
        "TAILOR_LLM_STREAM": "false",  # the held model answers whole
    }  # fmt: skip
    first = forked_cli.popen(
        [str(forked_cli.TAILOR_SCRIPT), "campaigns", "generate", str(campaign_id)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT, env={**os.environ, **held},
    )  # fmt: skip
    try:
        assert asked.wait(120), "the generation never asked the model"
        os.kill(first.pid, signal.SIGSTOP)  # stalled: its beats stop, and a sweep a minute on finds them missed
        with session_scope(engine) as session:
            job = session.scalars(select(Job).where(Job.kind == "generate")).one()
            job.heartbeat_at -= timedelta(minutes=1)
        again = run(["campaigns", "generate", str(campaign_id)], tailor_home)  # the fake model writes
        assert again.returncode == 0, again.stderr
    finally:
        os.kill(first.pid, signal.SIGCONT)
        answer.set()
        _, said = first.communicate(timeout=300)
        model.shutdown()

    assert first.returncode == 2
    error = said.splitlines()[-1]
    assert error.startswith(f"error: Campaign {campaign_id} was generated again while this generation ran"), error
    assert "later generation took the campaign over" in error and "generate it again" not in error
    assert "status failed" not in error and f"`tailor drafts list --campaign {campaign_id}` its drafts" in error
    assert _campaigns(engine) == [(campaign_id, "ready")]


def test_a_generation_cancelled_on_request_says_so_not_that_a_cause_must_be_fixed(engine, demo_files, monkeypatch):
    """`tailor jobs cancel` of a `tailor generate` running in another terminal: the command said "campaign #1 failed
    while generating (cancelled on request ...); ... once the cause is fixed, generate it again", a cause to look
    for behind a stop the person asked for."""
    from service.db.models import Job
    from service.jobs.runner import request_cancel

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_in_process(engine, demo_files)

    def cancel_it(_done: int, _total: int, _message: str = "") -> None:  # as another terminal would, once it runs
        with session_scope(engine) as session:
            job_id = session.scalar(select(Job.id).where(Job.kind == "generate", Job.status == "running"))
        if job_id is not None:
            request_cancel(engine, job_id)

    with pytest.raises(CampaignFailed) as stopped:
        _run(engine, listener=cancel_it)

    assert re.fullmatch(
        r"campaign #1's generation was cancelled on request after \d+ of \d+: .+; it is kept with the status failed: "
        r"generate it again with `tailor campaigns generate 1` to write its drafts\.",
        str(stopped.value),
    ), str(stopped.value)
    assert _campaigns(engine) == [(1, "failed")]


def test_a_campaign_asked_before_any_training_names_the_command_that_trains(tailor_home, engine):
    """`tailor generate` on a shop with no model said "run `tailor train` (or POST /train) first": a request beside
    the command, which a marketer at the command line cannot send."""
    asked = run_tailor(["generate", "--campaign-type", "vip", "--brand", "hearth"], env={**os.environ}, timeout=120)

    assert asked.returncode == 2 and asked.stderr.splitlines() == [
        "error: No recommender model is trained yet: train one first (`tailor train`)."
    ]
