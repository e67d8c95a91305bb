"""The trained shops the service tests share (tests/service/conftest.py): a kept one is handed only to a test whose
settings would have trained the same shop."""

from __future__ import annotations

import shutil

from service.db.session import make_engine
from service.pipeline.training import recommender_in_use
from tests.homes import nothing_cached_from_another_home
from tests.service.conftest import trained_in_process


def test_a_shop_trained_for_another_recommender_is_not_handed_out(
    engine, demo_files, migrated_database, tmp_path_factory, monkeypatch
):
    """TAILOR_CAMPAIGN_* was left out of the kept shops' key as settings no training reads, but training fits the
    recommender TAILOR_CAMPAIGN_RECOMMENDER names: a test asking for another one was handed the blend."""
    trained_in_process(engine, demo_files)
    assert recommender_in_use() == "blend"

    other = tmp_path_factory.mktemp("another-shop")
    shutil.copyfile(migrated_database, other / "tailor.db")
    (other / "tailor.db").chmod(0o600)  # as the service makes one
    monkeypatch.setenv("TAILOR_HOME", str(other))
    monkeypatch.setenv("TAILOR_CAMPAIGN_RECOMMENDER", "popularity")
    second = make_engine(f"sqlite:///{other / 'tailor.db'}")
    try:
        with nothing_cached_from_another_home():
            trained_in_process(second, demo_files)
            assert recommender_in_use() == "popularity"
    finally:
        second.dispose()
