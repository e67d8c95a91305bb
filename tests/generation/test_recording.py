"""Recording a model's answers and replaying them (generation.llm.recording, generation.llm.replay): a replay gives
the drafts the recorded run gave, asks no model, and stops on a request the record lacks, naming it."""

from __future__ import annotations

import itertools
import json
import socket

import pytest

from generation.brands import load_brand
from generation.errors import AnswerNotRecorded
from generation.llm import Endpoint, register
from generation.llm import local as local_model
from generation.llm.recording import recording
from generation.llm.replay import replay_model
from generation.pipeline import generate_drafts
from generation.settings import LLMSettings
from tests.generation.conftest import make_request

_calls = itertools.count()
SUBJECTS = ("A few things picked for you", "Something new to try", "Your next cup is waiting", "Back for more?",
            "Fresh finds this week", "Made for slow mornings", "A little treat for you")  # fmt: skip


@register("drifting")
def _drifting_endpoint(model, settings):
    """A model whose answers differ from call to call, as a sampled one's do: its last version's subject changes,
    and every other answer promises a discount nobody offered (the checks turn it down and ask again)."""
    from generation.llm.fake import answer

    def respond(messages, schema):
        body = json.loads(answer(messages, schema))
        call = next(_calls)
        body["variants"][-1]["subject"] = SUBJECTS[call % len(SUBJECTS)]
        if call % 2 == 0:
            body["variants"][0]["intro"] = f"Everything is {call + 20}% off now, so come back and treat yourself."
        return json.dumps(body)

    return Endpoint(model="openai/drifting", api_key="x", mock=respond)


DRIFTING = LLMSettings(model="drifting", cache=False, max_retries=2)
VIP_READERS = "Readers: our best and most frequent customers"
REQUESTS = [make_request("c1"), make_request("c2", segment="champions", campaign_type="vip")]


def recorded_run(path):
    with recording(DRIFTING.model, locales=None) as answers:
        result = generate_drafts(REQUESTS, load_brand("hearth"), settings=DRIFTING)
    answers.save(path)
    return result


def replayed_run(path, **settings):
    replay = LLMSettings(model=replay_model(path), cache=False, max_retries=2, **settings)
    return generate_drafts(REQUESTS, load_brand("hearth"), settings=replay)


def test_a_replay_gives_the_drafts_the_recorded_answers_gave(tmp_path):
    path = tmp_path / "answers.json"
    recorded = recorded_run(path)
    record = json.loads(path.read_text())
    assert (
        record["model"] == "drifting" and record["recorded_at"] and len(record["answers"]) == recorded.stats.llm_calls
    )
    replayed = replayed_run(path)
    assert replayed.drafts == recorded.drafts
    assert (replayed.stats.llm_calls, replayed.stats.fallbacks) == (recorded.stats.llm_calls, recorded.stats.fallbacks)
    again = generate_drafts(REQUESTS, load_brand("hearth"), settings=DRIFTING)
    assert again.drafts != recorded.drafts  # the model itself does not answer alike twice


def test_a_replay_asks_no_model(tmp_path, monkeypatch):
    """No local server is started and no connection is opened: the answers are the file's."""
    path = tmp_path / "answers.json"
    recorded = recorded_run(path)

    def refused(*args, **kwargs):
        raise AssertionError("the replay reached for a model")

    monkeypatch.setattr(local_model, "start_server", refused)
    monkeypatch.setattr(socket.socket, "connect", refused)
    monkeypatch.setattr(socket, "create_connection", refused)
    assert replayed_run(path).drafts == recorded.drafts


def test_a_request_the_record_lacks_stops_the_replay_naming_it(tmp_path):
    """A copy change that asks the model something else fails the replay, saying what differs, rather than falling
    back to template copy (a replay's figures would then read as the model's)."""
    path = tmp_path / "answers.json"
    recorded_run(path)
    record = json.loads(path.read_text())
    vip = [key for key, entry in record["answers"].items() if VIP_READERS in str(entry["messages"])]
    assert vip
    for key in vip:
        del record["answers"][key]
    path.write_text(json.dumps(record))
    with pytest.raises(AnswerNotRecorded) as missing:
        replayed_run(path)
    message = str(missing.value)
    assert f"The recorded answers {path} hold none for the request" in message
    assert VIP_READERS in message and "(model 'drifting')" in message
    assert "the nearest recorded request differs in the user message's line" in message


def test_a_recorded_time_out_is_replayed_as_one(tmp_path):
    """A call that timed out while recording times out in the replay too, so that the replay takes the same path (a
    time-out ends the group's tries: its copy is the template's)."""
    path = tmp_path / "answers.json"
    recorded_run(path)
    record = json.loads(path.read_text())
    for entry in record["answers"].values():
        if VIP_READERS in str(entry["messages"]):
            del entry["answer"]
            entry.update(error="ModelTimedOut", message="The model 'drifting' gave no answer within 120 s.")
    path.write_text(json.dumps(record))
    result = replayed_run(path)
    assert result.stats.timeouts == 1
    vip = next(draft for draft in result.drafts if draft.customer_id == "c2")
    assert all(variant.used_fallback for variant in vip.variants)
