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
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate
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
_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")


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
    empty body is one empty segment, as an SMS without text is still one message (Twilio's API
    refuses an empty `Body` before that matters, with error 21602).
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
        parts = (Part(text, length, length),)
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
    parts: tuple[Part, ...]
    if septets <= GSM7_SINGLE_SEPTETS:
        parts = (Part(text, septets, length),)
    else:
        # Every GSM-7 character is a grapheme of its own (CR LF being counted as two).
        parts = _split(text, range(1, length + 1), escapes, GSM7_MULTI_SEPTETS)
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


def _ucs2(text: str, *, smart_encoding: bool, smart_changed: bool) -> SegmentInfo:
    graphemes = _graphemes(text)
    astral = [match.start() for match in _ASTRAL.finditer(text)]
    units = len(text) + len(astral)
    parts: tuple[Part, ...]
    if units <= UCS2_SINGLE_UNITS:
        parts = (Part(text, units, len(graphemes)),)
    else:
        ends = list(accumulate(map(len, graphemes)))
        parts = _split(text, ends, astral, UCS2_MULTI_UNITS)
    # Multi-character graphemes are never in the set, so they count as culprits.
    non_gsm = tuple([grapheme for grapheme in graphemes if grapheme not in _GSM7_CHARS])
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


def _split(text: str, ends: Sequence[int], doubles: list[int], capacity: int) -> tuple[Part, ...]:
    """Cut `text` into segments of at most `capacity` units, each ending where a grapheme does.

    `ends` holds the offsets at which graphemes end, ascending; `doubles` the offsets of the
    characters that cost two units (an escape pair in GSM-7, a surrogate pair in UCS-2), so
    neither pair is ever cut. Only a grapheme longer than a whole segment (a long run of
    combining marks) is cut, between code points.
    """

    def units_before(offset: int) -> int:
        return offset + bisect_left(doubles, offset)

    def too_long(index: int) -> bool:
        grapheme_start = ends[index - 1] if index else 0
        return units_before(ends[index]) - units_before(grapheme_start) > capacity

    parts = []
    start = first = 0
    while start < len(text):
        units_at_start = units_before(start)
        limit = units_at_start + capacity
        # Each grapheme takes at least one unit: at most `capacity` of them can fit.
        hi = min(len(ends), first + capacity)
        last = bisect_right(ends, limit, lo=first, hi=hi, key=units_before)
        end = ends[last - 1] if last > first else start
        graphemes, first = last - first, last
        if first < len(ends) and too_long(first):
            # Fill the segment with as much of the over-long grapheme as fits.
            cut = bisect_right(range(end + 1, ends[first]), limit, key=units_before)
            end += cut
            graphemes += cut > 0
        parts.append(Part(text[start:end], units_before(end) - units_at_start, graphemes))
        start = end
    return tuple(parts)


def _suggestions(non_gsm: tuple[str, ...]) -> tuple[Suggestion, ...]:
    suggestions = []
    for grapheme, count in Counter(non_gsm).items():
        replacement = gsm7_lookalike(grapheme)
        smart = replacement is not None and smart_encode(grapheme) == replacement
        suggestions.append(Suggestion(grapheme, replacement, count, smart))
    return tuple(suggestions)
