"""Personal data: the copy carries no personal data beyond the first name (no emails, phone numbers, ids)."""

from __future__ import annotations

import re

from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "personal_data"
LABEL = "personal data"  # the name a copywriter reads
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(?:\+?\d[\s\-/().]*){7,}")


def check(context: CheckContext) -> CheckResult:
    customer_id = context.request.customer.customer_id
    for field, value in context.copy_fields().items():
        if _EMAIL.search(value):
            return failed(NAME, f"the {field} contains an email address")
        if _PHONE.search(value):
            return failed(NAME, f"the {field} contains a phone or account number")
        if len(customer_id) >= 3 and customer_id.lower() in value.lower():
            return failed(NAME, f"the {field} contains the customer's id")
    return passed(NAME)
