"""The copy checks remember what they found per text, and a group's copy is checked once per text: each verdict must
be the one a fresh check gives, whatever was checked before it (a memo keyed too loosely hands one product's, brand's
or locale's verdict to another)."""

from __future__ import annotations

from collections import Counter

from generation import copywriter
from generation.brands import load_brand
from generation.grouping import group_requests
from generation.guardrails import CHECKS, COPY_CHECKS, CheckContext, claims, injection, language, run_checks
from generation.pipeline import generate_drafts
from generation.schemas import ProductFact
from generation.settings import LLMSettings
from tests.generation import test_pipeline  # noqa: F401  (registers the "echoing" model)
from tests.generation.conftest import POT, TEA, make_request


def _forget() -> None:
    """Empty every memo of the checks, so that the next check is a fresh one."""
    for memo in (claims._claims_in, injection._sign_in, injection._words_and_shingles, language.language_matches,
                 language._probabilities):  # fmt: skip
        memo.cache_clear()


def _context(request, brand, subject="", preheader="", intro="", lines=(), line_products=(), lines_only=False):
    return CheckContext(
        request=request, brand=brand, subject=subject, preheader=preheader, intro=intro, product_lines=list(lines),
        line_products=list(line_products), lines_only=lines_only,
    )  # fmt: skip


def test_a_group_s_answers_are_checked_once_per_text_with_a_fresh_check_s_verdicts(monkeypatch):
    """Each answer's versions were checked alone twice (counted as turned down, then chosen from) and its lines
    twice, and a retry that answered the same copy was checked all over again: the same verdicts, computed up to
    four times. Each distinct text is checked once; what is counted and chosen is unchanged."""
    checked: list[tuple[CheckContext, list]] = []

    def recording(context, names=None):
        results = run_checks(context, names)
        checked.append((context, results))
        return results

    monkeypatch.setattr(copywriter, "run_checks", recording)
    request = make_request()
    settings = LLMSettings(model="echoing", cache=False, max_retries=1)  # the same failing answer twice
    result = generate_drafts([request], load_brand("hearth"), settings=settings)

    keys = Counter(
        (c.subject, c.preheader, c.intro, tuple(c.product_lines), tuple(c.line_products), c.lines_only)
        for c, _ in checked
    )
    assert keys and max(keys.values()) == 1, [key for key, n in keys.items() if n > 1]
    # every answer still counted: the echoed subject and line in each of the two
    assert result.stats.rejected_by_check.get("injection") == 2
    assert result.stats.lines_rejected_by_check.get("injection") == 2
    for context, results in checked:
        _forget()
        assert run_checks(context, COPY_CHECKS) == results


def test_one_line_under_two_products_gets_each_product_s_verdict():
    """The same line is another product's detail under the tea and true of the teapot: remembered per product."""
    from generation.copywriter import _CheckedCopy

    (group,) = group_requests([make_request(products=[TEA, POT])])
    brand = load_brand("hearth")
    line = "Cast Iron goodness in every cup."
    for order in (("TEA-001", "KIT-002", "TEA-001"), ("KIT-002", "TEA-001", "KIT-002")):
        memo = _CheckedCopy(group, brand, "")
        for product_id in order:
            verdicts = {c.name: c.passed for c in memo.line(product_id, line)}
            assert verdicts["unbacked_claims"] is (product_id == "KIT-002"), (order, product_id)
            fresh = _context(memo.request, brand, lines=[line], line_products=[product_id], lines_only=True)
            _forget()
            assert memo.line(product_id, line) == run_checks(fresh, COPY_CHECKS)


def test_the_same_copy_gets_the_verdict_of_its_own_products_brand_and_locale_each_time():
    """Texts are remembered, not verdicts: what a claim, a lifted passage or a language needs of the email's data is
    judged again for each email (alternated, so a memo keyed on the text alone would hand the first one's on)."""
    hearth, atelier = load_brand("hearth"), load_brand("atelier")
    handmade = ProductFact(
        product_id="MUG-7", name="Stoneware Mug", category="Kitchen", price=18.0, currency="EUR",
        description="Handmade by a small family business in Portugal, glazed by hand and fired twice.",
    )  # fmt: skip
    claim = "Handmade by a small family business in Portugal, glazed by hand and fired twice."
    cases = [
        (_context(make_request(products=[handmade]), hearth, subject="A mug for you", intro=claim), "injection"),
        (_context(make_request(products=[POT]), atelier, subject="A mug for you", intro=claim), "unbacked_claims"),
        (_context(make_request(locale="pl"), hearth, subject="Czas uzupełnić ulubione produkty"), None),
        (_context(make_request(locale="de"), hearth, subject="Czas uzupełnić ulubione produkty"), "language"),
        (_context(make_request(locale="de"), atelier, subject="Zeit, Ihre Favoriten aufzufüllen"), None),
    ]
    _forget()
    fresh = []
    for context, _ in cases:
        _forget()
        fresh.append(run_checks(context))
    for _ in range(2):
        for (context, failing), expected in zip(cases, fresh, strict=True):
            results = run_checks(context)
            assert results == expected, context
            assert {c.name for c in results if not c.passed and c.name in CHECKS} & {
                "injection", "unbacked_claims", "language"
            } == ({failing} if failing else set()), results  # fmt: skip


def test_a_remembered_language_detection_is_handed_out_as_a_new_dict():
    text = "The kettle is on and we saved you a seat for a slow morning."
    first = language.detect(text)
    first.clear()  # a caller's change to its answer is not remembered
    fresh = dict(language._probabilities.__wrapped__(text))
    assert fresh["en"] > 0.9 and language.detect(text) == fresh
