"""A customers file that gives a customer's country (a code or an English name) and no time zone: a country whose
clocks all show one time gives the customer its zone (a shop's export names countries, seldom zones), from data the
install ships (Babel's CLDR); a country of several times, or a value that names no country, gives none, and a zone
given or stored wins."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from evals.datasets import available, data_path
from service.db.models import Customer
from service.db.session import session_scope
from service.importing import import_file, import_frame
from service.zones import COUNTRY_ALIASES, MAIN_ZONES, PLACE_ZONES, names_a_country, zone_named, zone_of_country


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("FR", "Europe/Paris"),
        (" jp ", "Asia/Tokyo"),  # any case, spaces aside
        ("DE", "Europe/Berlin"),  # Büsingen's clock is Berlin's
        ("IN", "Asia/Kolkata"),
        ("CY", "Asia/Nicosia"),  # the capital's, not Famagusta's (Northern Cyprus), which CLDR lists first
        ("MY", "Asia/Kuala_Lumpur"),  # not Kuching's, on Borneo
        ("KZ", "Asia/Almaty"),  # most of Kazakhstan, Astana with it, since its clocks agree (2024); not Qyzylorda's
        ("MH", "Pacific/Majuro"),  # the capital's, not Kwajalein's
        ("AR", "America/Argentina/Buenos_Aires"),
        ("UZ", "Asia/Tashkent"),
        ("PS", "Asia/Hebron"),  # the West Bank's: Ramallah's and East Jerusalem's, and most people's
        ("US", None),  # several times
        ("ES", None),  # the Canaries an hour behind Madrid
        ("France", "Europe/Paris"),  # its English name (Online Retail's customers give names)
        ("Atlantis", None),
        ("XX", None),
        ("", None),
        (None, None),
        (49, None),
    ],
)
def test_a_country_of_one_time_gives_its_zone(country, zone):
    assert zone_of_country(country) == zone


# What each of Online Retail's countries (2010-11) gives its customers: its zone, none for a country of several times,
# and none for a name that is no country's; before, EIRE, USA, RSA, Czech Republic and Channel Islands named none.
ONLINE_RETAIL_ZONES = {
    "Australia": None, "Austria": "Europe/Vienna", "Bahrain": "Asia/Bahrain", "Belgium": "Europe/Brussels",
    "Brazil": None, "Canada": None, "Channel Islands": "Europe/London", "Cyprus": "Asia/Nicosia",
    "Czech Republic": "Europe/Prague", "Denmark": "Europe/Copenhagen", "EIRE": "Europe/Dublin",
    "European Community": None, "Finland": "Europe/Helsinki", "France": "Europe/Paris", "Germany": "Europe/Berlin",
    "Greece": "Europe/Athens", "Hong Kong": "Asia/Hong_Kong", "Iceland": "Atlantic/Reykjavik",
    "Israel": "Asia/Jerusalem", "Italy": "Europe/Rome", "Japan": "Asia/Tokyo", "Lebanon": "Asia/Beirut",
    "Lithuania": "Europe/Vilnius", "Malta": "Europe/Malta", "Netherlands": "Europe/Amsterdam", "Norway": "Europe/Oslo",
    "Poland": "Europe/Warsaw", "Portugal": None, "RSA": "Africa/Johannesburg", "Saudi Arabia": "Asia/Riyadh",
    "Singapore": "Asia/Singapore", "Spain": None, "Sweden": "Europe/Stockholm", "Switzerland": "Europe/Zurich",
    "USA": None, "United Arab Emirates": "Asia/Dubai", "United Kingdom": "Europe/London", "Unspecified": None,
}  # fmt: skip
# Of those, the names of no country: no zone, and a stored zone stays.
NO_COUNTRY = {"European Community", "Unspecified"}


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("EIRE", "Europe/Dublin"),  # Online Retail's, and other British exports'
        ("USA", None),  # a country, of several times
        ("RSA", "Africa/Johannesburg"),
        ("Czech Republic", "Europe/Prague"),  # CLDR's "Czechia"
        ("Korea", "Asia/Seoul"),  # Online Retail II's
        ("Hong Kong", "Asia/Hong_Kong"),  # CLDR's "Hong Kong SAR China"
        ("Turkey", "Europe/Istanbul"),  # CLDR's "Türkiye"
        ("UK", "Europe/London"),
        ("Sao Tome and Principe", "Africa/Sao_Tome"),  # CLDR's "São Tomé & Príncipe"
        ("Saint Lucia", "America/St_Lucia"),  # CLDR's "St. Lucia"
        ("the Netherlands", "Europe/Amsterdam"),
        ("Channel Islands", "Europe/London"),  # Jersey and Guernsey, on the United Kingdom's time
        ("West Indies", None),  # many countries, of several times
        ("European Union", None),  # CLDR's grouping, no country
        ("Unknown Region", None),  # CLDR's ZZ
    ],
)
def test_the_names_shops_give_countries(country, zone):
    assert zone_of_country(country) == zone


def test_each_other_name_is_of_a_country_and_each_place_s_zone_a_zone():
    assert {name: code for name, code in COUNTRY_ALIASES.items() if not names_a_country(code)} == {}
    assert {name: zone for name, zone in PLACE_ZONES.items() if zone_named(zone) != zone} == {}


@pytest.mark.parametrize("name", ["European Community", "Unspecified", "West Indies", "EU", "ZZ", "European Union"])
def test_a_name_of_no_country(name):
    assert not names_a_country(name)


@pytest.mark.skipif(not available("online-retail/online_retail_2010_2011.parquet"), reason="Online Retail is absent")
def test_online_retail_s_customers_get_their_country_s_zone(engine, tmp_path):
    """Online Retail's 4,372 customers, each with the country of their last invoice in a column named `Country`, as
    Online Retail names it: a customers file made of them gives each the zone of that country, and names the
    countries that name none; before, none had a zone (the column, named `Country`, was not read as the country)."""
    lines = pd.read_parquet(
        data_path("online-retail/online_retail_2010_2011.parquet"), columns=["CustomerID", "Country"]
    )
    last = lines.dropna(subset=["CustomerID"]).groupby("CustomerID").Country.last()
    ids = [str(int(customer)) for customer in last.index]
    customers = pd.DataFrame({
        "customer_id": ids, "email": [f"c{id_}@example.com" for id_ in ids], "first_name": "A",
        "marketing_consent": "true", "Country": last.to_numpy(),
    })  # fmt: skip
    customers.to_csv(tmp_path / "customers.csv", index=False)
    with session_scope(engine) as session:
        warnings = import_file(session, "customers", tmp_path / "customers.csv").warnings
    with session_scope(engine) as session:
        zones = dict(session.execute(select(Customer.external_id, Customer.timezone)).all())
    assert [warning.partition(".")[0] for warning in warnings if "names no country" in warning] == [
        "5 customers have a country that names no country, and no timezone: 'Unspecified' (4), 'European Community' (1)"
    ]
    given = pd.DataFrame({"country": last.to_numpy(), "zone": [zones[id_] for id_ in ids]})
    by_country = given.groupby("country").zone.agg(lambda zone: set(zone.fillna("none"))).to_dict()
    assert by_country == {
        country: {zone or "none"} for country, zone in ONLINE_RETAIL_ZONES.items() if country in set(last)
    }
    assert given.zone.notna().sum() == 4_300  # of 4,372: all but those of several times or of no country


def test_each_country_of_several_zones_has_a_main_one_among_them():
    """A country whose clocks come to agree (Kazakhstan's did in 2024) gets its main zone, not CLDR's first; so does
    one a later CLDR gives a second zone: the main zone is named for each, one of the country's own."""
    from babel.core import get_global

    several = {
        code: {zone_named(zone) for zone in zones}
        for code, zones in get_global("territory_zones").items()
        if len(zones) > 1 and code not in ("AQ", "UM", "ZZ", "001")  # no one's home, and no place
    }
    assert set(MAIN_ZONES) == set(several)
    assert {code for code, zone in MAIN_ZONES.items() if zone not in several[code]} == set()


def test_a_customers_file_s_country_gives_a_customer_without_a_zone_theirs(engine, tmp_path):
    """Before, a customer in Paris whose file gave `country` FR was on the shop's clock (UTC unless set): their
    best hour at 09:00 went at 10:00 for them in winter and 11:00 in summer."""
    header = "customer_id,email,first_name,marketing_consent,country,timezone\n"
    (tmp_path / "first.csv").write_text(
        header + "tokyo,tokyo@example.com,T,true,DE,Asia/Tokyo\nkept,k@example.com,K,true,,\n"
    )
    with session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "first.csv")
    rows = [
        "paris,paris@example.com,P,true,fr,",  # one time: its zone
        "ohio,ohio@example.com,O,true,US,",  # several: the shop's clock
        "ny,ny@example.com,N,true,US,America/New_York",  # a zone given wins
        "tokyo,tokyo@example.com,T,true,DE,",  # a zone stored wins: kept, as a file without zones keeps it
        "kept,k@example.com,K,true,NL,",  # stored without one: their country's now
        "named,named@example.com,N,true,Germany,",
    ]
    (tmp_path / "second.csv").write_text(header + "\n".join(rows) + "\n")
    with session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "second.csv")
    with session_scope(engine) as session:
        zones = dict(session.execute(select(Customer.external_id, Customer.timezone)).all())
        countries = dict(session.execute(select(Customer.external_id, Customer.attributes)).all())
    assert zones == {
        "paris": "Europe/Paris", "ohio": None, "ny": "America/New_York", "tokyo": "Asia/Tokyo",
        "kept": "Europe/Amsterdam", "named": "Europe/Berlin",
    }  # fmt: skip
    assert countries["paris"] == {"country": "fr"}  # kept as it was written, as any other column


def test_a_customer_whose_country_gave_their_zone_takes_their_new_country_s(engine, tmp_path):
    """A zone that came from the customer's country is their country's, not one they gave: a customer in London
    (GB) who moved to Tokyo, as the shop's next export says (JP), stayed on London's clock for good, their best hour
    at 09:00 going at 18:00 for them. A zone given (or stored) that is not the country's still wins, and a value that
    names no country leaves the zone as it was."""
    header = "customer_id,email,first_name,marketing_consent,country,timezone\n"
    (tmp_path / "first.csv").write_text(
        header + "moved,m@example.com,M,true,GB,\n"  # London, from the country
        "to_us,u@example.com,U,true,GB,\n"
        "unnamed,x@example.com,X,true,GB,\n"
        "given,g@example.com,G,true,GB,Asia/Tokyo\n"  # a zone of their own, not the country's
    )
    with session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "first.csv")
    (tmp_path / "second.csv").write_text(
        header + "moved,m@example.com,M,true,JP,\n"
        "to_us,u@example.com,U,true,US,\n"  # several times: the shop's clock, not London's
        "unnamed,x@example.com,X,true,Unspecified,\n"  # no country: as it was
        "given,g@example.com,G,true,FR,\n"
    )
    with session_scope(engine) as session:
        summary = import_file(session, "customers", tmp_path / "second.csv")
    with session_scope(engine) as session:
        zones = dict(session.execute(select(Customer.external_id, Customer.timezone)).all())
    assert zones == {"moved": "Asia/Tokyo", "to_us": None, "unnamed": "Europe/London", "given": "Asia/Tokyo"}
    assert summary.updated == 4  # each one's country changed


def test_a_zone_of_the_stored_country_s_clock_takes_the_new_country_s(engine, tmp_path):
    """Where a country's zones agree, each of them is the country's: a customer of Malaysia stored with Asia/Kuching
    (the zone Tailor gave Malaysia's customers before it gave Kuala Lumpur's) who moved to Tokyo stayed on Malaysia's
    clock for good, being no longer on the zone Malaysia now gives."""
    header = "customer_id,email,first_name,marketing_consent,country,timezone\n"
    (tmp_path / "first.csv").write_text(
        header + "kuching,k@example.com,K,true,MY,Asia/Kuching\nbusingen,b@example.com,B,true,DE,Europe/Busingen\n"
    )
    (tmp_path / "second.csv").write_text(
        header + "kuching,k@example.com,K,true,JP,\nbusingen,b@example.com,B,true,FR,\n"
    )
    for name in ("first.csv", "second.csv"):
        with session_scope(engine) as session:
            import_file(session, "customers", tmp_path / name)
    with session_scope(engine) as session:
        zones = dict(session.execute(select(Customer.external_id, Customer.timezone)).all())
    assert zones == {"kuching": "Asia/Tokyo", "busingen": "Europe/Paris"}


def test_a_grouping_of_countries_leaves_the_zone_and_a_place_of_one_clock_gives_one(engine, tmp_path):
    """ "European Union" (CLDR's EU) was taken for a country of no one zone: a customer in Paris whose next file said
    so lost Paris's clock for the shop's. The Channel Islands give the United Kingdom's clock, and a customer who left
    them for Tokyo takes Tokyo's."""
    header = "customer_id,email,first_name,marketing_consent,Country\n"
    (tmp_path / "first.csv").write_text(
        header + "eu,e@example.com,E,true,France\nci,c@example.com,C,true,Channel Islands\n"
    )
    (tmp_path / "second.csv").write_text(
        header + "eu,e@example.com,E,true,European Union\nci,c@example.com,C,true,Japan\n"
    )
    zones = []
    for name in ("first.csv", "second.csv"):
        with session_scope(engine) as session:
            import_file(session, "customers", tmp_path / name)
        with session_scope(engine) as session:
            zones.append(dict(session.execute(select(Customer.external_id, Customer.timezone)).all()))
    assert zones == [{"eu": "Europe/Paris", "ci": "Europe/London"}, {"eu": "Europe/Paris", "ci": "Asia/Tokyo"}]


def test_the_import_names_the_countries_it_took_no_zone_from(engine, tmp_path):
    """A `country` that named no country gave no zone, and the import said nothing of it: a shop whose export said
    "Unspecified" did not learn which customers were on its own clock. A row that gives a zone, or a country of
    several times (USA: a country, with no one zone), is not named."""
    header = "customer_id,email,first_name,marketing_consent,Country,timezone\n"
    rows = [
        "a,a@example.com,A,true,Unspecified,", "b,b@example.com,B,true,Unspecified,",
        "c,c@example.com,C,true,European Community,", "d,d@example.com,D,true,Unspecified,Europe/Paris",
        "e,e@example.com,E,true,USA,", "f,f@example.com,F,true,EIRE,", "g,g@example.com,G,true,,",
    ]  # fmt: skip
    (tmp_path / "customers.csv").write_text(header + "\n".join(rows) + "\n")
    with session_scope(engine) as session:
        warnings = import_file(session, "customers", tmp_path / "customers.csv").warnings
    with session_scope(engine) as session:
        framed = import_frame(session, "customers", pd.read_csv(tmp_path / "customers.csv", dtype=str)).warnings
    named = [warning for warning in warnings if "names no country" in warning]
    assert named == [
        "3 customers have a country that names no country, and no timezone: 'Unspecified' (2), 'European Community' "
        "(1). No zone is taken from it: those new to Tailor are on the shop's clock (TAILOR_SEND_TIMEZONE), those "
        "already stored keep theirs; give a timezone, or a country's code (IE) or English name (Ireland)."
    ]
    assert [warning for warning in framed if "names no country" in warning] == named
