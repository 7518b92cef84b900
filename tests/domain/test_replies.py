"""Keyword replies confirm in the keyword's language, name the brand and how to undo it."""

from __future__ import annotations

import pytest

from herald.domain import replies
from herald.domain.keywords import DEFAULT_KEYWORDS, KeywordKind, classify
from herald.domain.problems import ProblemError
from herald.domain.replies import (
    DEFAULT_REPLIES,
    override_key,
    reply_text,
    validate_overrides,
)
from herald.domain.segments import analyse

KINDS = (KeywordKind.OPT_OUT, KeywordKind.OPT_IN, KeywordKind.HELP)
LANGUAGES = tuple(DEFAULT_REPLIES)
UNDOING = {KeywordKind.OPT_OUT: KeywordKind.OPT_IN, KeywordKind.OPT_IN: KeywordKind.OPT_OUT}


def test_all_names_exactly_the_public_api() -> None:
    """`__all__` names exactly the public API, and every name in it exists."""
    assert sorted(replies.__all__) == [
        "BRAND_VARIABLE",
        "DEFAULT_LANGUAGE",
        "DEFAULT_REPLIES",
        "ReplyTexts",
        "override_key",
        "reply_text",
        "validate_overrides",
    ]
    assert all(hasattr(replies, name) for name in replies.__all__)


def test_defaults_cover_every_keyword_language() -> None:
    """Each language Herald recognises keywords in has its own replies."""
    assert set(LANGUAGES) == {entry.language for entry in DEFAULT_KEYWORDS.languages}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_default_reply_names_the_brand(kind: KeywordKind, language: str) -> None:
    """Every default reply says who is writing."""
    assert "Bakkerij Jansen" in reply_text(kind, language, brand="Bakkerij Jansen")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_default_reply_fits_one_gsm7_segment(kind: KeywordKind, language: str) -> None:
    """With a 30-character brand, each default is GSM-7 and costs one segment."""
    info = analyse(reply_text(kind, language, brand="B" * 30))
    assert (info.encoding, info.segments) == ("GSM-7", 1)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", [KeywordKind.OPT_OUT, KeywordKind.OPT_IN])
def test_default_reply_names_the_keyword_that_undoes_it(kind: KeywordKind, language: str) -> None:
    """An opt-out confirmation names an opt-in word of its language, and the reverse."""
    words = reply_text(kind, language, brand="Shop").replace(",", " ").replace(".", " ").split()
    undoing = {
        classify(word, preferred_language=language)
        for word in words
        if word.isupper() and len(word) > 1
    }
    assert any(match.kind is UNDOING[kind] and match.language == language for match in undoing)


@pytest.mark.parametrize("language", LANGUAGES)
def test_help_reply_names_the_opt_out_keyword(language: str) -> None:
    """The help reply tells people how to stop, in their language."""
    words = reply_text(KeywordKind.HELP, language, brand="Shop").replace(",", " ").split()
    assert any(
        classify(word, preferred_language=language).kind is KeywordKind.OPT_OUT
        for word in words
        if word.isupper()
    )


def test_unknown_language_falls_back_to_english() -> None:
    """A language without defaults gets the English text."""
    expected = reply_text(KeywordKind.OPT_OUT, "en", brand="Shop")
    assert reply_text(KeywordKind.OPT_OUT, "it", brand="Shop") == expected


def test_no_language_means_english() -> None:
    """A keyword whose language is not known gets the English text."""
    expected = reply_text(KeywordKind.HELP, "en", brand="Shop")
    assert reply_text(KeywordKind.HELP, None, brand="Shop") == expected


def test_tenant_override_replaces_the_default_in_every_language() -> None:
    """A tenant text for a kind is used whatever the keyword's language."""
    overrides = {"opt_out": "{{brand}}: bye."}
    assert reply_text(KeywordKind.OPT_OUT, "de", brand="Shop", overrides=overrides) == "Shop: bye."


def test_language_specific_override_wins() -> None:
    """A tenant text for one language wins over its text for every language."""
    overrides = {"opt_out": "{{brand}}: bye.", "opt_out:nl": "{{brand}}: doei."}
    assert reply_text(KeywordKind.OPT_OUT, "nl", brand="Shop", overrides=overrides) == (
        "Shop: doei."
    )


def test_override_for_another_kind_leaves_the_default() -> None:
    """Overriding the opt-out text does not change the help text."""
    overrides = {"opt_out": "bye"}
    assert reply_text(KeywordKind.HELP, "en", brand="S", overrides=overrides) == reply_text(
        KeywordKind.HELP, "en", brand="S"
    )


def test_override_may_leave_the_brand_out() -> None:
    """A tenant text without `{{brand}}` is sent as written."""
    assert reply_text(KeywordKind.HELP, "en", brand="S", overrides={"help": "Call us."}) == (
        "Call us."
    )


def test_override_keys_are_kind_and_optional_language() -> None:
    """Keys are `opt_out` for every language and `opt_out:nl` for one."""
    assert (override_key(KeywordKind.OPT_IN), override_key(KeywordKind.OPT_IN, "fr")) == (
        "opt_in",
        "opt_in:fr",
    )


def test_valid_overrides_pass_validation() -> None:
    """Texts using only `{{brand}}` under known keys are accepted."""
    validate_overrides({"opt_out": "{{ brand }}: bye", "help:es": "Ayuda", "opt_in:nl": "Hoi"})


def test_override_with_another_variable_is_refused() -> None:
    """A reply text can only use `{{brand}}`: nothing else is known when it is sent."""
    with pytest.raises(ProblemError, match="first_name") as caught:
        validate_overrides({"opt_out": "Bye {{first_name}}"})
    assert caught.value.code == "invalid_template"


def test_override_with_unbalanced_braces_is_refused() -> None:
    """A reply text is a template, checked like one."""
    with pytest.raises(ProblemError):
        validate_overrides({"help": "Hi {{brand"})


@pytest.mark.parametrize("key", ["stop", "none", "opt_out:", "help:nl:x"])
def test_override_under_an_unknown_key_is_refused(key: str) -> None:
    """Keys other than a kind with an optional language are refused."""
    with pytest.raises(ProblemError, match="not a reply"):
        validate_overrides({key: "text"})


def test_non_keyword_gets_no_reply() -> None:
    """Asking for the reply to an ordinary message is a bug."""
    with pytest.raises(ValueError, match="no automatic reply"):
        reply_text(KeywordKind.NONE, "en", brand="Shop")


def test_blank_brand_is_refused() -> None:
    """A reply must say who sent it."""
    with pytest.raises(ValueError, match="brand"):
        reply_text(KeywordKind.HELP, "en", brand=" ")
