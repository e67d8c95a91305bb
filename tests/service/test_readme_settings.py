"""What README.md's Configuration table tells an operator agrees with the settings classes: every environment
variable Tailor reads is listed, every variable listed is read, and each default the table quotes is the code's."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

import generation.settings
import service.jobs.webhooks
import service.settings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
# Read from os.environ where it is used (generation.brands), not through a settings class.
READ_DIRECTLY = {"TAILOR_BRANDS_DIR"}


def _settings_classes() -> list[type[BaseSettings]]:
    modules = {module.__name__ for module in (generation.settings, service.jobs.webhooks, service.settings)}
    found, waiting = [], list(BaseSettings.__subclasses__())
    while waiting:
        cls = waiting.pop()
        waiting.extend(cls.__subclasses__())
        if cls.__module__ in modules:
            found.append(cls)
    return found


def _variables(cls: type[BaseSettings]) -> dict[str, tuple[str, ...]]:
    """Each field of ``cls`` with the environment variables that set it, in the order the class declares them."""
    prefix = cls.model_config.get("env_prefix", "")
    names = {}
    for field, info in cls.model_fields.items():
        alias = info.validation_alias
        names[field] = tuple(alias.choices) if isinstance(alias, AliasChoices) else ((prefix + field).upper(),)
    return names


def _rows() -> list[tuple[list[str], list[str], str]]:
    """The Configuration table's rows: the variables a row names, its default cell split at each comma outside
    backticks, and its description."""
    section = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        variables, defaults, what = (cell.strip() for cell in line.strip().strip("|").split(" | ", 2))
        rows.append(
            (re.findall(r"`([A-Z_*]+)`", variables), re.split(r",\s*(?=(?:[^`]*`[^`]*`)*[^`]*$)", defaults), what)
        )
    return rows


def _shown(value: object) -> str:
    """A default as README writes it: `true`, `120` for 120.0, `0.95`, `UTC`."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_every_variable_tailor_reads_is_in_the_configuration_table():
    """TAILOR_LLM_API_BASE, TAILOR_LLM_API_KEY, TAILOR_LLM_CONCURRENCY and seven more were read and never listed: an
    operator pointing Tailor at a self-hosted model server could not know it takes its address."""
    listed = {name for names, _, _ in _rows() for name in names}
    wildcards = tuple(name.removesuffix("*") for name in listed if name.endswith("*"))
    missing = [
        " or ".join(names)
        for cls in _settings_classes()
        for names in _variables(cls).values()
        if not listed.intersection(names) and not names[0].startswith(wildcards)
    ]
    assert missing == []


def test_every_variable_the_configuration_table_lists_is_read():
    read = {name for cls in _settings_classes() for names in _variables(cls).values() for name in names}
    prefixes = {cls.model_config.get("env_prefix", "").upper() for cls in _settings_classes()}
    listed = [name for names, _, _ in _rows() for name in names]
    assert [name for name in listed if name.endswith("*") and name.removesuffix("*") not in prefixes] == []
    assert [name for name in listed if not name.endswith("*") and name not in read | READ_DIRECTLY] == []


def test_each_default_the_configuration_table_quotes_is_the_codes():
    """A default in backticks in the default column (one per variable the row names, or per field of a
    `PREFIX_*` row that gives one for each), or written after a field's name in a `PREFIX_*` row's description
    (`MAX_PRODUCT_SHARE`, 0.2), is the field's default."""
    defaults = {}  # variable -> the field's default
    fields_by_prefix = {}  # env prefix -> its class's variables in declaration order
    for cls in _settings_classes():
        variables = _variables(cls)
        fields_by_prefix[cls.model_config.get("env_prefix", "").upper()] = [names[0] for names in variables.values()]
        for field, names in variables.items():
            defaults.update(dict.fromkeys(names, cls.model_fields[field].default))
    quoted = []  # (variable, what README says)
    for names, cells, what in _rows():
        if names[0].endswith("*"):
            prefix = names[0].removesuffix("*")
            if len(cells) == len(fields_by_prefix[prefix]):
                names = fields_by_prefix[prefix]
            for name, value in re.findall(r"`([A-Z_]+)`,? ([\d.,]*\d)", what):
                quoted.append((prefix + name, value.replace(",", "")))  # 2,000 is 2000
        if len(names) == len(cells):
            for name, cell in zip(names, cells, strict=True):
                if said := re.match(r"`([^`]*)`", cell):
                    quoted.append((name, said.group(1)))
    checked = [(name, said) for name, said in quoted if name in defaults and defaults[name] not in (None, "")]
    assert len(checked) >= 30  # the table's figures are read, not skipped by a parser gone wrong
    assert [(name, said, _shown(defaults[name])) for name, said in checked if said != _shown(defaults[name])] == []


def test_each_default_the_readme_quotes_beside_a_variable_in_its_text_is_the_codes():
    """Beside the table, README's text gives defaults too: `TAILOR_SEND_LATE_LIMIT_HOURS` (24),
    `TAILOR_EXPERIMENT_CONVERSION_WINDOW_DAYS`, 14."""
    defaults = {
        name: cls.model_fields[field].default
        for cls in _settings_classes()
        for field, names in _variables(cls).items()
        for name in names
    }
    quoted = [
        (name, said.replace(",", ""))  # 2,000 is 2000
        for name, said in re.findall(r"`(TAILOR_[A-Z_]+)`,? \(?(\d[\d.,]*\d|\d)", README)
    ]
    assert len(quoted) >= 3
    wrong = [(name, said, _shown(defaults.get(name))) for name, said in quoted if said != _shown(defaults.get(name))]
    assert wrong == []
