"""Opt-out, opt-in and help keywords are recognised per Twilio's whole-message rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.domain.keywords import (
    DEFAULT_KEYWORDS,
    DUTCH,
    ENGLISH,
    FRENCH,
    GERMAN,
    SPANISH,
    KeywordKind,
    KeywordMatch,
    KeywordSets,
    LanguageKeywords,
    classify,
    normalise,
)
from herald.errors import ConfigurationError

KINDS = (KeywordKind.OPT_OUT, KeywordKind.OPT_IN, KeywordKind.HELP)
DEFAULT_WORDS = sorted(
    {
        word
        for language in DEFAULT_KEYWORDS.languages
        for kind in KINDS
        for word in language.words(kind)
    }
)
ALL_DEFAULTS = [
    pytest.param(language, kind, word, id=f"{language.language}-{kind.value}-{word}")
    for language in (ENGLISH, DUTCH, GERMAN, FRENCH, SPANISH)
    for kind in KINDS
    for word in sorted(language.words(kind))
]
SPACE = st.text(alphabet=" \t\r\n\u00a0\u3000", max_size=4)


@pytest.mark.parametrize(("language", "kind", "word"), ALL_DEFAULTS)
def test_every_default_keyword_is_recognised_in_its_language(
    language: LanguageKeywords, kind: KeywordKind, word: str
) -> None:
    """Each default keyword, sent alone, is classified as its kind, in its language."""
    match = classify(word, preferred_language=language.language)
    assert match.kind is kind
    assert match.language == language.language
    assert match.keyword is not None
    assert normalise(match.keyword) == normalise(word)


@pytest.mark.parametrize(("language", "kind", "word"), ALL_DEFAULTS)
def test_every_default_keyword_is_recognised_in_lower_case(
    language: LanguageKeywords, kind: KeywordKind, word: str
) -> None:
    """Case does not matter: the lower-case form of each keyword has the same kind."""
    assert classify(word.lower()).kind is kind


def test_twilio_english_defaults_are_the_documented_lists() -> None:
    """The English sets are exactly Twilio's documented defaults for US/CA long codes."""
    assert ENGLISH.opt_out == {
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
    }
    assert ENGLISH.opt_in == {"START", "YES", "UNSTOP"}
    assert ENGLISH.help == {"HELP", "INFO"}


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("stop", "STOP"),
        ("Stop", "STOP"),
        ("sToP", "STOP"),
        ("  STOP  ", "STOP"),
        ("\nSTOP\r\n", "STOP"),
        ("STOP.", "STOP"),
        ("STOP!!!", "STOP"),
        ('"Stop"', "STOP"),
        ("(stop)", "STOP"),
        ("¡Alto!", "ALTO"),
        ("  Unsubscribe. ", "UNSUBSCRIBE"),
    ],
)
def test_case_surrounding_space_and_punctuation_are_ignored(body: str, keyword: str) -> None:
    """Case, whitespace and punctuation at either end do not stop a keyword from matching."""
    match = classify(body)
    assert match.kind is KeywordKind.OPT_OUT
    assert match.keyword == keyword


@pytest.mark.parametrize("body", ["ARRÊT", "arret", "Arrêt !", "ARRÊTE", "arrete"])
def test_accents_are_ignored(body: str) -> None:
    """ARRÊT and ARRET are the same keyword, whatever the accents and case."""
    match = classify(body)
    assert match.kind is KeywordKind.OPT_OUT
    assert match.language == "fr"


@pytest.mark.parametrize(
    "body",
    [
        "stop texting me please",
        "STOP PLEASE",
        "PLEASE CANCEL",
        "stopwatch",
        "unstoppable",
        "S T O P",
        "ST OP",
        "STOP🛑",
        "",
        "   ",
        "?!",
        "Hello, is my order on its way?",
    ],
)
def test_messages_that_are_not_only_a_keyword_do_not_match(body: str) -> None:
    """A keyword inside a longer message, a longer word or an empty body is not a keyword."""
    assert classify(body) == KeywordMatch(KeywordKind.NONE)


def test_a_shared_word_is_reported_in_the_first_language_by_default() -> None:
    """STOP is listed by several languages; without a preference English, listed first, wins."""
    assert classify("stop") == KeywordMatch(KeywordKind.OPT_OUT, "STOP", "en")


def test_a_shared_word_is_reported_in_the_preferred_language_when_it_lists_it() -> None:
    """With the recipient's language preferred, STOP is reported as Dutch."""
    assert classify("stop", preferred_language="nl") == KeywordMatch(
        KeywordKind.OPT_OUT, "STOP", "nl"
    )


def test_a_preferred_language_that_lacks_the_word_is_ignored() -> None:
    """BAJA is only Spanish, so a Dutch preference still reports it as Spanish."""
    assert classify("baja", preferred_language="nl").language == "es"


def test_a_tenant_can_add_a_word() -> None:
    """A word added to a kind is recognised by the new sets and not by the defaults."""
    sets = DEFAULT_KEYWORDS.with_words("en", KeywordKind.OPT_OUT, ["HALT"])
    assert classify("halt", sets) == KeywordMatch(KeywordKind.OPT_OUT, "HALT", "en")
    assert classify("halt").kind is KeywordKind.NONE


def test_a_tenant_can_remove_a_word() -> None:
    """A removed word is no longer a keyword, while the kind's other words still are."""
    sets = DEFAULT_KEYWORDS.without_words("en", KeywordKind.OPT_IN, ["yes"])
    assert classify("YES", sets).kind is KeywordKind.NONE
    assert classify("START", sets).kind is KeywordKind.OPT_IN


def test_a_tenant_can_add_a_language() -> None:
    """Adding words to an unknown language appends that language to the sets."""
    sets = DEFAULT_KEYWORDS.with_words("it", KeywordKind.OPT_OUT, ["BASTA"])
    assert classify("Basta!", sets) == KeywordMatch(KeywordKind.OPT_OUT, "BASTA", "it")
    assert sets.languages[-1].language == "it"


def test_custom_sets_replace_the_defaults_entirely() -> None:
    """Sets built from scratch recognise only their own words."""
    sets = KeywordSets((LanguageKeywords("en", opt_out=frozenset({"STOP"})),))
    assert classify("stop", sets).kind is KeywordKind.OPT_OUT
    assert classify("help", sets).kind is KeywordKind.NONE


def test_a_multi_word_keyword_matches_however_it_is_spaced() -> None:
    """A configured two-word keyword matches with any run of spaces between its words."""
    sets = KeywordSets((LanguageKeywords("es", opt_out=frozenset({"DAR DE BAJA"})),))
    assert classify("dar   de\tbaja", sets).kind is KeywordKind.OPT_OUT


def test_a_word_in_two_kinds_of_one_language_is_refused() -> None:
    """Construction fails when one word is both opt-out and help, naming both kinds."""
    with pytest.raises(ConfigurationError, match="both help and opt_out"):
        KeywordSets(
            (LanguageKeywords("en", opt_out=frozenset({"STOP"}), help=frozenset({"Stop"})),)
        )


def test_a_word_in_two_kinds_across_languages_is_refused() -> None:
    """Adding INFO as a Dutch opt-out word conflicts with INFO as help elsewhere."""
    with pytest.raises(ConfigurationError, match=r"'INFO' \(nl\) is both opt_out and help"):
        DEFAULT_KEYWORDS.without_words("nl", KeywordKind.HELP, ["INFO"]).with_words(
            "nl", KeywordKind.OPT_OUT, ["INFO"]
        )


def test_spellings_that_differ_only_in_accents_conflict() -> None:
    """ARRÊT as opt-out and ARRET as help are the same word, so the sets are refused."""
    with pytest.raises(ConfigurationError, match="is both"):
        KeywordSets(
            (LanguageKeywords("fr", opt_out=frozenset({"ARRÊT"}), help=frozenset({"ARRET"})),)
        )


def test_a_language_listed_twice_is_refused() -> None:
    """Two entries for one language are refused rather than silently merged."""
    with pytest.raises(ConfigurationError, match="listed twice"):
        KeywordSets((LanguageKeywords("en"), LanguageKeywords("en")))


def test_a_keyword_made_only_of_punctuation_is_refused() -> None:
    """A keyword that normalises to nothing could never be typed, so it is refused."""
    with pytest.raises(ConfigurationError, match="is empty"):
        KeywordSets((LanguageKeywords("en", help=frozenset({"?!"})),))


def test_a_bare_string_of_words_is_refused() -> None:
    """Passing "STOP" instead of ["STOP"] is refused instead of adding S, T, O and P."""
    with pytest.raises(ConfigurationError, match="not the single string"):
        DEFAULT_KEYWORDS.with_words("en", KeywordKind.OPT_OUT, "HALT")


def test_kind_none_cannot_be_configured() -> None:
    """Words cannot be added to the NONE kind."""
    with pytest.raises(ConfigurationError, match="NONE"):
        DEFAULT_KEYWORDS.with_words("en", KeywordKind.NONE, ["MAYBE"])


@given(
    word=st.sampled_from(DEFAULT_WORDS),
    flips=st.lists(st.booleans(), min_size=20, max_size=20),
    before=SPACE,
    after=SPACE,
)
def test_keyword_classification_ignores_case_and_surrounding_whitespace(
    word: str, flips: list[bool], before: str, after: str
) -> None:
    """Any mix of upper and lower case, with any whitespace around, classifies the same."""
    mixed = "".join(
        char.lower() if flip else char.upper() for char, flip in zip(word, flips, strict=False)
    )
    assert classify(before + mixed + after) == classify(word)


@given(body=st.text(max_size=40), before=SPACE, after=SPACE)
def test_any_message_classifies_the_same_in_upper_case_and_padded(
    body: str, before: str, after: str
) -> None:
    """For any text, upper-casing it or adding surrounding whitespace never changes the answer."""
    expected = classify(body)
    assert classify(body.upper()) == expected
    assert classify(body.lower()) == expected
    assert classify(before + body + after) == expected
