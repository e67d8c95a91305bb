"""Characters a reader does not see (generation.invisible) in a draft's email as stored. The model's copy, an edit,
the imports and the brand kits are read without them now, but a draft written before keeps them until it is edited
or written again (stored drafts are not rewritten: their copy is what a person reviewed): such an email is held back
at sending for a person, naming the field (service.pipeline.freshness.hold_back_stale), and its approval refused
(service.drafts.approve), so that none is mailed turned around, or with a word hidden from the checks.

The same holds for the addresses a draft goes to and links to, stored before the imports refused such characters in
them: the customer's email address (the mail would go to an address that is no one's, or another's) and its products'
links (a link that shows one address and leads to another). No edit of the draft mends them: the shop's records do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from generation.invisible import first_hidden

if TYPE_CHECKING:
    from sqlalchemy import Row

    from service.db.models import Variant

# What a person can do about a field of the copy, which an edit mends (VariantEdit: a character that takes no room
# is left out, a direction control refused until deleted).
EDIT_IT = "edit it: a character that takes no room is left out, a direction control is to be deleted; or reject it"
# About the rest of the body (the customer's name, a product's, the brand kit's words, stored with the draft as they
# were before they were read without such characters), which no edit of the copy changes.
REJECT_IT = (
    "it is in the customer's name, a product's or the brand's words as the draft was written with them: reject it"
)
# What a person can do about an address: correct it where it comes from, which the import then takes.
ADDRESS_TO_DO = (
    "correct the address where the shop keeps its customers and import the customers again, then approve the draft "
    "again; or reject it"
)
LINK_TO_DO = (
    "correct the url where the shop keeps its catalog and import the products again, then update the draft with the "
    "catalog's facts; or reject it"
)
# What may hold such a character: the email's copy (its fields or the rest of its body), the customer's email
# address, a product's link; and which holds it, by what a person can do about it, as a bulk approval counts them.
UNSEEN_HOLDERS = ("copy", "address", "link")
HOLDERS = {EDIT_IT: "copy", REJECT_IT: "copy", ADDRESS_TO_DO: "address", LINK_TO_DO: "link"}


# What may hold a character its reader does not see, as a person is told it.
UNSEEN_HOLDER_WORDS = {
    "copy": "their email's copy",
    "address": "their customer's email address",
    "link": "a product's link in their email",
}


def unseen_holders_said(unseen_in: dict[str, int]) -> str:
    """Where drafts a bulk approval flagged hold a character their reader does not see, after "N drafts were
    flagged": their copy, their customer's address or a product's link (counts by ``UNSEEN_HOLDERS``), which
    different hands mend (an edit; the customers' or the products' import)."""
    holding = {UNSEEN_HOLDER_WORDS[holder]: count for holder, count in unseen_in.items() if count}
    if len(holding) == 1:
        return f": {next(iter(holding))} holds a character its reader does not see"
    if not holding:  # counted before the holders were (an old address of the review page)
        return ": their email, their customer's address or a product's link holds a character its reader does not see"
    each = ", ".join(f"{count} in {words}" for words, count in holding.items())
    return f" for a character their reader does not see: {each}"


def unseen_in_copy(
    subject: str, preheader: str, intro: str, product_lines: Sequence[str] | None, text: str,
    links: Sequence[str] = (),
) -> list[tuple[str, str]]:  # fmt: skip
    """Each field of a variant's email holding a character no one sees, with where it is and which ("subject:
    character 11 is U+202E RIGHT-TO-LEFT OVERRIDE"), and what a person can do. The body is read in its text, which
    holds what the HTML shows but for the subject and preheader: a character there outside the intro, product lines
    and product ``links`` (told by ``unseen_in_addresses``) is the body's."""
    lines = [str(line) for line in product_lines or []]
    fields = [("subject", subject), ("preheader", preheader), ("intro", intro)]
    fields += [(f"product line {number}", line) for number, line in enumerate(lines, start=1)]
    found = [(f"{name}: {where}", EDIT_IT) for name, value in fields if (where := first_hidden(value or ""))]
    rest = text or ""
    for copy in [intro, *lines, *links]:  # the copy's characters are told by its own fields
        rest = rest.replace(copy, "") if copy else rest
    if where := first_hidden(rest):
        found.append((f"body: {where.partition(' is ')[2]}", REJECT_IT))
    return found


def unseen_in(variant: Variant | Row, shown: Sequence[dict[str, Any]] | None = None) -> list[tuple[str, str]]:
    """``unseen_in_copy`` of a stored variant, or of a row of its copy's columns (its subject, preheader, intro,
    product_lines and text: service.pipeline.freshness.CHOSEN_COPY), as the bulk paths read them; ``shown``, the
    draft's products as rendered, whose links its body holds."""
    return unseen_in_copy(
        variant.subject, variant.preheader, variant.intro, variant.product_lines, variant.text, _links(shown)
    )


def unseen_in_addresses(email: str | None, shown: Sequence[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """Where the customer's ``email`` address and the links of a draft's products (``shown``, as rendered) hold a
    character no one sees, and which ("the customer's email address: character 3 is U+200B ZERO WIDTH SPACE, which
    no one sees and which makes it another address"), each with what a person can do."""
    found = []
    if where := first_hidden(email or ""):
        found.append((f"the customer's email address: {where}, which no one sees and which makes it another address",
                      ADDRESS_TO_DO))  # fmt: skip
    for product in shown or []:
        if where := first_hidden(product.get("url") or ""):
            name = f"{product.get('name') or product['product_id']} ({product['product_id']})"
            found.append((f"the link of {name}: {where}, which no one sees and which makes it lead elsewhere than "
                          "it shows", LINK_TO_DO))  # fmt: skip
    return found


def _links(shown: Sequence[dict[str, Any]] | None) -> list[str]:
    return [url for product in shown or [] if (url := product.get("url"))]


def unseen_where(label: str | None, where: str) -> str:
    """Where, in variant ``label``'s email, a character its reader does not see is, in the words a flag reason and a
    held-back draft's changes give it."""
    return f"variant {label}'s {where}, which its reader does not see"
