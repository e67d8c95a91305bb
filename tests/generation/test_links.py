"""The form links are compared in (generation.links.link_key): what an email service's report of a link changes
gives one key, what tells two pages apart gives two."""

from __future__ import annotations

from generation.links import index_key, link_key


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
        # a reserved character and its encoding (RFC 3986 6.2.2.2): `/p/a%3Bb` is one segment, `/p/a;b` a parameter's
        ("https://shop.example/p/a%3Bb", "https://shop.example/p/a;b"),
        ("https://shop.example/p/a%40b", "https://shop.example/p/a@b"),
        ("https://shop.example/p/a%2C%3Db", "https://shop.example/p/a,=b"),
        ("https://shop.example/p/caf%C3%A9%3Bred", "https://shop.example/p/café;red"),
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


def test_a_host_in_another_script_gives_one_key_however_it_is_spelt():
    """An internationalised host as the catalog writes it (Unicode), as DNS and most email services' reports do
    (its ASCII form, IDNA), percent-encoded as RFC 3986 allows, in capitals, with an ideographic full stop."""
    books = link_key("https://bücher.example/p")
    for spelling in (
        "https://xn--bcher-kva.example/p",
        "https://XN--BCHER-KVA.example/p",
        "https://b%C3%BCcher.example/p",
        "https://b%c3%bccher.example/p",
        "https://BÜCHER.example/p",
        "https://bücher。example/p",
        "https://www.bücher.example./p",
    ):
        assert link_key(spelling) == books, spelling
    assert link_key("https://шоп.пример/товар") == link_key("https://xn--n1acz.xn--e1afmkfd/товар")


def test_hosts_that_are_other_names_keep_keys_of_their_own():
    pairs = [
        ("https://bücher.example/p", "https://bucher.example/p"),
        ("https://straße.example/p", "https://strasse.example/p"),  # IDNA 2008: two domains, not one
        ("https://b%C3%BCcher.example/p", "https://b%E9cher.example/p"),  # bytes that are no UTF-8
        ("https://shop%2Fp.example/q", "https://shop/p.example/q"),  # a decoded `/` is no path's
        ("https://[::1]:8080/p", "https://[::1:8080]/p"),  # a port, and an IPv6 address's last group
    ]
    for one, other in pairs:
        assert link_key(one) != link_key(other), (one, other)


def test_the_path_s_spellings_by_rfc_3986_give_one_key():
    for one, other in [
        ("https://shop.example/caf%C3%A9", "https://shop.example/café"),
        ("https://shop.example/caf%c3%a9", "https://shop.example/caf%C3%A9"),
        ("https://shop.example/%7Eann/p", "https://shop.example/~ann/p"),
        ("https://shop.example/%7eann/p", "https://shop.example/~ann/p"),
        ("https://shop.example./p", "https://shop.example/p"),
        ("https://shop.example:443/p", "https://shop.example/p"),
        ("http://shop.example:80/p", "http://shop.example/p"),
        ("https://shop.example", "https://shop.example/"),
        ("https://shop.example?id=1", "https://shop.example/?id=1"),
        ("https://shop.example/p/./tea", "https://shop.example/p/tea"),
        ("https://shop.example/p/x/../tea", "https://shop.example/p/tea"),
        ("https://shop.example/p/x/%2E%2E/tea", "https://shop.example/p/tea"),
        ("https://shop.example/p/a%3bb", "https://shop.example/p/a%3Bb"),  # an encoding's hex digits in either case
        ("https://shop.example/p/caf%c3%a9%3b", "https://shop.example/p/café%3B"),
    ]:
        assert link_key(one) == link_key(other), (one, other)


def test_the_index_key_reads_a_path_s_reserved_characters_decoded_as_the_stored_digests_do():
    """The catalog's stored digests (service.db.link_keys) are of the keys before a reserved character and its encoding
    were told apart: found by them, a product's address is then compared by its link key."""
    assert index_key("https://shop.example/p/a%3Bb?utm_source=x") == index_key("https://shop.example/p/a;b")
    assert index_key("https://shop.example/p/a;b") == link_key("https://shop.example/p/a;b") == "//shop.example/p/a;b"
    assert index_key("https://shop.example/p/a%2Fb") != index_key("https://shop.example/p/a/b")
