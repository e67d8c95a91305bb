"""The browser the browser tests share: one chromium for the test process, a context of its own for each page a test
opens, and no event loop of Playwright's left running in the thread for the tests that come after."""

from __future__ import annotations

import asyncio

import pytest

from tests.service.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)"),
]  # fmt: skip


def test_between_browser_tests_no_event_loop_runs_in_the_thread(_chromium_of_this_process):
    """Between its calls Playwright leaves its loop as the thread's running one: a later test's ``asyncio.run`` (as
    tests.service.test_api_basics has) refused to start beside it."""

    async def answer() -> int:
        return 42

    browser = _chromium_of_this_process.enter()
    page = browser.new_page()
    page.set_content("<p>a page</p>")
    page.context.close()
    _chromium_of_this_process.leave()  # as the browser fixture does after each test
    assert asyncio.run(answer()) == 42
    browser = _chromium_of_this_process.enter()  # and Playwright goes on as before in the next one
    page = browser.new_page()
    page.set_content("<p>another page</p>")
    assert page.locator("p").inner_text() == "another page"
    page.context.close()
    _chromium_of_this_process.leave()


def test_each_page_a_test_opens_keeps_its_cookies_to_itself(browser):
    """Pages opened with ``browser.new_page()`` log in apart, as in a browser launched for each test: tests log in
    twice to have two reviewers' tabs, or a stale tab beside a fresh one."""
    first, second = browser.new_page(), browser.new_page()
    first.context.add_cookies([{"name": "tailor_review", "value": "one", "url": "http://127.0.0.1"}])
    assert second.context.cookies() == [] and first.context is not second.context


def test_a_test_finds_no_page_of_the_tests_before_it_open(browser):
    """The test before this one opened two pages, each with a cookie store of its own: both were closed after it."""
    assert browser.contexts == []
