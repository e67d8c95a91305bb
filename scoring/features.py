"""Features of an email send: its copy, its context (hour, weekday, campaign, locale, segment) and its products.

Copy features are plain counts a copywriter recognises (length, first name, question, number, emoji,
exclamation, urgency and spam words), plus word and character n-grams of the subject. The word lists are
data, per locale, and every text is checked against all of them, since a German shop may write in English.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
from sklearn.pipeline import FeatureUnion

from scoring.ngrams import DistinctTfidf

COPY_COLUMNS = ["subject", "preheader", "intro", "first_name"]
CONTEXT_COLUMNS = ["campaign_type", "locale", "segment", "sent_at"]
PRODUCT_COLUMNS = ["n_products", "mean_price"]
VARIANT_COLUMNS = COPY_COLUMNS + CONTEXT_COLUMNS + PRODUCT_COLUMNS
OUTCOME_COLUMNS = ["opened", "clicked", "converted"]

# Every language's phrases are looked for in every text (a send's language is not always known). A phrase counts
# as whole words ("now" is not in "know", "ends" not in "friends"); one ending in "*" is a stem that an inflected
# word may go on from ("ograniczon*": ograniczona, ograniczony). A stem must not begin an ordinary word of another
# language (the stem "limitat" counted English "limitations").
URGENCY_WORDS: dict[str, list[str]] = {
    "en": [
        "now",
        "today",
        "tonight",
        "last chance",
        "hurry",
        "ends",
        "ending",
        "only",
        "limited",
        "final",
        "don't miss",
        "don’t miss",
        "before it's gone",
        "before it’s gone",
        "while stocks last",
        "last day",
    ],
    "de": [
        "jetzt",
        "heute",
        "letzte chance",
        "nur noch",
        "endet",
        "schnell*",
        "begrenzt*",
        "bald vorbei",
        "nicht verpassen",
        "letzter tag",
    ],
    "pl": [
        "teraz",
        "dziś",
        "dzisiaj",
        "ostatnia szansa",
        "tylko",
        "kończy",
        "zakończ*",
        "pośpiesz",
        "ograniczon*",
        "nie przegap",
        "ostatni dzień",
    ],
    "ru": [
        "сейчас",
        "сегодня",
        "последний шанс",
        "только",
        "успейте",
        "скорее",
        "заканчивается",
        "ограничен*",
        "не пропустите",
        "последний день",
    ],
    "bg": [
        "сега",
        "днес",
        "последен шанс",
        "само",
        "побързайте",
        "изтича",
        "ограничен*",
        "не пропускайте",
        "последен ден",
    ],
    "fr": [
        "maintenant",
        "aujourd’hui",
        "aujourd'hui",
        "dernière chance",
        "dépêchez",
        "se termine",
        "limité*",
        "ne manquez pas",
        "dernier jour",
    ],
    "es": [
        "ahora",
        "hoy mismo",
        "última oportunidad",
        "dese prisa",
        "date prisa",
        "limitad*",
        "no se lo pierda",
        "último día",
    ],
    "it": [
        "adesso",
        "solo oggi",
        "ultima occasione",
        "si affretti",
        "affrettati",
        "limitata",
        "limitato",
        "limitate",
        "limitati",
        "non perdere",
        "ultimo giorno",
    ],
    "pt": ["agora", "hoje", "última chance", "últimas horas", "não perca", "limitad*", "último dia"],
    "nl": ["vandaag", "laatste kans", "beperkt*", "mis het niet", "laatste dag", "loopt af"],
}

SPAM_WORDS: dict[str, list[str]] = {
    "en": [
        "free",
        "guarantee*",
        "winner",
        "win",
        "cash",
        "100%",
        "act now",
        "click here",
        "buy now",
        "$$$",
        "no cost",
        "risk-free",
        "prize*",
        "cheap*",
    ],
    "de": ["gratis", "kostenlos*", "gewinn*", "garantiert*", "jetzt kaufen", "hier klicken", "billig*"],
    "pl": ["za darmo", "darmow*", "gratis", "wygraj", "gwarant*", "kliknij tutaj", "kup teraz", "tanio"],
    "ru": ["бесплатн*", "выигр*", "гарант*", "деньги", "кликните", "купите сейчас", "дёшево", "дешево"],
    "bg": ["безплатно", "печалба", "спечели", "гарант*", "кликнете", "купете сега", "евтино"],
    "fr": ["gratuit", "gratuite", "gratuits", "gratuites", "gagnant*", "cliquez ici", "achetez maintenant", "pas cher"],
    "es": ["ganador*", "garantizad*", "haga clic", "compre ahora", "barat*"],
    "it": ["vincitor*", "garantit*", "clicca qui", "acquista ora", "a buon mercato"],
    "pt": ["grátis", "ganhe", "garantid*", "clique aqui", "compre agora"],
    "nl": ["gegarandeerd*", "klik hier", "koop nu", "goedkoop*", "goedkope*"],
}

_ALL_URGENCY = sorted({word for words in URGENCY_WORDS.values() for word in words})
_ALL_SPAM = sorted({word for words in SPAM_WORDS.values() for word in words})
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f000-\U0001f2ff]")
_NUMBER = re.compile(r"\d")
_WORD = re.compile(r"\w+", re.UNICODE)

# Human words for each numeric copy feature, used by the models' reasons.
COPY_FEATURE_WORDS: dict[str, str] = {
    "subject_chars": "the subject's length",
    "subject_words": "the number of words in the subject",
    "subject_first_name": "the customer's first name in the subject",
    "subject_question": "a question in the subject",
    "subject_number": "a number in the subject",
    "subject_emoji": "an emoji in the subject",
    "subject_exclamation": "an exclamation mark in the subject",
    "subject_urgency": "urgency words in the subject",
    "subject_spam": "spam-like words in the subject",
    "subject_caps": "capital letters in the subject",
    "preheader_chars": "the preheader's length",
    "intro_chars": "the intro's length",
    "intro_first_name": "the customer's first name in the intro",
    "n_products": "the number of products shown",
    "mean_price": "the price of the products shown",
    "weekend": "sending on a weekend",
    "past_sends": "how many emails the customer has had",
    "past_open_rate": "how often the customer opened before",
    "churn_risk": "the customer's churn risk",
    "rec_score": "how well the products fit the customer",
}
OPTIONAL_NUMERIC = ["churn_risk", "rec_score"]

# Words for a yes/no feature that is absent from a send.
ABSENT_FEATURE_WORDS: dict[str, str] = {
    "subject_first_name": "no first name in the subject",
    "subject_question": "no question in the subject",
    "subject_number": "no number in the subject",
    "subject_emoji": "no emoji in the subject",
    "subject_exclamation": "no exclamation mark in the subject",
    "intro_first_name": "no first name in the intro",
    "weekend": "sending on a weekday",
}


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A pattern for one listed phrase: starting a word, and ending one unless the phrase is a stem ending in "*"."""
    stem = phrase.endswith("*")
    body = re.escape(phrase.removesuffix("*"))
    return re.compile(rf"(?<!\w){body}" + ("" if stem else r"(?!\w)"))


@functools.cache
def _phrase_patterns(phrases: tuple[str, ...]) -> list[tuple[str, re.Pattern[str]]]:
    """Each phrase's letters and pattern, made once per list: a campaign batch's few subjects took longer to have
    their 150-odd patterns looked up in re's cache than to be searched."""
    return [(phrase.removesuffix("*"), phrase_pattern(phrase)) for phrase in phrases]


def count_phrases(texts: pd.Series, phrases: list[str]) -> np.ndarray:
    """How many of ``phrases`` occur in each text, case-insensitive, as words or stems (see URGENCY_WORDS). A
    phrase's pattern is tried only where its letters occur at all: 20,000 subjects took 3.9 s, all patterns tried."""
    patterns = _phrase_patterns(tuple(phrases))
    lowered = texts.fillna("").astype(str).str.lower()
    return np.array(
        [sum(1 for letters, p in patterns if letters in text and p.search(text)) for text in lowered], dtype=float
    )


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index)
    return frame[column].fillna("").astype(str)


def _mentions_name(texts: pd.Series, names: pd.Series) -> np.ndarray:
    return np.array(
        [bool(name) and name.lower() in text.lower() for text, name in zip(texts, names, strict=True)], dtype=float
    )


def text_features(texts: pd.Series, prefix: str = "subject") -> pd.DataFrame:
    """Counts a copywriter recognises for one text column: length, words, question, number, emoji, …, counted
    once per distinct text (a campaign's sends repeat a few subjects)."""
    texts = texts.fillna("").astype(str)
    return pd.DataFrame(_text_columns(texts, prefix), index=texts.index)


def _text_columns(texts: pd.Series, prefix: str) -> dict[str, np.ndarray]:
    """``text_features``' columns as float arrays of ``texts`` (strings, none missing), each text's counts worked out
    once."""
    codes, distinct = pd.factorize(texts)
    return {name: values[codes] for name, values in _text_counts(pd.Series(distinct), prefix).items()}


def _text_counts(texts: pd.Series, prefix: str) -> dict[str, np.ndarray]:
    """The counts of each (distinct) text. Lengths and single characters are counted in Python, a text at a time
    (a batch's few subjects cost more in pandas' per-call work than in counting); the letters, the capitals and
    the lower-cased phrases through pandas' string methods, which decide what a letter is."""
    letters = texts.str.count(r"[^\W\d_]").clip(lower=1)
    plain = list(texts)
    return {
        f"{prefix}_chars": np.array([len(text) for text in plain], dtype=float),
        f"{prefix}_words": np.array([len(_WORD.findall(text)) for text in plain], dtype=float),
        f"{prefix}_question": np.array(["?" in text for text in plain], dtype=float),
        f"{prefix}_number": np.array([bool(_NUMBER.search(text)) for text in plain], dtype=float),
        f"{prefix}_emoji": np.array([bool(_EMOJI.search(text)) for text in plain], dtype=float),
        f"{prefix}_exclamation": np.array(["!" in text for text in plain], dtype=float),
        f"{prefix}_urgency": count_phrases(texts, _ALL_URGENCY),
        f"{prefix}_spam": count_phrases(texts, _ALL_SPAM),
        f"{prefix}_caps": (texts.str.count(r"[A-ZА-ЯĄĆĘŁŃÓŚŹŻÄÖÜ]") / letters).to_numpy(dtype=float),
    }


def _subjects_and_names(variants: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The subjects and the first names (stripped) as texts, read once for the counts and for the masked subject."""
    return _text(variants, "subject"), _text(variants, "first_name").str.strip()


def _copy_columns(variants: pd.DataFrame, subject: pd.Series, names: pd.Series) -> dict[str, np.ndarray]:
    """Numeric copy features of each send as float arrays: subject counts plus preheader/intro length and
    personalization; ``subject`` and ``names`` as :func:`_subjects_and_names` reads them."""
    intro = _text(variants, "intro")
    columns = _text_columns(subject, "subject")
    columns["subject_first_name"] = _mentions_name(subject, names)
    columns["preheader_chars"] = _text(variants, "preheader").str.len().astype(float).to_numpy()
    columns["intro_chars"] = intro.str.len().astype(float).to_numpy()
    columns["intro_first_name"] = _mentions_name(intro, names)
    return columns


def _sent_at(variants: pd.DataFrame) -> pd.Series:
    """The send times (NaT where absent or unreadable)."""
    if "sent_at" not in variants.columns:
        return pd.Series(pd.NaT, index=variants.index)
    return pd.to_datetime(variants["sent_at"], errors="coerce")


def _context_features(variants: pd.DataFrame, sent_at: pd.Series) -> pd.DataFrame:
    """Categorical context (campaign type, locale, segment, hour, weekday) as strings; "unknown" when absent.
    ``sent_at``: ``variants``' send times as :func:`_sent_at` reads them."""
    context = {}
    for column in ["campaign_type", "locale", "segment"]:
        values = variants[column] if column in variants.columns else pd.Series(None, index=variants.index)
        context[column] = values.fillna("unknown").astype(str)
    context["hour"] = sent_at.dt.hour.map(lambda hour: "unknown" if pd.isna(hour) else f"{int(hour):02d}")
    context["weekday"] = sent_at.dt.day_name().fillna("unknown").astype(str)
    # each column keeps its dtype; the series share variants' index, so nothing is realigned
    return pd.concat(context, axis=1)


def _numeric_columns(
    variants: pd.DataFrame, sent_at: pd.Series, subjects_and_names: tuple[pd.Series, pd.Series]
) -> dict[str, np.ndarray]:
    """Copy counts plus product numbers and a weekend flag, as float arrays; missing product numbers become 0.
    ``sent_at`` and ``subjects_and_names``: what :func:`_sent_at` and :func:`_subjects_and_names` read of
    ``variants``."""
    features = _copy_columns(variants, *subjects_and_names)
    for column in PRODUCT_COLUMNS:
        values = variants[column] if column in variants.columns else pd.Series(0.0, index=variants.index)
        features[column] = pd.to_numeric(values, errors="coerce").fillna(0.0).astype(float).to_numpy()
    features["weekend"] = (sent_at.dt.day_of_week >= 5).astype(float).to_numpy()
    for column in OPTIONAL_NUMERIC:
        if column in variants.columns:
            features[column] = pd.to_numeric(variants[column], errors="coerce").astype(float).to_numpy()
    return features


def subject_ngrams(max_word_features: int = 1000, max_char_features: int = 0, min_df: int = 3) -> FeatureUnion:
    """Word (1–2) and, when ``max_char_features`` > 0, character (2–4, within words) tf-idf n-grams, each
    computed once per distinct subject (see ``scoring.ngrams``)."""
    parts = [
        (
            "word",
            DistinctTfidf(
                analyzer="word", ngram_range=(1, 2), min_df=min_df, max_features=max_word_features, sublinear_tf=True
            ),
        )
    ]
    if max_char_features > 0:
        parts.append(
            (
                "char",
                DistinctTfidf(
                    analyzer="char_wb",
                    ngram_range=(2, 4),
                    min_df=min_df,
                    max_features=max_char_features,
                    sublinear_tf=True,
                ),
            )
        )
    return FeatureUnion(parts)


NAME_TOKEN = "firstname"


def mask_first_names(texts: pd.Series, names: pd.Series) -> pd.Series:
    """The texts with each row's first name replaced by one shared token, so n-grams learn the habit, not Emily."""
    masked = [
        re.sub(re.escape(name), NAME_TOKEN, text, flags=re.IGNORECASE) if name else text
        for text, name in zip(texts, names, strict=True)
    ]
    return pd.Series(masked, index=texts.index, dtype=object)


def design_frame(variants: pd.DataFrame) -> pd.DataFrame:
    """One frame holding every input the engagement model's column transformer reads."""
    numeric, others = design_parts(variants)
    return pd.concat([pd.DataFrame(numeric, index=variants.index), others], axis=1)


def design_parts(variants: pd.DataFrame) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """:func:`design_frame` in two parts, for a caller that works on the numbers before the frame is built: its
    numeric columns as float arrays, then its context columns and ``subject_text`` as a frame."""
    sent_at, texts = _sent_at(variants), _subjects_and_names(variants)
    others = _context_features(variants, sent_at)
    others["subject_text"] = mask_first_names(*texts)
    return _numeric_columns(variants, sent_at, texts), others
