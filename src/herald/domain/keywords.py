"""Opt-out, opt-in and help keywords in inbound messages, per language.

`classify("Stop")` returns `KeywordMatch(kind=KeywordKind.OPT_OUT, keyword="STOP",
language="en")`; `classify("stop texting me please")` returns a match of kind `NONE`.

The matching rule is Twilio's: the whole message must be the keyword. Twilio's opt-out article
(help.twilio.com 223134027, "Twilio support for opt-out keywords (SMS STOP filtering)") says
that only single-word messages trigger the block, so "STOP PLEASE" and "PLEASE CANCEL" do not,
and that the keywords are not case-sensitive. Twilio documents nothing about punctuation or
surrounding spaces; Herald ignores both at the ends of the message ("Stop." and " STOP " are
STOP), because a person who answers that way means it, and an opt-out that is missed costs far
more than one honoured too eagerly. Accents are ignored too ("ARRÊT" is "ARRET").

Twilio handles these keywords only for US and Canadian long codes and toll-free numbers; for
every other country Herald must, so `DEFAULT_KEYWORDS` adds Dutch, German, French and Spanish
sets. A tenant may add or remove words and pass its own `KeywordSets`.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from herald.errors import ConfigurationError


class KeywordKind(enum.StrEnum):
    """What a keyword asks for. `NONE` means the message is not a keyword at all."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    NONE = "none"


@dataclasses.dataclass(frozen=True)
class KeywordMatch:
    """The result of `classify`: `keyword` and `language` are None when `kind` is `NONE`.

    `keyword` is spelled as in the `KeywordSets` (e.g. "ARRET" for a message "Arrêt !"), and
    `language` is the code the sets use (ISO 639-1 in the defaults).
    """

    kind: KeywordKind
    keyword: str | None = None
    language: str | None = None


NO_MATCH: Final = KeywordMatch(KeywordKind.NONE)
_KINDS: Final = (KeywordKind.OPT_OUT, KeywordKind.OPT_IN, KeywordKind.HELP)


def _as_words(words: Iterable[str], kind: KeywordKind) -> frozenset[str]:
    if isinstance(words, str):
        raise ConfigurationError(
            f"{kind.value} keywords must be a collection of words, not the single string "
            f"{words!r}; write [{words!r}]"
        )
    return frozenset(words)


@dataclasses.dataclass(frozen=True)
class LanguageKeywords:
    """The keywords of one language, one frozenset per kind (written as people would type them).

    Any iterable of words is accepted and stored as a frozenset; a bare string is refused, since
    it would otherwise become a set of letters.
    """

    language: str
    opt_out: frozenset[str] = frozenset()
    opt_in: frozenset[str] = frozenset()
    help: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for kind in _KINDS:
            object.__setattr__(self, kind.value, _as_words(getattr(self, kind.value), kind))

    def words(self, kind: KeywordKind) -> frozenset[str]:
        """The words of one kind (`NONE` has none)."""
        if kind is KeywordKind.OPT_OUT:
            return self.opt_out
        if kind is KeywordKind.OPT_IN:
            return self.opt_in
        if kind is KeywordKind.HELP:
            return self.help
        return frozenset()


@dataclasses.dataclass(frozen=True)
class _Entry:
    kind: KeywordKind
    spellings: tuple[tuple[str, str], ...]  # (language, word as configured), in set order


@dataclasses.dataclass(frozen=True)
class KeywordSets:
    """Keywords for several languages; the first language listed wins when a word is shared.

    Construction refuses a word (after normalisation) that is listed under two kinds, in the
    same language or in two languages, with a `ConfigurationError` naming both.
    """

    languages: tuple[LanguageKeywords, ...]
    _index: Mapping[str, _Entry] = dataclasses.field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", tuple(self.languages))
        index: dict[str, _Entry] = {}
        seen_languages: set[str] = set()
        for entry in self.languages:
            if not entry.language or entry.language in seen_languages:
                raise ConfigurationError(
                    f"keyword language {entry.language!r} is empty or listed twice; give each "
                    "language once, with all its words"
                )
            seen_languages.add(entry.language)
            for kind in _KINDS:
                for word in sorted(entry.words(kind)):
                    _add(index, normalise(word), kind, entry.language, word)
        object.__setattr__(self, "_index", types.MappingProxyType(index))

    def lookup(self, body: str, *, preferred_language: str | None = None) -> KeywordMatch:
        """Same as `classify(body, self, preferred_language=...)`."""
        entry = self._index.get(normalise(body))
        if entry is None:
            return NO_MATCH
        language, word = entry.spellings[0]
        for candidate_language, candidate_word in entry.spellings:
            if candidate_language == preferred_language:
                language, word = candidate_language, candidate_word
                break
        return KeywordMatch(entry.kind, word, language)

    def language(self, code: str) -> LanguageKeywords | None:
        """The keywords of one language, or None when it is not configured."""
        return next((entry for entry in self.languages if entry.language == code), None)

    def with_words(self, language: str, kind: KeywordKind, words: Iterable[str]) -> KeywordSets:
        """A copy with `words` added to `kind` in `language` (added as a new language if absent)."""
        return self._replace(language, kind, lambda current: current | _as_words(words, kind))

    def without_words(self, language: str, kind: KeywordKind, words: Iterable[str]) -> KeywordSets:
        """A copy with `words` removed from `kind` in `language`, compared after normalisation."""
        drop = {normalise(word) for word in _as_words(words, kind)}
        return self._replace(
            language,
            kind,
            lambda current: frozenset(word for word in current if normalise(word) not in drop),
        )

    def _replace(
        self,
        language: str,
        kind: KeywordKind,
        change: Callable[[frozenset[str]], frozenset[str]],
    ) -> KeywordSets:
        if kind is KeywordKind.NONE:
            raise ConfigurationError("keywords of kind NONE cannot be configured")
        current = self.language(language) or LanguageKeywords(language)
        words = {each: current.words(each) for each in _KINDS}
        words[kind] = change(words[kind])
        updated = LanguageKeywords(
            language,
            opt_out=words[KeywordKind.OPT_OUT],
            opt_in=words[KeywordKind.OPT_IN],
            help=words[KeywordKind.HELP],
        )
        if self.language(language) is None:
            return KeywordSets((*self.languages, updated))
        return KeywordSets(
            tuple(updated if entry.language == language else entry for entry in self.languages)
        )


def _add(index: dict[str, _Entry], key: str, kind: KeywordKind, language: str, word: str) -> None:
    if not key:
        raise ConfigurationError(
            f"keyword {word!r} ({language}, {kind.value}) is empty once spaces and punctuation "
            "are removed; use a word people can type"
        )
    entry = index.get(key)
    if entry is None:
        index[key] = _Entry(kind, ((language, word),))
        return
    if entry.kind is not kind:
        first_language, first_word = entry.spellings[0]
        raise ConfigurationError(
            f"keyword {word!r} ({language}) is both {kind.value} and {entry.kind.value} "
            f"(as {first_word!r}, {first_language}); a word can mean only one thing, so remove "
            "it from one of them"
        )
    index[key] = _Entry(kind, (*entry.spellings, (language, word)))


def _is_edge(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


def normalise(text: str) -> str:
    """`text` as keywords are compared: case-folded, accents removed, ends trimmed.

    Whitespace and punctuation are removed at both ends, and runs of whitespace inside collapse
    to one space (so a configured two-word keyword matches however it is spaced).
    """
    folded = unicodedata.normalize("NFKD", text.casefold())
    # The Turkish dotless i has no decomposition and survives case-folding, yet upper-cases to
    # "I"; mapping it to "i" keeps the comparison the same whatever the case of the message.
    bare = "".join(char for char in folded if not unicodedata.combining(char))
    bare = bare.replace("\u0131", "i")
    start, end = 0, len(bare)
    while start < end and _is_edge(bare[start]):
        start += 1
    while end > start and _is_edge(bare[end - 1]):
        end -= 1
    return " ".join(bare[start:end].split())


def _words(*words: str) -> frozenset[str]:
    return frozenset(words)


# English: Twilio's defaults for US/CA long codes. Opt-out and help from help.twilio.com 223134027;
# REVOKE and OPTOUT from the Advanced Opt-Out tutorial
# (twilio.com/docs/messaging/tutorials/advanced-opt-out), which lists them with the older six.
ENGLISH: Final = LanguageKeywords(
    "en",
    opt_out=_words("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
    opt_in=_words("START", "YES", "UNSTOP"),
    help=_words("HELP", "INFO"),
)

# Dutch: the SMS-Gedragscode (the Dutch operators' code of conduct for SMS services, tightened
# from 1 March 2008) requires that texting STOP or UIT ends a subscription; AFMELDEN and
# UITSCHRIJVEN are the everyday words for unsubscribing, AANMELDEN for subscribing.
DUTCH: Final = LanguageKeywords(
    "nl",
    opt_out=_words("STOP", "UIT", "AFMELDEN", "UITSCHRIJVEN"),
    opt_in=_words("START", "AANMELDEN"),
    help=_words("HELP", "INFO"),
)

# German: Austria's rules for SMS subscriptions (from 2007, reported by heise) make a free SMS
# "Stopp" or "Stop" end any subscription, and saferinternet.at tells people to send "Stopp";
# no German regulator's keyword list was found. ABMELDEN/ABBESTELLEN are the everyday verbs,
# ANMELDEN their opposite, HILFE the word for help.
GERMAN: Final = LanguageKeywords(
    "de",
    opt_out=_words("STOP", "STOPP", "ABMELDEN", "ABBESTELLEN"),
    opt_in=_words("START", "ANMELDEN"),
    help=_words("HILFE", "INFO"),
)

# French: the CWTA Canadian Common Short Code Application Guidelines make STOP, ARRET, HELP,
# AIDE and INFO mandatory on every Canadian short code; Twilio Proxy's opt-out list adds ARRETE
# (twilio.com/docs/proxy/opt-out-keywords). DESABONNER/DESINSCRIRE are the everyday verbs.
# No regulator publishes a French opt-in word, so only START is listed.
FRENCH: Final = LanguageKeywords(
    "fr",
    opt_out=_words("STOP", "ARRÊT", "ARRET", "ARRÊTE", "DÉSABONNER", "DÉSINSCRIRE"),
    opt_in=_words("START"),
    help=_words("AIDE", "INFO"),
)

# Spanish: the code of conduct for premium SMS services set by Spain's telecoms regulator (CMT)
# makes the word BAJA enough to cancel a subscription; ALTA is how Spanish services are joined.
# ALTO ("halt") is what US Spanish-language programmes commonly use (no regulator's text found),
# CANCELAR the everyday verb.
SPANISH: Final = LanguageKeywords(
    "es",
    opt_out=_words("BAJA", "ALTO", "CANCELAR"),
    opt_in=_words("ALTA"),
    help=_words("AYUDA", "INFO"),
)

DEFAULT_KEYWORDS: Final = KeywordSets((ENGLISH, DUTCH, GERMAN, FRENCH, SPANISH))


def classify(
    body: str,
    sets: KeywordSets = DEFAULT_KEYWORDS,
    *,
    preferred_language: str | None = None,
) -> KeywordMatch:
    """Whether the whole of `body` is an opt-out, opt-in or help keyword, and which.

    A word listed in several languages (STOP, INFO...) is reported in `preferred_language` when
    that language lists it (e.g. the recipient's language), else in the first language of `sets`.
    """
    return sets.lookup(body, preferred_language=preferred_language)
