"""A copywriter's edits of a variant and requests for another version of it, and what their text must be: one line where
it is a line, as the reader sees it."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from generation.invisible import first_direction_control, visible
from generation.schemas import NOTE_MAX
from service.schemas.common import RequestBody
from service.schemas.drafts import CheckOut, ExpectedRevision
from service.schemas.reviews import Reviewer

# Text without line breaks (Unicode's too: NEL, LINE and PARAGRAPH SEPARATOR, which the mail library refuses in a
# header) or other control characters.
ONE_LINE = r"^[^\x00-\x1f\x7f\x85\u2028\u2029]*$"
# What breaking ONE_LINE is, in words (its regex meant nothing to a copywriter), alike in the API and the review page.
NOT_ONE_LINE = (
    "must be one line: it holds a line break, a tab or another invisible control character (text pasted from a "
    "spreadsheet or a document often brings one); retype the spaces between its words"
)
# Spaces at either end of a one-line field, once the characters that take no room are dropped (as_the_reader_sees):
# stripping spaces alone saved a subject of zero-width characters, an invisible line.
_BLANK_ENDS = re.compile(r"^\s+|\s+$")


def as_the_reader_sees(text: Any) -> Any:
    """Copy a copywriter typed, as the reader will see it: ValueError naming the first direction control (U+202E
    and the like showed the subject in another order than the checks and the spam filters read it), and the
    characters that take no room dropped (generation.invisible: a zero-width space in "free" hid it from the
    checks; pasted from a document, one is unseen by the copywriter too, so it is dropped rather than refused)."""
    if not isinstance(text, str):
        return text
    if (found := first_direction_control(text)) is not None:
        raise ValueError(
            f"{found}, which shows the text in another order than it is written (readers would not read what the "
            "checks read); delete it"
        )
    return visible(text)


def _seen_line(line: Any) -> Any:
    """One product line as the reader sees it, blank ends dropped (a line of nothing visible is empty)."""
    seen = as_the_reader_sees(line)
    return _BLANK_ENDS.sub("", seen) if isinstance(seen, str) else seen


class VariantEdit(RequestBody):
    """A copywriter's edit, from the API or the review page alike: the one place its limits are set."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The subject is a mail header: a line break in it would start another header (the mail library refuses it).
    subject: str | None = Field(default=None, min_length=1, max_length=200, pattern=ONE_LINE)
    preheader: str | None = Field(default=None, max_length=300, pattern=ONE_LINE)
    intro: str | None = Field(default=None, max_length=2000)
    # One line per product of the email, in the order shown; the model's lines are the part most often wrong. A line
    # break in one showed its second half unindented in the text email, and the page's one-line box cannot hold it.
    product_lines: (
        list[Annotated[str, Field(min_length=1, max_length=300, pattern=ONE_LINE), BeforeValidator(_seen_line)]] | None
    ) = None
    reviewer: Reviewer = ""
    expected_revision: ExpectedRevision = None

    @field_validator("subject", "preheader", mode="before")
    @classmethod
    def _nothing_unseen_at_the_ends(cls, value: Any) -> Any:
        """As the reader sees it, blank ends dropped, before the limits are checked: a subject of nothing visible is
        empty, and refused as an empty one is; a preheader of nothing visible is none."""
        seen = as_the_reader_sees(value)
        return _BLANK_ENDS.sub("", seen) if isinstance(seen, str) else seen

    @field_validator("intro", mode="before")
    @classmethod
    def _seen(cls, intro: Any) -> Any:
        """As the reader sees it, with one kind of line break, before its limit is checked: a browser's text box sends
        CR LF (stored as typed, the text email mixed two kinds of line ending), and counts it one character against
        the box's maxlength, the limit's, where it counted two against the limit."""
        seen = as_the_reader_sees(intro)
        return seen.replace("\r\n", "\n").replace("\r", "\n") if isinstance(seen, str) else seen


class SuggestionIn(RequestBody):
    """A copywriter's request for another version of a variant's copy."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field(
        "", max_length=NOTE_MAX, pattern=ONE_LINE,
        description="what the copywriter wants of the new version (\"warmer\", \"mention the gift first\"), told to "
        "the model as their wish; facts still come from the draft's data alone",
    )  # fmt: skip


class SuggestionOut(BaseModel):
    """One version of a variant's copy the model suggests, checked and scored; the draft is unchanged. Saved with
    the variant's edit (`PATCH /drafts/{id}/variants/{variant_id}`, `expected_revision` this `revision`)."""

    draft_id: int
    variant_id: int
    label: str
    revision: int = Field(description="the draft's revision the suggestion was written from")
    note: str
    subject: str
    preheader: str
    intro: str
    product_lines: list[str] = Field(description="the variant's own, which a suggestion leaves as they are")
    html: str
    text: str
    checks: list[CheckOut]
    passed: bool
    p_open: float | None
    p_click: float | None
    p_conversion: float | None
    reasons: list[str] = []
    versions: int = Field(description="the model's versions asked for, this one included (the others failed checks)")
