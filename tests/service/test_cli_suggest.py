"""`tailor drafts suggest`: another version of a variant's copy asked of the model from a terminal, as the review
page's "Suggest another version" asks it, and saved as the variant's edit only when told (--save), refused when the
draft changed while the model wrote."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from generation.llm import Endpoint, register
from generation.schemas import NOTE_MAX
from service.cli import app
from tests.service.test_cli import run
from tests.service.test_suggestions import _first_draft

# What the model "editing_meanwhile" answers, and the edit it makes of the draft before answering (the copywriter's
# colleague saving the variant while the model writes): set by the test that uses it.
_MEANWHILE: dict = {}


@register("editing_meanwhile")
def _editing_meanwhile(model, settings):
    """A model during whose answer someone saves an edit of the draft, then answers a version that passes."""

    def answer(messages, schema) -> str:
        if edit := _MEANWHILE.pop("edit", None):
            assert edit().status_code == 200
        return json.dumps(_MEANWHILE["version"])

    return Endpoint(model="openai/editing_meanwhile", api_key="x", mock=answer)


def test_suggest_prints_a_checked_version_and_saves_it_only_with_save(client, demo_files, monkeypatch, tailor_home):
    draft, variant, _ = _first_draft(client, demo_files, monkeypatch)
    asked = ["drafts", "suggest", str(draft["id"]), "--variant", variant["label"], "--note", "warmer"]

    shown = run(asked, tailor_home, TAILOR_LLM_MODEL="fake")

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert (
        lines[0]
        == f"suggestion for variant {variant['label']} of draft {draft['id']} (revision 0), for your note “warmer”:"
    )
    subject = lines[1].removeprefix("  subject: ")
    assert subject != variant["subject"] and lines[2].startswith("  preheader: ")
    assert any(line.startswith("  checks: ") and line.endswith(" passed") for line in lines)  # a version that passed
    assert any(line.startswith("  scores: P(open) ") for line in lines)  # the engagement model's predictions
    assert client.get(f"/drafts/{draft['id']}").json() == draft  # only shown: the draft is unchanged

    saved = run([*asked, "--save", "--reviewer", "Ola"], tailor_home, TAILOR_LLM_MODEL="fake")

    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.splitlines()[-1].startswith(f"saved as variant {variant['label']}'s edit: draft {draft['id']}")
    after = client.get(f"/drafts/{draft['id']}").json()
    edited = next(v for v in after["variants"] if v["id"] == variant["id"])
    assert edited["edited"] and edited["subject"] == saved.stdout.splitlines()[1].removeprefix("  subject: ")
    assert [(r["action"], r["reviewer"]) for r in after["reviews"]] == [("edit", "Ola")] and after["revision"] == 1


def test_suggest_refuses_naming_the_option_the_variant_and_who_saves(client, demo_files, monkeypatch, tailor_home):
    draft, variant, _ = _first_draft(client, demo_files, monkeypatch)
    suggest = ["drafts", "suggest", str(draft["id"])]

    long_note = run([*suggest, "--note", "x" * (NOTE_MAX + 1)], tailor_home, TAILOR_LLM_MODEL="fake")
    assert long_note.returncode == 2 and "option '--note'" in long_note.stderr, long_note.stderr
    assert f"at most {NOTE_MAX}" in long_note.stderr and "Traceback" not in long_note.stderr
    no_such = run([*suggest, "--variant", "Z"], tailor_home, TAILOR_LLM_MODEL="fake")
    assert no_such.returncode == 2 and f"Draft {draft['id']} has no variant Z" in no_such.stderr, no_such.stderr
    nobody = run([*suggest, "--save"], tailor_home, TAILOR_LLM_MODEL="fake")
    assert nobody.returncode == 2 and "--reviewer" in nobody.stderr, nobody.stderr
    unwritten = run(suggest, tailor_home, TAILOR_LLM_MODEL="fake", TAILOR_LLM_LOCALES="de")
    assert unwritten.returncode == 2 and "is not asked to write en" in unwritten.stderr, unwritten.stderr
    assert "POST /" not in unwritten.stderr + long_note.stderr
    assert client.get(f"/drafts/{draft['id']}").json() == draft


def test_a_suggestion_saved_after_the_draft_changed_meanwhile_is_refused_naming_the_change(
    client, demo_files, monkeypatch, tailor_home
):
    draft, variant, url = _first_draft(client, demo_files, monkeypatch)
    passing = client.post(url).json()  # a version the checks pass, which the scripted model answers
    _MEANWHILE["version"] = {name: passing[name] for name in ("subject", "preheader", "intro")}
    _MEANWHILE["edit"] = lambda: client.patch(
        f"/drafts/{draft['id']}/variants/{variant['id']}",
        json={"subject": "Picked while you waited", "reviewer": "Ola"},
    )
    monkeypatch.setenv("TAILOR_LLM_MODEL", "editing_meanwhile")

    saving = CliRunner().invoke(
        app, ["drafts", "suggest", str(draft["id"]), "--save", "--reviewer", "Kim"], prog_name="tailor"
    )

    refused = saving.exception
    assert type(refused).__name__ == "DraftChanged", f"{refused!r} {saving.output}"  # which refusal it was, if not
    assert f"variant {variant['label']}: subject" in refused.on_command_line() and "Ola edited" in str(refused)
    after = client.get(f"/drafts/{draft['id']}").json()
    assert next(v for v in after["variants"] if v["id"] == variant["id"])["subject"] == "Picked while you waited"
    assert [(r["action"], r["reviewer"]) for r in after["reviews"]] == [("edit", "Ola")]


def _interrupted(*args, **kwargs):
    raise KeyboardInterrupt  # Ctrl-C


def test_ctrl_c_on_a_suggestion_says_the_draft_is_as_it_was(client, demo_files, monkeypatch):
    """`tailor drafts suggest --save` stopped by Ctrl-C, as the model wrote or once the suggestion was shown and
    before it was saved, ended with no word: the person who saw the version could take it as saved."""
    from service import drafts, suggestions

    draft, variant, _ = _first_draft(client, demo_files, monkeypatch)
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    saving = ["drafts", "suggest", str(draft["id"]), "--save", "--reviewer", "Kim"]
    for stopped_in in (suggestions, drafts):  # as the model writes; as the version shown is saved
        with monkeypatch.context() as stopping:
            stopping.setattr(stopped_in, "suggest_for_variant" if stopped_in is suggestions else "edit_variant",
                             _interrupted)  # fmt: skip
            stopped = CliRunner().invoke(app, saving, prog_name="tailor")

        assert stopped.exit_code == 130
        assert stopped.output.splitlines()[-1] == (
            f"interrupted: nothing was saved, draft {draft['id']} is as it was"
        ), stopped.output
        assert client.get(f"/drafts/{draft['id']}").json() == draft
