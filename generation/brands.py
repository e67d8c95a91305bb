"""Brand kits: a brand's voice, vocabulary, emoji policy, sign-off, legal footer and sender, kept as YAML in
prompts/brands, and in the shop's own folder named by `TAILOR_BRANDS_DIR`."""

from __future__ import annotations

import os
import re
from email.headerregistry import Address
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from generation.errors import BrandKitInvalid, UnknownBrand
from generation.schemas import LOCALES

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
BRANDS_DIR = PROMPTS_DIR / "brands"
# Filled in at send time: by Tailor with a signed link of its own when it sends through SMTP, and by the email
# service provider, with its own link, when it sends drafts exported as files.
UNSUBSCRIBE_PLACEHOLDER = "{{unsubscribe_url}}"
# "Display name <address>": the name is all before the angle brackets, commas and quotes included.
_NAMED_ADDRESS = re.compile(r"(?P<name>[^<>]*)<(?P<address>[^<>]*)>\s*")


def sender_address(sender: str) -> Address:
    """A sender as a kit or TAILOR_SMTP_SENDER writes it ("Maison Atelier <client@atelier.example>", or the address
    alone) as one address. Everything before the angle brackets is the display name, so a name with a comma
    ("Atelier, Lyon") stays one name, quoted in the From header, instead of making it two addresses. Raises
    ValueError when there is no single address in it."""
    match = _NAMED_ADDRESS.fullmatch(sender.strip())
    name, address = (match["name"].strip().strip('"').strip(), match["address"].strip()) if match else ("", sender)
    username, at, domain = address.strip().rpartition("@")
    if not at or not username or not domain or any(c.isspace() or c in ',;"' for c in address.strip()):
        raise ValueError(f"sender {sender!r} must be an address, as in 'Name <news@shop.example>'")
    return Address(display_name=name, username=username, domain=domain)


class EmojiPolicy(BaseModel):
    allowed: bool = False
    max: int = 0


class ExampleCopy(BaseModel):
    subject: str
    preheader: str
    intro: str


class BrandKit(BaseModel):
    slug: str
    name: str
    voice: str
    audience: str
    reading_level: str
    prefer: list[str] = Field(default_factory=list)
    avoid: dict[str, list[str]] = Field(default_factory=dict)  # per locale
    emoji: EmojiPolicy = Field(default_factory=EmojiPolicy)
    exclamation_max: int = 0
    sign_off: dict[str, str]
    # Per locale, the brand's own greeting (a jinja2 string with {{ first_name }}) and the one without a name, in
    # place of the email frame's (prompts/email/strings.yaml): a formal brand greets formally.
    greeting: dict[str, str] = Field(default_factory=dict)
    greeting_no_name: dict[str, str] = Field(default_factory=dict)
    footer: dict[str, str]  # per locale, with an {unsubscribe_url} slot
    locales: list[str]
    default_locale: str = ""  # what customers in a language the kit does not cover get; "" for the first locale
    colors: dict[str, str] = Field(default_factory=dict)
    # The shop's own web address: what an email links to for a product that has no url of its own ("": nothing).
    shop_url: str = ""
    # The From of the brand's emails ("Name <address>"); "" leaves it to the service's TAILOR_SMTP_SENDER.
    sender: str = ""
    examples: list[ExampleCopy] = Field(default_factory=list)
    # Per locale, the kinds of product the shop sells as its copy would name them ("teapot", "chef's knife"):
    # copy naming one that no product of the email is fails the unbacked_claims check.
    product_words: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sender_is_an_address(self) -> BrandKit:
        if self.sender:
            sender_address(self.sender)
        return self

    @model_validator(mode="after")
    def _shop_url_is_a_web_address(self) -> BrandKit:
        from generation.render import WEB_ADDRESS  # the links an email may carry; render imports this module

        if self.shop_url and not WEB_ADDRESS.fullmatch(self.shop_url):
            raise ValueError(f"shop_url {self.shop_url!r} must be a web address starting with https:// (or http://)")
        return self

    @model_validator(mode="after")
    def _default_locale_is_covered(self) -> BrandKit:
        covered = self.covered_locales
        if not covered:
            raise ValueError(f"locales must name at least one of {', '.join(LOCALES)}")
        self.default_locale = self.default_locale or covered[0]
        if self.default_locale not in covered:
            raise ValueError(f"default_locale '{self.default_locale}' must be one of the locales {', '.join(covered)}")
        return self

    @property
    def covered_locales(self) -> list[str]:
        """The kit's locales that the templates cover too: the languages its emails are written in."""
        return [locale for locale in self.locales if locale in LOCALES]

    def words_to_avoid(self, locale: str) -> list[str]:
        return self.avoid.get(locale, []) + (self.avoid.get("en", []) if locale != "en" else [])

    def footer_for(self, locale: str) -> str:
        text = self.footer.get(locale) or self.footer["en"]
        return text.replace("{unsubscribe_url}", UNSUBSCRIBE_PLACEHOLDER)

    def sign_off_for(self, locale: str) -> str:
        return self.sign_off.get(locale) or self.sign_off["en"]


def brand_folders() -> list[Path]:
    """Where brand kits are read from: the shop's own folder, `TAILOR_BRANDS_DIR` (one YAML file a brand, as in
    prompts/brands), when set; then the built-in kits. A kit of the shop's own with a built-in's name replaces it."""
    own = os.environ.get("TAILOR_BRANDS_DIR", "").strip()
    if own and not Path(own).is_dir():
        raise BrandKitInvalid(own, "TAILOR_BRANDS_DIR names no folder: give the folder of the shop's brand kits")
    return ([Path(own)] if own else []) + [BRANDS_DIR]


def _brand_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for folder in reversed(brand_folders()):  # the shop's own last: its kit replaces a built-in of that name
        files.update({path.stem: path for path in sorted(folder.glob("*.yaml"))})
    return files


def brand_names() -> list[str]:
    return sorted(_brand_files())


def load_brand(name: str) -> BrandKit:
    files = _brand_files()
    if name not in files:
        raise UnknownBrand(name, sorted(files))
    path = files[name]
    stat = path.stat()
    return _load_kit(name, path, (stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=32)
def _load_kit(name: str, path: Path, _version: tuple[int, int]) -> BrandKit:
    """The kit in ``path``, read once a version of the file (``_version``: its time and size, so that an edited kit
    is read again)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        kit = BrandKit(slug=name, **data)
    except (yaml.YAMLError, ValidationError, TypeError) as error:
        raise BrandKitInvalid(str(path), str(error)) from error
    for locale in kit.locales:
        if "{unsubscribe_url}" not in kit.footer.get(locale, kit.footer.get("en", "")):
            raise BrandKitInvalid(str(path), f"the {locale} footer has no {{unsubscribe_url}} slot")
    return kit
