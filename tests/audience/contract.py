"""Contract tests every buy-till-you-die model meets: recover published estimates on CDNOW, fail clearly on too
little data. A model's test subclasses the mixin and says how to fit it and what the paper reports."""

from __future__ import annotations

import numpy as np
import pytest

from audience.errors import NotEnoughHistory


class PublishedFitTests:
    published: dict[str, float]
    tolerance = 0.01  # relative

    @staticmethod
    def fit_cdnow():
        raise NotImplementedError

    @staticmethod
    def fit_tiny():
        raise NotImplementedError

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls):
        from evals.datasets import DatasetMissing

        try:
            return cls.fit_cdnow()
        except DatasetMissing as missing:
            pytest.skip(str(missing))

    def test_reproduces_published_estimates(self, fitted):
        for name, value in self.published.items():
            assert fitted.params[name] == pytest.approx(value, rel=self.tolerance), name

    def test_parameters_are_finite_and_positive(self, fitted):
        assert all(np.isfinite(v) and v > 0 for v in fitted.params.values())

    def test_too_little_data_is_a_named_error(self):
        with pytest.raises(NotEnoughHistory):
            self.fit_tiny()
