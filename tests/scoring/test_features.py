"""Copy features: counted once per distinct text, they must land on every row as if counted row by row."""

from __future__ import annotations

import pandas as pd

from scoring.features import _EMOJI, _NUMBER, _WORD, text_features


def test_text_counts_are_counted_once_per_distinct_text_and_land_on_their_rows():
    texts = pd.Series(["Hurry, 50% off now!", None, "Привет, ИВАН?", "Hurry, 50% off now!", "", "🎉 free gift"])
    texts.index = [10, 3, 7, 1, 99, 4]

    counts = text_features(texts)

    one_by_one = pd.concat([text_features(texts.iloc[[position]]) for position in range(len(texts))])
    pd.testing.assert_frame_equal(counts, one_by_one, check_exact=True)
    assert counts.loc[10, "subject_urgency"] == 2 and counts.loc[7, "subject_question"] == 1


def test_urgency_and_spam_words_of_french_spanish_italian_portuguese_and_dutch_are_counted():
    """Subjects in the languages emails are now written in counted no urgency or spam words at all."""
    texts = pd.Series(
        [
            "Dernière chance : tout est gratuit aujourd’hui",
            "Compre ahora, última oportunidad",
            "Solo oggi: si affretti",
            "Frete grátis só hoje, compre agora",
            "Alleen vandaag: klik hier",
        ]
    )
    counts = text_features(texts)
    assert counts["subject_urgency"].tolist() == [2, 2, 2, 2, 1]
    assert counts["subject_spam"].tolist() == [1, 1, 0, 2, 1]


def test_english_words_that_begin_like_another_languages_urgency_words_count_nothing():
    """Every language's phrases are looked for in every text, and the Italian and Spanish stems "limitat" and
    "limitad" were found in 13 English Upworthy ledes ("limitations"), counted as urgency."""
    texts = pd.Series(["The limitations of a limitation", "Edizione limitata", "Oferta limitada"])
    assert text_features(texts)["subject_urgency"].tolist() == [0, 1, 1]


def test_urgency_and_spam_words_count_as_whole_words_and_stems_go_on_into_inflections():
    """The word "now" was found in "know" and "snow", "ends" in "friends", "free" in "freedom" and "win " in "twin "."""
    texts = pd.Series([
        "What you know about snow, friends and freedom", "A twin bed, finally",
        "Ends today: free shipping now", "Oferta ograniczona, darmowa dostawa", "Begrenzte Stückzahl",
    ])  # fmt: skip
    counts = text_features(texts)
    assert counts["subject_urgency"].tolist() == [0, 0, 3, 1, 1]
    assert counts["subject_spam"].tolist() == [0, 0, 1, 1, 0]


def test_inflected_urgency_and_spam_words_are_counted_through_their_stems():
    """Counted as whole words, "Kostenloser Versand", "Livraison gratuite", "Unidades limitadas", "Guaranteed
    results" and "Win prizes" counted no spam or urgency word: the lists held their base forms only."""
    texts = pd.Series([
        "Kostenloser Versand", "Livraison gratuite", "Unidades limitadas", "Guaranteed results", "Win prizes",
        "Don’t miss it", "С бесплатной доставкой", "Oferta zakończy się", "A gratuity is included",
    ])  # fmt: skip
    counts = text_features(texts)
    assert counts["subject_spam"].tolist() == [1, 1, 0, 1, 2, 0, 1, 0, 0]
    assert counts["subject_urgency"].tolist() == [0, 0, 1, 0, 0, 1, 0, 1, 0]


def test_text_counts_are_what_pandas_string_methods_count_to_the_bit():
    """Lengths, words and single characters are counted in Python, a text at a time: the same numbers as the
    pandas string methods and per-text maps the features were first written with, on several scripts and emoji."""
    texts = pd.Series(
        [
            "Hurry, 50% off now!",
            "",
            "Привет, ИВАН? Ждём",
            "🎉 free gift 🎁",
            "İstanbul ÄÖÜ ß",
            "a\u0301 e\u0308?!",
            "  ",
        ]
    )
    counts = text_features(texts)
    expected = pd.DataFrame(
        {
            "subject_chars": texts.str.len().astype(float),
            "subject_words": texts.map(lambda text: len(_WORD.findall(text))).astype(float),
            "subject_question": texts.str.contains("?", regex=False).astype(float),
            "subject_number": texts.map(lambda text: bool(_NUMBER.search(text))).astype(float),
            "subject_emoji": texts.map(lambda text: bool(_EMOJI.search(text))).astype(float),
            "subject_exclamation": texts.str.contains("!", regex=False).astype(float),
        }
    )
    pd.testing.assert_frame_equal(counts[list(expected.columns)], expected, check_exact=True)
