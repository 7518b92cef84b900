"""How an SMS body is encoded and split into segments, and how to make it cheaper.

    >>> info = analyse("Hello 👍")
    >>> info.encoding, info.segments, info.non_gsm
    ('UCS-2', 1, ('👍',))

The rules are those of Twilio's segment calculator (TwilioDevEd/message-segment-calculator,
`sms-segments-calculator` 1.3.0 on npm), with two deliberate differences documented in
docs/segments.md: graphemes follow the current Unicode rules, and no segment is ever overfilled.

* GSM-7 when every character is in the GSM-7 basic or extension table, else UCS-2 for the
  whole body. An extension character costs two septets.
* One segment holds 160 septets or 70 UTF-16 code units. A longer body is sent as concatenated
  segments whose 6-octet User Data Header leaves 153 septets or 67 code units each.
* A grapheme (user-perceived character) is never split across segments, so an escape pair or a
  surrogate pair never straddles a boundary either. CR LF counts as two characters, as Twilio
  counts it. A grapheme too long for any segment is split between code points.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_left
from typing import Any, Final, Literal

import regex  # type: ignore[import-untyped]

from herald.domain.gsm7 import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    extension_positions,
    gsm7_lookalike,
    is_gsm7,
    is_gsm7_basic,
    smart_encode,
)

__all__ = [
    "GSM7_MULTI_SEPTETS",
    "GSM7_SINGLE_SEPTETS",
    "UCS2_MULTI_UNITS",
    "UCS2_SINGLE_UNITS",
    "UDH_BITS",
    "Encoding",
    "Part",
    "SegmentInfo",
    "Suggestion",
    "analyse",
]

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_SINGLE_SEPTETS: Final = 160
GSM7_MULTI_SEPTETS: Final = 153
UCS2_SINGLE_UNITS: Final = 70
UCS2_MULTI_UNITS: Final = 67
#: The concatenation header each segment of a multipart message carries (6 octets).
UDH_BITS: Final = 48

_GSM7_CHARS: Final = GSM7_BASIC | GSM7_EXTENSION
_GRAPHEME: Final = regex.compile(r"\X")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_ASTRAL_MIN: Final = "\U00010000"


@dataclasses.dataclass(frozen=True, slots=True)
class Part:
    """One segment of a message: its text and the room it takes."""

    text: str
    #: Septets for a GSM-7 message, UTF-16 code units for a UCS-2 one.
    units: int
    #: Graphemes in this segment (a grapheme split because no segment can hold it counts once
    #: in each segment it spans).
    graphemes: int


@dataclasses.dataclass(frozen=True, slots=True)
class Suggestion:
    """A grapheme that forces UCS-2, and the GSM-7 text that could stand in for it."""

    grapheme: str
    #: GSM-7 text to put in its place ("" deletes it), or None when it has no GSM-7 look-alike.
    replacement: str | None
    #: How many times the grapheme occurs in the body.
    count: int
    #: Whether Twilio's Smart Encoding makes this very replacement by itself.
    smart_encoding: bool


@dataclasses.dataclass(frozen=True, slots=True)
class SegmentInfo:
    """What sending one body as an SMS takes."""

    #: The text as it would be sent: after Smart Encoding when that was asked for.
    body: str
    encoding: Encoding
    segments: int
    parts: tuple[Part, ...]
    #: Characters as Twilio's calculator counts them: septets for GSM-7 (an extension character
    #: counts two), graphemes for UCS-2.
    characters: int
    unicode_scalars: int
    graphemes: int
    #: Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole body.
    units: int
    #: The graphemes that force UCS-2, in order of appearance, repeats included.
    non_gsm: tuple[str, ...] = ()
    smart_encoding: bool = False
    #: Whether Smart Encoding changed the body.
    smart_changed: bool = False
    #: One entry per distinct grapheme of `non_gsm`, in order of first appearance.
    suggestions: tuple[Suggestion, ...] = ()
    #: The body with every suggestion applied, when each culprit has one (the result is GSM-7).
    gsm_alternative: SegmentInfo | None = None

    @property
    def unit_name(self) -> str:
        """What `units` counts: "septets" or "code units"."""
        return "septets" if self.encoding == "GSM-7" else "code units"

    @property
    def message_bits(self) -> int:
        """Bits of text, headers excluded."""
        return self.units * (7 if self.encoding == "GSM-7" else 16)

    @property
    def total_bits(self) -> int:
        """Bits on the air, concatenation headers included."""
        return self.message_bits + (UDH_BITS * self.segments if self.segments > 1 else 0)

    @property
    def segments_saved(self) -> int | None:
        """Segments saved by `gsm_alternative` (negative if it costs more), None without one."""
        if self.gsm_alternative is None:
            return None
        return self.segments - self.gsm_alternative.segments

    def as_dict(self) -> dict[str, Any]:
        """The analysis as JSON-ready values."""
        alternative = self.gsm_alternative
        return {
            "body": self.body,
            "encoding": self.encoding,
            "segments": self.segments,
            "characters": self.characters,
            "unicode_scalars": self.unicode_scalars,
            "graphemes": self.graphemes,
            "units": self.units,
            "unit_name": self.unit_name,
            "message_bits": self.message_bits,
            "total_bits": self.total_bits,
            "non_gsm": list(self.non_gsm),
            "smart_encoding": self.smart_encoding,
            "smart_changed": self.smart_changed,
            "parts": [dataclasses.asdict(part) for part in self.parts],
            "suggestions": [dataclasses.asdict(suggestion) for suggestion in self.suggestions],
            "segments_saved": self.segments_saved,
            "gsm_alternative": None if alternative is None else alternative.as_dict(),
        }


def analyse(body: str, *, smart_encoding: bool = False) -> SegmentInfo:
    """Encoding, segments and cheaper alternatives for sending `body` as one SMS.

    With `smart_encoding`, the body is first rewritten as Twilio's Smart Encoding would. An
    empty body has no segments (Twilio refuses to send one).
    """
    if is_gsm7_basic(body):
        # The common case, with no per-character Python loop; Smart Encoding never changes a
        # GSM-7 character, so it cannot change this body.
        return _gsm7_basic(body, smart_encoding=smart_encoding)
    text = smart_encode(body) if smart_encoding else body
    smart_changed = text != body
    if _SURROGATE.search(text):
        # A JavaScript string, like the one Twilio's calculator sees, is UTF-16: a high and a
        # low surrogate side by side are one character there, so join them here too.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    if is_gsm7(text):
        return _gsm7(text, smart_encoding=smart_encoding, smart_changed=smart_changed)
    return _ucs2(text, smart_encoding=smart_encoding, smart_changed=smart_changed)


def _gsm7_basic(text: str, *, smart_encoding: bool) -> SegmentInfo:
    length = len(text)
    parts: tuple[Part, ...]
    if length <= GSM7_SINGLE_SEPTETS:
        parts = (Part(text, length, length),) if length else ()
    else:
        step = GSM7_MULTI_SEPTETS
        parts = tuple(
            Part(text[start : start + step], min(step, length - start), min(step, length - start))
            for start in range(0, length, step)
        )
    return SegmentInfo(
        body=text,
        encoding="GSM-7",
        segments=len(parts),
        parts=parts,
        characters=length,
        unicode_scalars=length,
        graphemes=length,
        units=length,
        smart_encoding=smart_encoding,
    )


def _gsm7(text: str, *, smart_encoding: bool, smart_changed: bool) -> SegmentInfo:
    escapes = extension_positions(text)
    length = len(text)
    septets = length + len(escapes)
    if septets <= GSM7_SINGLE_SEPTETS:
        parts: tuple[Part, ...] = (Part(text, septets, length),) if length else ()
    else:
        parts = _split_gsm7(text, escapes)
    # Every GSM-7 character is a grapheme of its own (CR LF being counted as two).
    return SegmentInfo(
        body=text,
        encoding="GSM-7",
        segments=len(parts),
        parts=parts,
        characters=septets,
        unicode_scalars=length,
        graphemes=length,
        units=septets,
        smart_encoding=smart_encoding,
        smart_changed=smart_changed,
    )


def _split_gsm7(text: str, escapes: list[int]) -> tuple[Part, ...]:
    """Concatenated segments of at most 153 septets, never cutting an escape pair."""
    escape_set = set(escapes)
    parts = []
    start, length = 0, len(text)
    while start < length:
        end = min(length, start + GSM7_MULTI_SEPTETS)
        first = bisect_left(escapes, start)
        extra = bisect_left(escapes, end, lo=first) - first
        while end - start + extra > GSM7_MULTI_SEPTETS:
            end -= 1
            if end in escape_set:
                extra -= 1
        parts.append(Part(text[start:end], end - start + extra, end - start))
        start = end
    return tuple(parts)


def _ucs2(text: str, *, smart_encoding: bool, smart_changed: bool) -> SegmentInfo:
    graphemes = _graphemes(text)
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    parts: tuple[Part, ...]
    if units <= UCS2_SINGLE_UNITS:
        parts = (Part(text, units, len(graphemes)),)
    elif units == len(graphemes):
        # One code unit per grapheme: segments are plain slices.
        step = UCS2_MULTI_UNITS
        parts = tuple(
            Part(text[start : start + step], min(step, units - start), min(step, units - start))
            for start in range(0, units, step)
        )
    else:
        parts = _split_ucs2(graphemes)
    non_gsm = tuple(g for g in graphemes if len(g) > 1 or g not in _GSM7_CHARS)
    suggestions = _suggestions(non_gsm)
    alternative = None
    replace = {s.grapheme: s.replacement for s in suggestions if s.replacement is not None}
    if len(replace) == len(suggestions):
        replaced = "".join(replace.get(g, g) for g in graphemes)
        # A body of nothing but deletable characters (zero-width spaces) has no alternative: an
        # empty message cannot be sent.
        if replaced:
            alternative = analyse(replaced)
            assert alternative.encoding == "GSM-7"
    return SegmentInfo(
        body=text,
        encoding="UCS-2",
        segments=len(parts),
        parts=parts,
        characters=len(graphemes),
        unicode_scalars=len(text),
        graphemes=len(graphemes),
        units=units,
        non_gsm=non_gsm,
        smart_encoding=smart_encoding,
        smart_changed=smart_changed,
        suggestions=suggestions,
        gsm_alternative=alternative,
    )


def _graphemes(text: str) -> list[str]:
    """Extended grapheme clusters, except that CR LF is two, as Twilio counts it."""
    clusters: list[str] = _GRAPHEME.findall(text)
    if "\r\n" in text:
        clusters = [piece for cluster in clusters for piece in _split_crlf(cluster)]
    return clusters


def _split_crlf(cluster: str) -> tuple[str, ...]:
    return ("\r", "\n") if cluster == "\r\n" else (cluster,)


def _code_units(grapheme: str) -> int:
    return len(grapheme) + sum(1 for char in grapheme if char >= _ASTRAL_MIN)


def _split_ucs2(graphemes: list[str]) -> tuple[Part, ...]:
    """Concatenated segments of at most 67 code units, never cutting a grapheme that fits."""
    parts = []
    pieces: list[str] = []
    used = counted = 0
    for grapheme in graphemes:
        size = _code_units(grapheme)
        # A grapheme longer than a whole segment (a long run of combining marks) cannot stay
        # whole; it is split between code points, which keeps surrogate pairs together.
        atoms = [(grapheme, size)] if size <= UCS2_MULTI_UNITS else _code_points(grapheme)
        new_grapheme = True
        for atom, atom_size in atoms:
            if used + atom_size > UCS2_MULTI_UNITS:
                parts.append(Part("".join(pieces), used, counted))
                pieces, used, counted, new_grapheme = [], 0, 0, True
            pieces.append(atom)
            used += atom_size
            counted += new_grapheme
            new_grapheme = False
    parts.append(Part("".join(pieces), used, counted))
    return tuple(parts)


def _code_points(grapheme: str) -> list[tuple[str, int]]:
    return [(char, 2 if char >= _ASTRAL_MIN else 1) for char in grapheme]


def _suggestions(non_gsm: tuple[str, ...]) -> tuple[Suggestion, ...]:
    counts: dict[str, int] = {}
    for grapheme in non_gsm:
        counts[grapheme] = counts.get(grapheme, 0) + 1
    suggestions = []
    for grapheme, count in counts.items():
        replacement = gsm7_lookalike(grapheme)
        smart = replacement is not None and smart_encode(grapheme) == replacement
        suggestions.append(Suggestion(grapheme, replacement, count, smart))
    return tuple(suggestions)
