"""The demo shop's customers: locales, first names as they are written there, emails and consent flags.

Each customer also gets hidden traits that drive the order history: a buyer type (light, regular, heavy),
a persona (what they come to the shop for), a taste vector over product styles, a re-order pace and a
lifetime after which they lapse. These columns start with an underscore and never leave the generator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LOCALE_SHARES = {"en": 0.34, "de": 0.26, "pl": 0.17, "ru": 0.13, "bg": 0.10}
CONSENT_SHARE = 0.9
UNSUBSCRIBED_SHARE = 0.03
MISSING_NAME_SHARE = 0.03
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

# (name as written in the locale, Latin spelling for the email address)
FIRST_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": tuple(
        (name, name)
        for name in [
            "Olivia",
            "Amelia",
            "Isla",
            "Ava",
            "Emily",
            "Sophie",
            "Grace",
            "Chloe",
            "Lucy",
            "Hannah",
            "Ruth",
            "Margaret",
            "Oliver",
            "George",
            "Harry",
            "Jack",
            "Noah",
            "Leo",
            "Charlie",
            "Thomas",
            "James",
            "William",
            "Daniel",
            "Samuel",
        ]
    ),
    "de": tuple(
        (name, name)
        for name in [
            "Emma",
            "Mia",
            "Hannah",
            "Sophia",
            "Lena",
            "Marie",
            "Anna",
            "Laura",
            "Julia",
            "Sabine",
            "Ursula",
            "Katrin",
            "Lukas",
            "Leon",
            "Finn",
            "Paul",
            "Jonas",
            "Felix",
            "Maximilian",
            "Tobias",
            "Jan",
            "Niklas",
            "Stefan",
            "Jürgen",
        ]
    ),
    "pl": tuple(
        (name, name)
        for name in [
            "Zofia",
            "Julia",
            "Maja",
            "Hanna",
            "Alicja",
            "Zuzanna",
            "Oliwia",
            "Natalia",
            "Katarzyna",
            "Agnieszka",
            "Małgorzata",
            "Ewa",
            "Jakub",
            "Antoni",
            "Jan",
            "Szymon",
            "Filip",
            "Kacper",
            "Piotr",
            "Tomasz",
            "Mateusz",
            "Michał",
            "Krzysztof",
            "Łukasz",
        ]
    ),
    "ru": (
        ("Анна", "anna"),
        ("Мария", "maria"),
        ("Елена", "elena"),
        ("Ольга", "olga"),
        ("Татьяна", "tatiana"),
        ("Наталья", "natalia"),
        ("Екатерина", "ekaterina"),
        ("Дарья", "daria"),
        ("Софья", "sofia"),
        ("Алиса", "alisa"),
        ("Иван", "ivan"),
        ("Дмитрий", "dmitry"),
        ("Алексей", "alexey"),
        ("Сергей", "sergey"),
        ("Андрей", "andrey"),
        ("Михаил", "mikhail"),
        ("Никита", "nikita"),
        ("Артём", "artem"),
        ("Павел", "pavel"),
        ("Максим", "maxim"),
    ),
    "bg": (
        ("Мария", "maria"),
        ("Иванка", "ivanka"),
        ("Елена", "elena"),
        ("Десислава", "desislava"),
        ("Гергана", "gergana"),
        ("Виктория", "viktoria"),
        ("Цветелина", "tsvetelina"),
        ("Радостина", "radostina"),
        ("Петя", "petya"),
        ("Николета", "nikoleta"),
        ("Георги", "georgi"),
        ("Иван", "ivan"),
        ("Димитър", "dimitar"),
        ("Николай", "nikolay"),
        ("Стоян", "stoyan"),
        ("Христо", "hristo"),
        ("Петър", "petar"),
        ("Калоян", "kaloyan"),
        ("Мартин", "martin"),
        ("Борислав", "borislav"),
    ),
}
# When customers habitually read their email: early risers, lunch-break readers, evening readers.
READING_HOURS = (8, 13, 20)
READING_HOUR_SHARES = (0.35, 0.25, 0.4)
_ASCII = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻäöüßÄÖÜ", "acelnoszzACELNOSZZaousAOU")

# Buyer types: share, purchase occasions per year, mean active lifetime in days.
BUYER_TYPES = {
    "light": (0.55, 1.3, 420.0),
    "regular": (0.33, 4.0, 600.0),
    "heavy": (0.12, 10.0, 800.0),
}

# Personas: what each kind of customer comes for (weights over catalog.CATEGORY_NAMES in order:
# Coffee, Tea, Filters & Refills, Pantry, Brewing Gear, Tableware, Cookware, Kitchen Tools, Linens, Candles).
PERSONAS = {
    "coffee_lover": (9, 0.5, 4, 1.5, 4, 1.5, 0.3, 0.8, 0.3, 0.3),
    "tea_lover": (0.5, 9, 1.5, 3, 2.5, 2, 0.3, 0.4, 0.8, 1.2),
    "home_cook": (1, 1, 0.5, 2, 0.8, 2.5, 8, 7, 2, 0.4),
    "host": (1, 1.5, 0.3, 2.5, 1, 8, 2, 1.5, 5, 2.5),
    "cosy_home": (0.8, 3, 0.3, 2, 0.8, 2, 0.3, 0.5, 5, 8),
    "gift_buyer": (2, 2.5, 0.2, 4, 2, 3, 1, 2, 2, 4),
}


def _latin(name: str) -> str:
    return name.translate(_ASCII).lower()


def generate_customers(rng: np.random.Generator, n_customers: int, style_dim: int) -> pd.DataFrame:
    """Customers with public columns (ARCHITECTURE's customers shape) and hidden ``_`` traits."""
    locales = rng.choice(list(LOCALE_SHARES), size=n_customers, p=list(LOCALE_SHARES.values()))
    first_names, emails = [], []
    for number, locale in enumerate(locales, start=1):
        options = FIRST_NAMES[str(locale)]
        name, latin = options[rng.integers(len(options))]
        first_names.append(name)
        domain = EMAIL_DOMAINS[rng.integers(len(EMAIL_DOMAINS))]
        emails.append(f"{_latin(latin)}.{number:05d}@{domain}")
    missing_name = rng.random(n_customers) < MISSING_NAME_SHARE
    consent = rng.random(n_customers) < CONSENT_SHARE
    unsubscribed = consent & (rng.random(n_customers) < UNSUBSCRIBED_SHARE / CONSENT_SHARE)

    type_names = list(BUYER_TYPES)
    buyer_type = rng.choice(type_names, size=n_customers, p=[BUYER_TYPES[t][0] for t in type_names])
    persona = rng.choice(list(PERSONAS), size=n_customers)
    affinity = np.vstack([rng.dirichlet(np.array(PERSONAS[p]) * 1.5) for p in persona])
    persona_taste = {p: rng.normal(size=style_dim) for p in PERSONAS}
    taste = np.vstack([persona_taste[p] + rng.normal(scale=0.7, size=style_dim) for p in persona])
    return pd.DataFrame(
        {
            "customer_id": [f"C{number:05d}" for number in range(1, n_customers + 1)],
            "email": emails,
            "first_name": np.where(missing_name, "", first_names),
            "locale": locales.astype(str),
            "marketing_consent": consent,
            "unsubscribed": unsubscribed,
            "_buyer_type": buyer_type.astype(str),
            "_persona": persona.astype(str),
            "_affinity": list(affinity),
            "_taste": list(taste),
            # How quickly this customer uses consumables up: their cycle = category cycle * pace.
            "_pace": np.exp(rng.normal(0.0, 0.25, size=n_customers)),
            "_loyalty": rng.beta(4, 2, size=n_customers),  # chance of re-ordering the same consumable
            "_propensity": rng.normal(0.0, 0.5, size=n_customers),  # hidden email-open tendency
            "_reading_hour": rng.choice(READING_HOURS, size=n_customers, p=READING_HOUR_SHARES),
        }
    )
