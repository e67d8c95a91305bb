"""Numbers as shop files write them: what to tell the person whose cell is not one."""

from __future__ import annotations

import re

# 4,99 or 1,299.00 or 1.299,00 or 1 299,00 (a space, a no-break space or a narrow one between groups, as French
# spreadsheets write them): a decimal comma or a thousands separator, which no reader of these files takes.
_WRITTEN_WITH_COMMAS = re.compile(r"[-+]?[\d.' \u00a0\u202f]*\d,[\d.,' \u00a0\u202f]*")


def not_a_number(raw: str) -> str:
    """Why a cell is not a number, saying how to write it when a spreadsheet of another region wrote it with a
    decimal comma or a thousands separator: otherwise every price of a German export is "not a number" and no
    more."""
    if _WRITTEN_WITH_COMMAS.fullmatch(raw.strip()):
        return f"'{raw}' is not a number: write it with a point for decimals and no thousands separator (1299.50)"
    return f"'{raw}' is not a number"
