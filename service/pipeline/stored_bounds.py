"""The order lines stored before Tailor bounded their numbers (service.bounds), which an audience refresh cannot
profile: two amounts of 1.7e308 added up to infinity in a customer's spend, and every refresh failed inside pandas
or sklearn ("KMeans: Input X contains NaN"), naming no line. They are found in the database and named, customer,
order and product, so that the operator can import those orders again with the right numbers."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from service.bounds import AMOUNT_MAX, QUANTITY_MAX
from service.db.models import Customer, Interaction, Product
from service.errors import NotReady, Remedy
from service.wording import counted

# The lines an error names: enough to find the file they came from, not a page of them.
NAMED_LINES = 5
BOUNDS = f"amounts and discounts of at most {AMOUNT_MAX:,} and quantities of at most {QUANTITY_MAX:,}, either way"
REIMPORT = Remedy(api="POST /imports/orders", command_line="`tailor import orders FILE`")


def refuse_lines_past_bounds(session: Session, before: date | None = None) -> None:
    """NotReady naming the purchase and return lines (made before the day ``before``, when given) whose amount,
    discount or quantity is past the bounds an import holds them to now, or not a number at all; nothing when
    there are none. Refused rather than left out: a refresh without them would profile the customer as if those
    orders never happened, and succeed, saying so only in a result nobody reads after an import."""
    past = or_(
        func.abs(Interaction.amount) > AMOUNT_MAX,
        func.abs(Interaction.discount) > AMOUNT_MAX,
        func.abs(Interaction.quantity) > QUANTITY_MAX,
    )
    made = () if before is None else (Interaction.timestamp < datetime.combine(before, time()),)
    lines = select(Interaction).where(Interaction.kind.in_(("purchase", "return")), past, *made)
    found = session.scalar(select(func.count()).select_from(lines.subquery()))
    if not found:
        return
    named = session.execute(
        select(Customer.external_id, Interaction.order_id, Product.sku, Interaction.kind,
               Interaction.amount, Interaction.discount, Interaction.quantity)
        .join(Customer, Interaction.customer_id == Customer.id)
        .join(Product, Interaction.product_id == Product.id)
        .where(Interaction.id.in_(lines.with_only_columns(Interaction.id).scalar_subquery()))
        .order_by(Interaction.id)
        .limit(NAMED_LINES)
    ).all()  # fmt: skip
    shown = "; ".join(_line_words(*line) for line in named)
    more = f" (the first {NAMED_LINES} of {found:,} shown)" if found > NAMED_LINES else ""
    raise NotReady.naming(
        REIMPORT,
        lambda remedy: (
            f"The audience cannot be refreshed: {counted(found, 'order line holds', 'order lines hold')} a number past "
            f"what Tailor takes ({BOUNDS}), stored before it was bounded: {shown}{more}. Import those orders again "
            f"with the right numbers ({remedy}); the segments and profiles stay as the last refresh left them."
        ),
    )


def _line_words(
    customer: str, order_id: str, sku: str, kind: str, amount: float | None, discount: float | None,
    quantity: float | None,
) -> str:  # fmt: skip
    """One line as the error names it: whose, which order and product, and the numbers past their bound."""
    numbers = {"amount": (amount, AMOUNT_MAX), "discount": (discount, AMOUNT_MAX), "quantity": (quantity, QUANTITY_MAX)}
    past = ", ".join(f"{name} {value:g}" for name, (value, most) in numbers.items() if _past(value, most))
    line = "" if kind == "purchase" else f" ({kind})"
    return f"customer {customer}, order {order_id}, product {sku}{line}: {past}"


def _past(value: float | None, most: int) -> bool:
    """Whether a stored number is past its bound: NaN (which PostgreSQL stores) is, as no bound holds it."""
    return value is not None and not abs(value) <= most
