"""The cyclic collector that tests/conftest.py turns off while the test modules are imported is on again in tests."""

import gc


def test_the_cyclic_collector_is_on_in_a_test():
    assert gc.isenabled()
