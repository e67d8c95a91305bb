"""The numbers the `tailor` commands take are bounded as the API bounds them (service.cli_bounds): a campaign id,
a draft id, a count or a --campaign past what the database holds ended in a traceback from its driver
(OverflowError), where the API answers a 422 naming the field; an id of 0 was looked for, where the API refuses it."""

from __future__ import annotations

import pytest

from service.bounds import (
    COUNT_MAX,
    DATABASE_INT_MAX,
    DEMO_CUSTOMERS_MAX,
    HORIZON_DAYS_MAX,
    ROW_ID_MAX,
    TUNING_TRIALS_MAX,
)
from tests.service.test_cli import run

HUGE = str(10**20)  # past any integer a database holds: SQLite's driver failed to convert it

# (the command, with {} where the number goes; the option or argument as typer names it; its least; its most)
NUMBERS = [
    (["jobs", "list", "--campaign", "{}"], "--campaign", 1, ROW_ID_MAX),
    (["jobs", "list", "--offset", "{}"], "--offset", 0, DATABASE_INT_MAX),
    (["drafts", "list", "--campaign", "{}"], "--campaign", 1, ROW_ID_MAX),
    (["drafts", "list", "--campaign", "1", "--offset", "{}"], "--offset", 0, DATABASE_INT_MAX),
    (["drafts", "show", "{}"], "DRAFT_ID", 1, ROW_ID_MAX),
    (["drafts", "approve", "{}"], "DRAFT_ID", 1, ROW_ID_MAX),
    (["drafts", "approve", "1", "--revision", "{}"], "--revision", 0, COUNT_MAX),
    (["drafts", "reject", "{}", "--reason", "off brand"], "DRAFT_ID", 1, ROW_ID_MAX),
    (["drafts", "reject", "1", "--reason", "off brand", "--revision", "{}"], "--revision", 0, COUNT_MAX),
    (["drafts", "approve-pending", "{}"], "CAMPAIGN", 1, ROW_ID_MAX),
    (["drafts", "reapprove-late", "{}"], "CAMPAIGN", 1, ROW_ID_MAX),
    (["campaigns", "generate", "{}"], "CAMPAIGN", 1, ROW_ID_MAX),
    (["export", "--campaign", "{}", "--out", "drafts.jsonl"], "--campaign", 1, ROW_ID_MAX),
    (["send", "--campaign", "{}"], "--campaign", 1, ROW_ID_MAX),
    (["send", "--campaign", "1", "--batch-size", "{}"], "--batch-size", 1, COUNT_MAX),
    (["generate", "--campaign-type", "vip", "--brand", "hearth", "--limit", "{}"], "--limit", 1, COUNT_MAX),
    (["train", "--tune", "{}"], "--tune", 0, TUNING_TRIALS_MAX),
    (["audience", "--horizon-days", "{}"], "--horizon-days", 1, HORIZON_DAYS_MAX),
    (["demo", "--no-serve", "--customers", "{}"], "--customers", 50, DEMO_CUSTOMERS_MAX),
    (["demo", "--no-serve", "--limit", "{}"], "--limit", 1, COUNT_MAX),
]


def _said(result) -> str:
    """Standard error's words, out of the box typer draws around a usage error and its line breaks."""
    return " ".join(result.stderr.replace("│", " ").split())


@pytest.mark.parametrize(("args", "name", "least", "most"), NUMBERS, ids=[" ".join(case[0]) for case in NUMBERS])
def test_a_number_out_of_its_bounds_is_a_usage_error_naming_the_option_and_what_it_may_be(
    args, name, least, most, tmp_path
):
    home = tmp_path / "home"
    for number, allowed in (
        (HUGE, f"Input should be less than or equal to {most}"),
        (str(most + 1), f"Input should be less than or equal to {most}"),
        (f"{least - 1}", f"Input should be greater than or equal to {least}"),
    ):
        result = run([part.format(number) for part in args], home)

        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"Invalid value for '{name}': {allowed}" in _said(result), result.stderr
    assert not home.exists()  # refused before anything was opened: no database made


ID_ARGUMENTS = [case for case in NUMBERS if not case[1].startswith("--")]


@pytest.mark.parametrize(
    ("args", "name"), [case[:2] for case in ID_ARGUMENTS], ids=[" ".join(c[0]) for c in ID_ARGUMENTS]
)
def test_a_negative_id_is_refused_as_an_id_not_taken_for_an_option(args, name, tmp_path):
    """`tailor drafts show -1` said "No such option: -1", where `tailor drafts show 0` named the draft id."""
    result = run([part.format("-12") for part in args], tmp_path / "home")

    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"Invalid value for '{name}': -12 is not an id: ids are 1 or more" in _said(result), result.stderr
    assert not (tmp_path / "home").exists()


def test_the_largest_ids_and_offset_the_api_takes_are_looked_for(engine, tailor_home):
    """The bounds are the API's own, not tighter: the largest campaign id and offset list nothing, and the largest
    draft id is one that does not exist."""
    listed = run(["jobs", "list", "--campaign", str(ROW_ID_MAX), "--offset", str(DATABASE_INT_MAX)], tailor_home)
    shown = run(["drafts", "show", str(ROW_ID_MAX)], tailor_home)

    assert listed.returncode == 0, listed.stderr
    assert listed.stderr.strip() == f"no jobs of campaign {ROW_ID_MAX} after the first {DATABASE_INT_MAX:,}"
    assert shown.returncode == 2 and shown.stderr.strip() == f"error: Draft {ROW_ID_MAX} does not exist."


def test_a_churn_horizon_past_ten_years_in_the_environment_is_one_line_naming_the_variable(tmp_path):
    """TAILOR_AUDIENCE_HORIZON_DAYS of some 270 years overflowed pandas' timestamps in the audience refresh (a
    traceback), as `tailor audience --horizon-days` did."""
    result = run(["audience", "refresh"], tmp_path, TAILOR_AUDIENCE_HORIZON_DAYS=str(HORIZON_DAYS_MAX + 1))

    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip() == (
        f"error: the environment is not valid: TAILOR_AUDIENCE_HORIZON_DAYS='{HORIZON_DAYS_MAX + 1}': Input should "
        f"be less than or equal to {HORIZON_DAYS_MAX}"
    )
