"""The catalog's charge lines: product names that are a charge's, not merchandise, which the import and `tailor
recommend --products` warn of while the catalog does not say they are not recommendable."""

from __future__ import annotations

import pandas as pd

from recommenders.catalog import named_as_charges


def test_online_retail_charges_are_named_as_charges_and_its_merchandise_is_not():
    """Online Retail's "Next Day Carriage" (23444: 63 customers, 10 of them bought it twice) was taken for
    merchandise, unlike its CARRIAGE and POSTAGE, so no import warned of it and a replenishment email could offer
    it as a re-order; merchandise whose name holds such a word stays merchandise."""
    charges = ["POSTAGE", "DOTCOM POSTAGE", "CARRIAGE", "Next Day Carriage", "Bank Charges", "Manual", "Discount",
               "AMAZON FEE", "CRUK Commission", "Express Delivery", "Standard Shipping"]  # fmt: skip
    merchandise = ["DOORMAT NEXT DAY DELIVERY", "POSTAGE STAMP MAGNETS", "VINTAGE CARRIAGE CLOCK",
                   "WHITE HANGING HEART T-LIGHT HOLDER", "next day"]  # fmt: skip
    assert named_as_charges(pd.Series(charges)).tolist() == [True] * len(charges)
    assert named_as_charges(pd.Series(merchandise)).tolist() == [False] * len(merchandise)
