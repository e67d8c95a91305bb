"""Brand kits: a brand's voice, vocabulary, emoji policy, sign-off, legal footer and sender, kept as YAML in
prompts/brands, and in the shop's own folder named by `TAILOR_BRANDS_DIR`."""

from __future__ import annotations

import os
import re
from email.headerregistry import Address
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from generation.errors import BrandKitInvalid, UnknownBrand
from generation.schemas import LOCALES

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
BRANDS_DIR = PROMPTS_DIR / "brands"
# Filled in at send time: by Tailor with a signed link of its own when it sends through SMTP, and by the email
# service provider, with its own link, when it sends drafts exported as files.
UNSUBSCRIBE_PLACEHOLDER = "{{unsubscribe_url}}"
# "Display name <address>": the name is all before the angle brackets, commas and quotes included.
_NAMED_ADDRESS = re.compile(r"(?P<name>[^<>]*)<(?P<address>[^<>]*)>\s*")


# One address: a local part of no spaces, quotes, brackets or @, not starting, ending or doubling a dot; a domain
# of two or more labels (letters of any script, digits, hyphens inside).
_LOCAL_PART = re.compile(r"[^\s@<>()\[\],;:\"\\.]+(?:\.[^\s@<>()\[\],;:\"\\.]+)*")
_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_](?:[\w-]*[^\W_])?")


def sender_address(sender: str) -> Address:
    """A sender as a kit or TAILOR_SMTP_SENDER writes it ("Maison Atelier <client@atelier.example>", or the address
    alone) as one address. Everything before the angle brackets is the display name, so a name with a comma
    ("Atelier, Lyon") stays one name, quoted in the From header, instead of making it two addresses. Raises
    ValueError when there is no single address in it ("hello@@shop.example", "hello@shop", a stray ">")."""
    match = _NAMED_ADDRESS.fullmatch(sender.strip())
    name, address = (match["name"].strip().strip('"').strip(), match["address"].strip()) if match else ("", sender)
    username, at, domain = address.strip().rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(username) or not _DOMAIN.fullmatch(domain):
        raise ValueError(f"sender {sender!r} must be an address, as in 'Name <news@shop.example>'")
    return Address(display_name=name, username=username, domain=domain)


# A kit's addresses, which a character no one sees makes other addresses: refused for any (generation.invisible).
_ADDRESSES = ("sender", "shop_url")


def _as_the_reader_sees(value: Any, field: str) -> Any:
    """A kit's value (text, or a mapping or list of them, at ``field``) as its reader sees it: a direction control
    refused, as a copywriter's edit is (a sign-off or footer shown in another order than it is written); characters
    that take no room dropped, but in an address (``_ADDRESSES``), where they are refused."""
    from generation.invisible import first_direction_control, first_hidden, visible  # its guardrails import this module

    if isinstance(value, dict):
        return {key: _as_the_reader_sees(inner, f"{field}.{key}") for key, inner in value.items()}
    if isinstance(value, list):
        return [_as_the_reader_sees(inner, f"{field}.{index}") for index, inner in enumerate(value)]
    if not isinstance(value, str):
        return value
    if field in _ADDRESSES and (hidden := first_hidden(value)):
        raise ValueError(f"{field}: {hidden}, which no one sees and which makes it another address: delete it")
    if hidden := first_direction_control(value):
        raise ValueError(
            f"{field}: {hidden}, which shows the text in another order than it is written (readers would not read "
            "what the checks read): delete it"
        )
    return visible(value)


# A kit names its fields as written here: a misspelt one ("shop_ur") was ignored, and its setting never applied.
_STRICT = ConfigDict(extra="forbid")
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")  # what the email's inline CSS takes from a kit, nothing else
_MARKUP = re.compile(r"<\s*[a-zA-Z/!]")


class EmojiPolicy(BaseModel):
    model_config = _STRICT

    allowed: bool = False
    max: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _allowed_emoji_have_a_limit(self) -> EmojiPolicy:
        """`allowed: true` without a max let no emoji through (the max is 0 unless given): every emoji the model
        wrote turned its copy down, against what the kit said."""
        if self.allowed and self.max == 0:
            raise ValueError("allowed is true but max is 0, which lets no emoji through: give max, the most an email "
                             "may have (1, say)")  # fmt: skip
        return self


class ExampleCopy(BaseModel):
    model_config = _STRICT

    subject: str
    preheader: str
    intro: str


class BrandKit(BaseModel):
    model_config = _STRICT

    slug: str
    name: str
    # What the shop sells, in a few words ("a home, kitchen and tea shop"), told to the model with the brand's name:
    # the prompt said so of every brand's shop. "": the model is told the name alone.
    shop: str = ""
    voice: str
    audience: str
    reading_level: str
    prefer: list[str] = Field(default_factory=list)
    avoid: dict[str, list[str]] = Field(default_factory=dict)  # per locale
    emoji: EmojiPolicy = Field(default_factory=EmojiPolicy)
    exclamation_max: int = Field(0, ge=0)
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

    @model_validator(mode="before")
    @classmethod
    def _nothing_unseen(cls, fields: Any) -> Any:
        if not isinstance(fields, dict):
            return fields
        return {name: _as_the_reader_sees(value, str(name)) for name, value in fields.items()}

    @field_validator("locales")
    @classmethod
    def _locales_are_languages_with_templates(cls, locales: list[str]) -> list[str]:
        for code in locales:
            if code in LOCALES:
                continue
            language = code.replace("_", "-").split("-")[0].lower()
            if code.lower() == language and language in LOCALES:
                raise ValueError(f"'{code}' is written '{language}', in lower case")
            if language in LOCALES:
                raise ValueError(
                    f"'{code}' is not a language code as a kit names them: write '{language}' (customers in "
                    f"{code} get the {language} emails, their prices written as {code} writes them)"
                )
            raise ValueError(f"'{code}' is no language Tailor has email templates for: {', '.join(LOCALES)}")
        return locales

    @field_validator("colors")
    @classmethod
    def _colors_are_hex(cls, colors: dict[str, str]) -> dict[str, str]:
        for name, value in colors.items():
            if not _COLOR.fullmatch(value):
                raise ValueError(f"{name} is {value!r}: a color is written #rgb or #rrggbb, as in '#b5562c'")
        return colors

    @model_validator(mode="after")
    def _every_locale_has_its_words(self) -> BrandKit:
        """Each of the kit's languages has its own sign-off and footer (a missing one put the English one in a
        German email); the per-language fields name only languages with templates (a misspelt one was ignored);
        a footer is plain text with the unsubscribe link's slot; a greeting renders."""
        per_locale = {
            "sign_off": self.sign_off, "footer": self.footer, "greeting": self.greeting,
            "greeting_no_name": self.greeting_no_name, "avoid": self.avoid, "product_words": self.product_words,
        }  # fmt: skip
        for field, values in per_locale.items():
            if unknown := [code for code in values if code not in LOCALES]:
                raise ValueError(
                    f"{field}.{unknown[0]}: no language Tailor has email templates for ({', '.join(LOCALES)})"
                )
        for field in ("sign_off", "footer"):
            if missing := [code for code in self.locales if not per_locale[field].get(code, "").strip()]:
                raise ValueError(
                    f"{field}.{missing[0]}: missing: the kit's locales name {missing[0]}, and its emails in that "
                    "language would end in another's words"
                )
        for code, text in self.footer.items():
            if _MARKUP.search(text):
                raise ValueError(f"footer.{code}: plain text only: the email writes the unsubscribe link itself")
            if "{unsubscribe_url}" not in text.replace(UNSUBSCRIBE_PLACEHOLDER, "{unsubscribe_url}"):
                raise ValueError(f"footer.{code}: no {{unsubscribe_url}} slot for the unsubscribe link")
        for field, context in (("greeting", {"first_name": "Anna"}), ("greeting_no_name", {})):
            for code, source in per_locale[field].items():
                if problem := _template_problem(source, context):
                    raise ValueError(f"{field}.{code}: {problem}")
        return self

    @model_validator(mode="after")
    def _sender_is_an_address(self) -> BrandKit:
        if self.sender:
            try:
                sender_address(self.sender)
            except ValueError as error:
                raise ValueError(f"sender: {error}") from None
        return self

    @model_validator(mode="after")
    def _shop_url_is_a_web_address(self) -> BrandKit:
        from generation.render import WEB_ADDRESS  # the links an email may carry; render imports this module

        if self.shop_url and not WEB_ADDRESS.fullmatch(self.shop_url):
            raise ValueError(f"shop_url: {self.shop_url!r} is no web address: write one starting with https://")
        return self

    @model_validator(mode="after")
    def _default_locale_is_covered(self) -> BrandKit:
        covered = self.covered_locales
        if not covered:
            raise ValueError(f"locales: name at least one of {', '.join(LOCALES)}")
        self.default_locale = self.default_locale or covered[0]
        if self.default_locale not in covered:
            raise ValueError(f"default_locale: '{self.default_locale}' is not one of the locales {', '.join(covered)}")
        return self

    @property
    def covered_locales(self) -> list[str]:
        """The kit's locales that the templates cover too: the languages its emails are written in."""
        return [locale for locale in self.locales if locale in LOCALES]

    def words_to_avoid(self, locale: str) -> list[str]:
        return self.avoid.get(locale, []) + (self.avoid.get("en", []) if locale != "en" else [])

    def footer_for(self, locale: str) -> str:
        """The footer of the kit's locale (the default locale's for another), its slot as the placeholder the
        sender fills in, however the kit spelt it ({unsubscribe_url} or {{unsubscribe_url}})."""
        text = self.footer.get(locale) or self.footer[self.default_locale]
        return text.replace(UNSUBSCRIBE_PLACEHOLDER, "{unsubscribe_url}").replace(
            "{unsubscribe_url}", UNSUBSCRIBE_PLACEHOLDER
        )

    def sign_off_for(self, locale: str) -> str:
        return self.sign_off.get(locale) or self.sign_off[self.default_locale]


def _template_problem(source: str, context: dict[str, str]) -> str | None:
    """Why a kit's greeting does not render with ``context`` (a misspelt variable, a brace left open), or None."""
    from jinja2 import TemplateError

    from generation.templates import render_string  # templates reads this module's PROMPTS_DIR

    try:
        render_string(source, **context)
    except TemplateError as error:
        names = ", ".join(f"{{{{ {name} }}}}" for name in context) or "no variable"
        return f"{source!r} does not render: {error} (a greeting has {names})"
    return None


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
        # .yml as well: a kit saved by that spelling of YAML's suffix was left out, and --brand called it unknown
        files.update({path.stem: path for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])})
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


class _UniqueKeys(yaml.SafeLoader):
    """YAML whose mappings name each key once: of a key written twice, the last silently won."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"'{key}' is written twice (first on line {seen[key] + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


@lru_cache(maxsize=32)
def _load_kit(name: str, path: Path, _version: tuple[int, int]) -> BrandKit:
    """The kit in ``path``, read once a version of the file (``_version``: its time and size, so that an edited kit
    is read again). A kit that is not valid is refused naming each problem's field and line."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:  # a kit saved in a Windows code page ("Grüße" in cp1252): a traceback before
        line = raw[: error.start].count(b"\n") + 1
        said = f"line {line}: byte 0x{raw[error.start]:02x} is not UTF-8; save the kit as UTF-8 text"
        raise BrandKitInvalid(str(path), said) from error
    try:
        data = yaml.load(text, Loader=_UniqueKeys)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        said = " ".join(str(error).replace('in "<unicode string>", ', "").split())
        raise BrandKitInvalid(str(path), said) from error
    if not isinstance(data, dict):
        raise BrandKitInvalid(str(path), "a kit is a mapping of its fields (name: ..., voice: ..., footer: ...)")
    try:
        # A key YAML reads as a number or a truth (`1: x`, `yes: x`) failed as "keywords must be strings", naming no
        # line: as text it is a field the kit does not have, refused naming its line.
        return BrandKit(slug=name, **{str(key): value for key, value in data.items()})
    except ValidationError as error:
        raise BrandKitInvalid(str(path), _in_words(error, _key_lines(text))) from error
    except TypeError as error:  # a field given twice: slug
        raise BrandKitInvalid(str(path), str(error)) from error


def _key_lines(text: str) -> dict[str, int]:
    """The line of each key of a kit's YAML, as dotted fields ("footer.de"), two levels deep."""
    lines: dict[str, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        lines[str(key.value)] = key.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            for inner, _ in value.value:
                lines[f"{key.value}.{inner.value}"] = inner.start_mark.line + 1
    return lines


def _in_words(error: ValidationError, lines: dict[str, int]) -> str:
    """A kit's validation errors as a person reads them: each field with its line, without pydantic's input dump
    and links."""
    said = []
    for problem in error.errors(include_url=False, include_input=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in problem["loc"])
        if not field and (named := re.match(r"([a-z_]+(?:\.\w+)*): ", message)):  # the kit's own checks
            field, message = named.group(1), message[named.end() :]
        if problem["type"] == "extra_forbidden":
            message = "no field of a brand kit (a misspelt name?)"
        line = lines.get(field) or lines.get(field.split(".")[0])
        said.append(f"{f'line {line}, ' if line else ''}{field or 'kit'}: {message}")
    return "; ".join(said)
