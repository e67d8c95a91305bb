"""A settings class read again while the variables it reads are unchanged gives what it read before, without reading
them again (generation.settings.EnvironmentSettings): every read still reflects the environment of its moment."""

from __future__ import annotations

import pydantic
import pytest


def test_a_variable_set_changed_or_unset_between_reads_is_read(monkeypatch):
    from service.settings import ApiSettings

    monkeypatch.delenv("TAILOR_API_PORT", raising=False)
    assert ApiSettings().port == 8000
    monkeypatch.setenv("TAILOR_API_PORT", "8100")
    assert ApiSettings().port == 8100
    monkeypatch.setenv("TAILOR_API_PORT", "8101")
    assert ApiSettings().port == 8101
    monkeypatch.delenv("TAILOR_API_PORT")
    monkeypatch.setenv("tailor_api_port", "8102")  # pydantic-settings reads a name in any case
    assert ApiSettings().port == 8102
    monkeypatch.delenv("tailor_api_port")
    assert ApiSettings().port == 8000


def test_a_variable_read_by_its_alias_is_read_when_it_changes(monkeypatch):
    from service.settings import DbSettings

    monkeypatch.delenv("TAILOR_DB_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://one/tailor")
    assert DbSettings().url == "postgresql://one/tailor"
    monkeypatch.setenv("DATABASE_URL", "postgresql://two/tailor")
    assert DbSettings().url == "postgresql://two/tailor"
    monkeypatch.delenv("DATABASE_URL")
    assert DbSettings().url is None


def test_a_check_that_reads_other_settings_sees_them_change(monkeypatch):
    """TAILOR_HISTORY_KEEP_DAYS must be longer than scoring's, the contact policy's and the experiments' windows,
    which its check reads: a window made longer after a read that passed fails the next read."""
    from service.settings import HistorySettings, environment_problem

    monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAYS", "40")
    assert HistorySettings().keep_days == 40
    for name in (
        "TAILOR_SCORING_OUTCOME_DAYS",
        "TAILOR_SEND_MIN_DAYS_BETWEEN",
        "TAILOR_EXPERIMENT_CONVERSION_WINDOW_DAYS",
    ):
        monkeypatch.setenv(name, "45")
        with pytest.raises(pydantic.ValidationError) as refused:
            HistorySettings()
        assert f"must be more days than {name} (45)" in environment_problem(refused.value), name
        monkeypatch.delenv(name)
        assert HistorySettings().keep_days == 40


def test_a_read_that_fails_fails_again(monkeypatch):
    from service.settings import ApiSettings, environment_problem

    monkeypatch.setenv("TAILOR_API_PORT", "abc")
    for _ in range(2):
        with pytest.raises(pydantic.ValidationError) as refused:
            ApiSettings()
        assert "TAILOR_API_PORT='abc'" in environment_problem(refused.value)


def test_each_read_is_the_callers_own(monkeypatch):
    """A caller that changes a field of what it read changes no later read's, and values given to the class are
    taken over the environment's for that read alone."""
    from service.settings import SmtpSettings

    monkeypatch.setenv("TAILOR_SMTP_HOST", "mail.shop.example")
    read = SmtpSettings()
    read.host = "changed.example"
    assert SmtpSettings().host == "mail.shop.example"
    assert SmtpSettings(host="given.example").host == "given.example"
    assert SmtpSettings().host == "mail.shop.example"


def test_the_llm_settings_are_read_again_when_a_variable_changes(monkeypatch):
    from generation.settings import LLMSettings

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    assert LLMSettings().model == "fake"
    monkeypatch.setenv("TAILOR_LLM_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("TAILOR_LLM_LOCALES", "DE-ch,en")
    assert (LLMSettings().model, LLMSettings().locales) == ("openai/gpt-4o-mini", "de,en")
