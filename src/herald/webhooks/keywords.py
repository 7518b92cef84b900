"""Keyword handling for inbound messages: the tenant's keyword sets, the sender's likely
language, the reply text, and whether Twilio already answered.

Herald acts on opt-out, opt-in and help keywords for every country (docs/keywords.md). Three
decisions are made here:

- **Tenant additions.** A tenant's `keyword_additions` map `opt_out`, `opt_in` or `help` (words
  in English) or `opt_out:nl` (words in that language) to lists of words. A word that would
  clash with another kind is left out with a warning, so one bad word does not disable the
  tenant's other words or the defaults.
- **Language.** Words such as STOP are listed in several languages; Herald reports (and
  answers) them in the language of the sender's country when that language lists the word, so
  a Dutch number texting STOP gets the Dutch confirmation.
- **Twilio's own handling.** On a US or Canadian long code or toll-free number Twilio itself
  acts on its English keywords and answers them (TWILIO-API.md §13). Herald still records the
  opt-out, but does not answer those words a second time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from herald.domain.keywords import (
    DEFAULT_KEYWORDS,
    ENGLISH,
    KeywordKind,
    KeywordMatch,
    KeywordSets,
    normalise,
)
from herald.domain.phone import Channel, parse_address
from herald.domain.problems import ProblemError
from herald.domain.records import Tenant
from herald.domain.replies import DEFAULT_LANGUAGE, reply_text
from herald.errors import ConfigurationError, InvalidInput

logger = logging.getLogger("herald.webhooks")

_NANP: Final = 1
_LANGUAGES_BY_REGION: Final[Mapping[str, str]] = {
    **dict.fromkeys(("NL", "BE", "SR", "AW", "CW", "SX", "BQ"), "nl"),
    **dict.fromkeys(("DE", "AT", "CH", "LI"), "de"),
    **dict.fromkeys(("FR", "MC", "LU", "RE", "GP", "MQ", "GF", "YT", "PM", "NC", "PF"), "fr"),
    **dict.fromkeys(
        (
            "ES", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "BO", "DO", "HN",
            "PY", "SV", "NI", "CR", "PA", "UY", "PR",
        ),
        "es",
    ),
}  # fmt: skip
_TWILIO_WORDS: Final = {
    kind: frozenset(normalise(word) for word in ENGLISH.words(kind))
    for kind in (KeywordKind.OPT_OUT, KeywordKind.OPT_IN, KeywordKind.HELP)
}


def tenant_keyword_sets(tenant: Tenant) -> KeywordSets:
    """Herald's default keyword sets with the tenant's additions."""
    sets = DEFAULT_KEYWORDS
    for key, words in tenant.settings.keyword_additions.items():
        kind_text, _, language = key.partition(":")
        try:
            kind = KeywordKind(kind_text)
        except ValueError:
            logger.warning("tenant %s: keyword additions %r: unknown kind", tenant.name, key)
            continue
        for word in words:
            try:
                sets = sets.with_words(language or DEFAULT_LANGUAGE, kind, [word])
            except ConfigurationError as exc:
                logger.warning("tenant %s: keyword %r left out: %s", tenant.name, word, exc.detail)
    return sets


def sender_language(from_: str) -> str | None:
    """The language of the sender's country, when Herald has keywords in it."""
    try:
        region = parse_address(from_).number.region
    except InvalidInput:
        return None
    return _LANGUAGES_BY_REGION.get(region or "")


def twilio_answers(to: str, match: KeywordMatch) -> bool:
    """Whether Twilio itself answered this keyword: one of its English words, sent by SMS to a
    US or Canadian number (not a short code, not WhatsApp)."""
    if match.keyword is None or match.kind is KeywordKind.NONE:
        return False
    try:
        address = parse_address(to)
    except InvalidInput:
        return False
    if address.channel is not Channel.SMS or address.number.country_code != _NANP:
        return False
    return normalise(match.keyword) in _TWILIO_WORDS[match.kind]


def keyword_reply(tenant: Tenant, match: KeywordMatch) -> str:
    """The confirmation or help text for `match`, in its language, with the tenant's texts."""
    settings = tenant.settings
    overrides = {
        kind.value: text
        for kind, text in (
            (KeywordKind.OPT_OUT, settings.opt_out_reply),
            (KeywordKind.OPT_IN, settings.opt_in_reply),
            (KeywordKind.HELP, settings.help_reply),
        )
        if text is not None
    }
    try:
        return reply_text(match.kind, match.language, brand=tenant.name, overrides=overrides)
    except ProblemError as exc:
        logger.warning("tenant %s: reply text unusable, default sent: %s", tenant.name, exc.detail)
        return reply_text(match.kind, match.language, brand=tenant.name)
