"""What README.md tells a shop onboarding its own data agrees with the code: each import's key, and the discount
codes win-back emails promise (which the shop must create itself)."""

from __future__ import annotations

from pathlib import Path

from audience.campaigns import win_back_ladder, win_back_offer
from service.importing.columns import SPECS

README = " ".join((Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8").split())


def test_the_readme_names_each_imports_key_as_the_importer_uses_it():
    """An order with one product on two lines was refused as a repeated key; the README never said what the key is."""
    keys = {kind: f"`{', '.join(spec.key)}`" for kind, spec in SPECS.items()}
    said = (
        f"Customers are keyed by {keys['customers']}, products by {keys['products']}, sends by {keys['sends']}, "
        f"and order lines by {keys['orders']}"
    )
    assert said in README


def test_the_readme_names_the_discount_codes_win_back_emails_promise():
    """The emails promised codes the shop had never been told to create."""
    codes = {win_back_offer(rung["min_percentile"])["code"] for rung in win_back_ladder()}
    assert codes == {"COMEBACK10", "COMEBACK15", "COMEBACK20"}
    assert all(f"`{code}`" in README for code in codes) and "audience/win_back_ladder.yaml" in README
