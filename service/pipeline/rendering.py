"""Re-renders a variant after a copywriter's edit, or over the catalog's facts of now (service.refreshed_facts), and
re-runs the guardrails on its copy; the draft's flag reasons then name the checks its variants fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from service.db.models import Draft, Variant
from service.pipeline.flags import refresh_flags

if TYPE_CHECKING:
    from generation.brands import BrandKit


def draft_request(draft: Draft, brand: BrandKit):
    """The generation request a draft was written from, rebuilt from what the draft stored, in the locale it was
    written in (as its email says on ``<html lang>``: a customer whose locale an import changed since keeps the
    draft's language, where an edit put a German email in a French frame), else the one it would be written in now
    (the customer's, or the brand's default for a language the brand has no templates for)."""
    from generation.schemas import CustomerFacts, DraftRequest, Offer, ProductFact

    customer = draft.customer
    locale = written_locale(draft, brand)
    return DraftRequest(
        customer=CustomerFacts(
            customer_id=customer.external_id, first_name=customer.first_name, locale=locale,
            segment=customer.segment or "", own_locale=customer.locale if locale != customer.locale else "",
        ),
        campaign_type=draft.campaign.campaign_type,
        products=[ProductFact(**{k: p[k] for k in ProductFact.model_fields}) for p in draft.recommendations],
        offer=Offer(**draft.offer) if draft.offer else None,
        reason=draft.audience_reason,
    )  # fmt: skip


def written_locale(draft: Draft, brand: BrandKit) -> str:
    """The locale the draft's copy is written in: its emails' (the first variant's ``<html lang>``) when the brand
    still writes it, else the one it would be written in now."""
    from generation.locales import writing_locale
    from generation.render import html_locale

    written = next((html_locale(v.html) for v in draft.variants if v.html), None)
    return written if written in brand.covered_locales else writing_locale(draft.customer.locale, brand)[0]


def rerender_variant(session: Session, draft: Draft, variant: Variant, edited: bool = True) -> None:
    """Render the variant's copy again over the draft's facts as stored and run its checks again: after an edit
    (``edited``) every check but the campaign goal's, which holds the model's copy, not a person's; the draft's flag
    reasons then say what its variants fail."""
    from generation.brands import load_brand
    from generation.pipeline import finish_variant

    brand = load_brand(draft.campaign.brand.slug)
    finished = finish_variant(
        draft_request(draft, brand), brand, variant_id=variant.label,
        subject=variant.subject, preheader=variant.preheader, intro=variant.intro,
        product_lines=list(variant.product_lines), edited=edited,
        turned_down={check["name"]: check["turned_down"] for check in variant.checks if check.get("turned_down")},
    )  # fmt: skip
    variant.html, variant.text = finished.html, finished.text
    variant.checks = [c.model_dump() for c in finished.checks]
    refresh_flags(draft)
