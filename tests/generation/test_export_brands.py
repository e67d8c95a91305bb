"""Brand kits, sandboxed templates and the JSONL export."""

from __future__ import annotations

import json

import pytest
from jinja2.exceptions import SecurityError, UndefinedError
from pydantic import ValidationError

from generation.brands import BrandKit, brand_names, load_brand
from generation.errors import UnknownBrand
from generation.export import write_jsonl
from generation.pipeline import generate_drafts
from generation.schemas import LOCALES
from generation.settings import LLMSettings
from generation.templates import render_string
from tests.generation.conftest import make_request


def test_two_contrasting_brands_cover_every_locale():
    assert {"hearth", "atelier"} <= set(brand_names())
    hearth, atelier = load_brand("hearth"), load_brand("atelier")
    assert hearth.emoji.allowed and not atelier.emoji.allowed
    assert hearth.exclamation_max > atelier.exclamation_max == 0
    for kit in (hearth, atelier):
        assert kit.locales == list(LOCALES)
        assert all("{{unsubscribe_url}}" in kit.footer_for(locale) for locale in kit.locales)
        assert kit.examples and kit.words_to_avoid("de")


def test_a_brand_sends_from_its_own_address_and_a_bad_one_is_refused():
    assert load_brand("atelier").sender == "Maison Atelier <client@atelier.example>"
    fields = load_brand("hearth").model_dump()
    assert BrandKit(**{**fields, "sender": ""}).sender == ""  # the service's TAILOR_SMTP_SENDER then
    with pytest.raises(ValidationError, match="sender: sender 'Hearth & Leaf' must be an address"):
        BrandKit(**{**fields, "sender": "Hearth & Leaf"})


def test_a_brands_shop_url_must_be_a_web_address():
    fields = load_brand("hearth").model_dump()
    with pytest.raises(ValidationError, match="shop_url: 'hearth.example' is no web address"):
        BrandKit(**{**fields, "shop_url": "hearth.example"})


def test_a_shop_keeps_its_own_brand_kits_outside_the_code(tmp_path, monkeypatch):
    """Brand kits lived only in the repository's prompts/brands: a shop had to edit the code to add its own, and
    a gift shop got Hearth & Leaf's tea-and-kitchen product words."""
    from pathlib import Path

    from generation.brands import BRANDS_DIR
    from generation.errors import BrandKitInvalid

    hearth = (BRANDS_DIR / "hearth.yaml").read_text(encoding="utf-8")
    (tmp_path / "giftshop.yaml").write_text(hearth.replace("name: Hearth & Leaf", "name: Gift Corner"), "utf-8")
    (tmp_path / "hearth.yaml").write_text(hearth.replace("name: Hearth & Leaf", "name: Hearth (our own)"), "utf-8")
    monkeypatch.setenv("TAILOR_BRANDS_DIR", str(tmp_path))
    assert {"atelier", "giftshop", "hearth"} <= set(brand_names())
    assert load_brand("giftshop").name == "Gift Corner" and load_brand("hearth").name == "Hearth (our own)"
    (tmp_path / "giftshop.yaml").write_text(hearth.replace("name: Hearth & Leaf", "name: Gift Corner II"), "utf-8")
    assert load_brand("giftshop").name == "Gift Corner II"  # an edited kit is read again
    (tmp_path / "bakery.yml").write_text(hearth.replace("name: Hearth & Leaf", "name: Bakery"), "utf-8")
    assert "bakery" in brand_names() and load_brand("bakery").name == "Bakery"  # YAML's other suffix

    monkeypatch.setenv("TAILOR_BRANDS_DIR", str(Path(tmp_path) / "nowhere"))
    with pytest.raises(BrandKitInvalid, match="TAILOR_BRANDS_DIR names no folder"):
        brand_names()
    monkeypatch.delenv("TAILOR_BRANDS_DIR")
    assert "giftshop" not in brand_names() and load_brand("hearth").name == "Hearth & Leaf"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (("name: Hearth & Leaf", "name: Hearth & Leaf\ngreeting:\n  de: \"Hallo {{ firstname }},\""),
         "line 4, greeting.de: 'Hallo {{ firstname }},' does not render: 'firstname' is undefined"),
        (("name: Hearth & Leaf", "name: Hearth & Leaf\ngreeting_no_name:\n  fr: \"Bonjour {{ ,\""),
         "greeting_no_name.fr: 'Bonjour {{ ,' does not render"),
        (('  en: "Warmly, the Hearth & Leaf team"\n', ""),
         "line 28, sign_off.en: missing: the kit's locales name en"),
        (('  fr: "Chaleureusement, l’équipe Hearth & Leaf"\n', ""), "sign_off.fr: missing"),
        (("Unsubscribe: {unsubscribe_url}", "<a href='{unsubscribe_url}'>Unsubscribe</a>"),
         "footer.en: plain text only"),
        (("shop_url:", "shop_ur:"), "line 5, shop_ur: no field of a brand kit (a misspelt name?)"),
        (("exclamation_max: 1", "exclamation_max: -3"), "exclamation_max: Input should be greater than or equal"),
        (("locales: [en, de,", "locales: [en, de-CH,"), "locales: 'de-CH' is not a language code as a kit names"),
        (("locales: [en, de,", "locales: [en, zz,"), "locales: 'zz' is no language Tailor has email templates"),
        (('accent: "#b5562c"', 'accent: "red;background:url(x)"'), "colors: accent is 'red;background:url(x)'"),
        (('hello@hearth.example>', 'hello@@hearth.example>'), "sender: sender 'Hearth & Leaf <hello@@hearth"),
        (("voice: >-", "name: Twice\nvoice: >-"), "'name' is written twice (first on line 2)"),
        (("  max: 1\n", ""), "line 24, emoji: allowed is true but max is 0, which lets no emoji through"),
        (("shop_url:", "1: x\nshop_url:"), "line 5, 1: no field of a brand kit"),  # "keywords must be strings"
        # shown in another order than written: "Warmly, the Hearth & Leaf team" read backwards from the override
        (("Warmly, the Hearth", "Warmly, the \u202eHearth"),
         "line 29, sign_off.en: character 13 is U+202E RIGHT-TO-LEFT OVERRIDE, which shows the text in another order"),
        (("hello@hearth", "hel\u200blo@hearth"),
         "line 4, sender: character 19 is U+200B ZERO WIDTH SPACE, which no one sees and which makes it another "
         "address"),
    ],
)  # fmt: skip
def test_a_kit_s_mistakes_are_refused_when_it_is_read_naming_field_and_line(tmp_path, monkeypatch, change, said):
    """A misspelt greeting variable passed every check and failed the generate job (or an edit, as a 500), a
    missing sign-off failed it with KeyError: 'en' or wrote another language's, a misspelt field was ignored, a
    negative limit flagged every draft, a regional or unknown locale was dropped in silence."""
    from generation.brands import BRANDS_DIR
    from generation.errors import BrandKitInvalid

    hearth = (BRANDS_DIR / "hearth.yaml").read_text(encoding="utf-8")
    assert change[0] in hearth
    (tmp_path / "acme.yaml").write_text(hearth.replace(change[0], change[1], 1), "utf-8")
    monkeypatch.setenv("TAILOR_BRANDS_DIR", str(tmp_path))
    with pytest.raises(BrandKitInvalid) as refused:
        load_brand("acme")
    assert str(refused.value).startswith(f"The brand kit {tmp_path / 'acme.yaml'} is not valid: ")
    assert said in str(refused.value) and "pydantic" not in str(refused.value)


def test_a_kit_s_copy_is_read_without_the_characters_that_take_no_room(tmp_path, monkeypatch):
    """A zero-width space pasted into a sign-off or an example's subject went into every email, and the model's
    prompt, unseen (generation.invisible); the joiner an emoji needs stays."""
    from generation.brands import BRANDS_DIR

    hearth = (BRANDS_DIR / "hearth.yaml").read_text(encoding="utf-8")
    changed = hearth.replace("Warmly, the Hearth", "Warm\u200bly,\u00ad the Hearth").replace(
        "name: Hearth & Leaf", "name: Hearth \u2060& Leaf \U0001f469\u200d\U0001f373"
    )
    (tmp_path / "acme.yaml").write_text(changed, "utf-8")
    monkeypatch.setenv("TAILOR_BRANDS_DIR", str(tmp_path))
    kit = load_brand("acme")
    assert kit.sign_off_for("en") == "Warmly, the Hearth & Leaf team"
    assert kit.name == "Hearth & Leaf \U0001f469\u200d\U0001f373"


def test_a_footer_may_write_its_slot_as_the_export_spells_it(tmp_path, monkeypatch):
    """A footer with {{unsubscribe_url}}, the export's spelling, showed the recipient {{{unsubscribe_url}}}."""
    from generation.brands import BRANDS_DIR

    hearth = (BRANDS_DIR / "hearth.yaml").read_text(encoding="utf-8")
    (tmp_path / "acme.yaml").write_text(hearth.replace("{unsubscribe_url}", "{{unsubscribe_url}}"), "utf-8")
    monkeypatch.setenv("TAILOR_BRANDS_DIR", str(tmp_path))
    assert load_brand("acme").footer_for("de").endswith("Abmelden: {{unsubscribe_url}}")


def test_unknown_brand_names_the_known_ones():
    with pytest.raises(UnknownBrand, match="atelier, hearth"):
        load_brand("nope")


def test_templates_cannot_reach_python_internals():
    with pytest.raises(SecurityError):
        render_string("{{ ''.__class__.__mro__[1].__subclasses__() }}")


def test_a_missing_template_variable_fails_loudly():
    with pytest.raises(UndefinedError):
        render_string("Hello {{ first_name }}")


def test_write_jsonl_one_line_per_variant_with_scores(tmp_path):
    result = generate_drafts(
        [make_request("c1"), make_request("c2")], load_brand("hearth"), settings=LLMSettings(model="fake")
    )
    path = tmp_path / "out" / "drafts.jsonl"
    count = write_jsonl(result.drafts, path, scores={("c1", "A"): {"p_open": 0.31}})
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert count == len(rows) == 4
    first = rows[0]
    assert first["customer_id"] == "c1" and first["variant_id"] == "A" and first["scores"] == {"p_open": 0.31}
    assert {"subject", "preheader", "text", "html", "checks", "used_fallback"} <= set(first)


def test_a_write_that_fails_half_way_leaves_the_earlier_export_whole(tmp_path):
    """write_jsonl wrote straight into its target: a line it could not write (here a score that is no JSON value)
    left the earlier export cut to the lines before it."""
    result = generate_drafts([make_request("c1")], load_brand("hearth"), settings=LLMSettings(model="fake"))
    path = tmp_path / "drafts.jsonl"
    assert write_jsonl(result.drafts, path) == 2
    earlier = path.read_text()
    with pytest.raises(TypeError):
        write_jsonl(result.drafts, path, scores={("c1", "B"): {"p_open": object()}})
    assert path.read_text() == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drafts.jsonl"]  # and no part file


def test_a_string_template_is_compiled_once(monkeypatch):
    """The greeting and offer sentences were compiled again for every customer: about 40 % of personalizing."""
    from generation import templates

    compiled = []
    environment = templates.environment()
    original = environment.from_string
    monkeypatch.setattr(environment, "from_string", lambda source: compiled.append(source) or original(source))
    source = "Guten Tag {{ first_name }} (a cached-template test)"
    assert [render_string(source, first_name=name) for name in ("Ann", "Jan")] == [
        "Guten Tag Ann (a cached-template test)", "Guten Tag Jan (a cached-template test)",
    ]  # fmt: skip
    assert compiled == [source]


@pytest.fixture
def edited_prompts(tmp_path, monkeypatch):
    """A copy of prompts/ that a test edits, read in place of the project's own (their caches emptied either side)."""
    import shutil

    from generation import templates
    from generation.brands import PROMPTS_DIR

    copy = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, copy)
    caches = (templates.environment, templates.campaign, templates._strings, templates._compiled)
    for cache in caches:
        cache.cache_clear()
    monkeypatch.setattr(templates, "PROMPTS_DIR", copy)
    yield copy
    monkeypatch.undo()
    for cache in caches:
        cache.cache_clear()


@pytest.mark.parametrize(
    ("name", "change", "said"),
    [
        ("email/email.txt.j2", ("{{ item.name }}", "{{ item.nam }}"), "line 10: 'dict object' has no attribute 'nam'"),
        ("llm/user.j2", ("{{ n_variants }}", "{{ n_variants }"), "line 12: unexpected '}'"),
        ("email/strings.yaml", ("{{ value }}%", "{{ valu }}%"), "en.offer.percent_off: 'valu' is undefined"),
        ("campaigns/win_back.yaml", ("goal: Invite", "goal: Invite: ["), "mapping values are not allowed here line 2"),
    ],
)  # fmt: skip
def test_an_edited_prompt_file_s_mistake_names_the_file_and_line(edited_prompts, name, change, said):
    """A shop's edit to a template or wording with a misspelt variable or a brace left open failed the campaign with
    "UndefinedError: 'nam' is undefined" or a YAML error about a "<unicode string>": nothing said which file, nor
    where in it."""
    from generation.errors import PromptFileInvalid
    from generation.schemas import Offer

    path = edited_prompts / name
    source = path.read_text(encoding="utf-8")
    assert change[0] in source
    path.write_text(source.replace(change[0], change[1], 1), encoding="utf-8")
    request = make_request(offer=Offer(kind="percent_off", value=10, code="BACK10"))
    with pytest.raises(PromptFileInvalid) as refused:
        generate_drafts([request], load_brand("hearth"), settings=LLMSettings(model="fake", cache=False))
    assert str(refused.value).startswith(f"The prompt file {path} is not valid: {said}")


def test_a_brand_kit_that_is_not_utf8_is_refused_naming_its_line(tmp_path, monkeypatch):
    """A kit saved in a Windows code page ("Grüße" in cp1252) stopped `tailor generate` with a UnicodeDecodeError
    traceback, and POST /campaigns with a 500."""
    from generation.brands import BRANDS_DIR
    from generation.errors import BrandKitInvalid

    hearth = (BRANDS_DIR / "hearth.yaml").read_bytes().splitlines(keepends=True)
    edited = "# Grüße aus der Bäckerei\n".encode("cp1252")  # a line added in an editor that saves cp1252
    (tmp_path / "acme.yaml").write_bytes(b"".join(hearth[:3]) + edited + b"".join(hearth[3:]))
    monkeypatch.setenv("TAILOR_BRANDS_DIR", str(tmp_path))
    with pytest.raises(BrandKitInvalid) as refused:
        load_brand("acme")
    assert str(refused.value) == (
        f"The brand kit {tmp_path / 'acme.yaml'} is not valid: line 4: byte 0xfc is not UTF-8; save the kit "
        "as UTF-8 text"
    )
