"""The form links are compared in (generation.links.link_key): what an email service's report of a link changes
gives one key, what tells two pages apart gives two."""

from __future__ import annotations

from generation.links import link_key


def test_what_a_report_changes_gives_the_link_s_key():
    tea = "https://shop.example/p/T1?size=a&c=1"
    assert link_key(tea) == "//shop.example/p/T1?c=1&size=a"
    for spelling in (
        "http://www.Shop.Example:443/p/T1/?c=1&amp;amp;size=a&UTM_Term=x#top",
        " https://SHOP.example./p/T1?size=a&c=1&gclid=Cj0&mc_eid=9f&_hsenc=p2&__hstc=1a.2b ",
        "https://shop.example/p/%54%31?size=%61&c=1",
    ):
        assert link_key(spelling) == link_key(tea), spelling
    assert link_key("https://shop.example/s?q=red+shoes") == link_key("https://shop.example/s?q=red%20shoes")
    assert link_key("https://shop.example/p/caf%c3%a9") == link_key("https://shop.example/p/café")
    assert link_key("https://shop.example/") == link_key("https://shop.example") == "//shop.example"


def test_what_tells_pages_apart_gives_keys_of_their_own():
    pairs = [
        ("https://shop.example/p/dress?variant=1", "https://shop.example/p/dress?variant=2"),
        ("https://shop.example/p/dress?variant=1", "https://shop.example/p/dress"),
        ("https://shop.example/p/K1", "https://shop.example/p/k1"),  # a path's case
        ("https://shop.example/p/a%2Fb", "https://shop.example/p/a/b"),
        ("https://shop.example/#/p/1", "https://shop.example/#/p/2"),  # a single-page shop's routes
        ("https://shop.example:8443/p/1", "https://shop.example/p/1"),
        ("https://shop.example/p?a=1&a=2", "https://shop.example/p?a=2&a=1"),  # one name's values in order
        ("https://shop.example/p/caf%E9", "https://shop.example/p/caf%E8"),  # bytes that are no UTF-8
        ("https://shop.example/p/1", "https://shop.example.org/p/1"),
    ]
    for one, other in pairs:
        assert link_key(one) != link_key(other), (one, other)


def test_an_address_that_is_no_web_address_is_compared_as_it_is():
    assert link_key("  ") == ""
    assert link_key("http://[::1") == "http://[::1"
    assert link_key("shop.example/p/K1 ") == "shop.example/p/K1"
    assert link_key("mailto:shop@example.com") == "mailto:shop@example.com"
