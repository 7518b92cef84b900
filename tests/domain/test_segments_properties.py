"""Properties of SMS segmentation that hold for any body."""

from __future__ import annotations

import unicodedata

import regex  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from herald.domain.gsm7 import GSM7_BASIC, GSM7_EXTENSION, SMART_ENCODING_MAP
from herald.domain.segments import (
    GSM7_MULTI_SEPTETS,
    GSM7_SINGLE_SEPTETS,
    UCS2_MULTI_UNITS,
    UCS2_SINGLE_UNITS,
    SegmentInfo,
    analyse,
)

GSM7_CHARS = sorted(GSM7_BASIC | GSM7_EXTENSION)
gsm_text = st.lists(
    st.builds(str.__mul__, st.sampled_from(GSM7_CHARS), st.integers(1, 80)), max_size=8
).map("".join)
# Any text, weighted towards what moves segment boundaries: extension characters, emoji,
# combining marks, ZWJ sequences, flags, CR LF, Smart Encoding look-alikes, lone surrogates.
awkward = st.sampled_from(
    ["€", "[", "😀", "\u0301", "\u200d", "👩\u200d👩\u200d👦", "🇩🇪", "\r\n", "“", "\t", "\udbff"]
)
# Runs of one piece make bodies long enough to span several segments.
runs = st.builds(
    str.__mul__,
    st.one_of(st.characters(), st.sampled_from(GSM7_CHARS), awkward),
    st.integers(1, 80),
)
any_text = st.lists(runs, max_size=12).map("".join)
# Smart Encoding entries that replace one character by at most one and are not combining marks
# (a removed mark could merge two graphemes), mixed with GSM-7 and with characters it keeps.
# Multi-character replacements are left out: a tab becomes seven spaces, which can cost
# segments (see test_smart_encoding_can_cost_segments).
SHORT_SMART = sorted(
    char
    for char, replacement in SMART_ENCODING_MAP.items()
    if len(replacement) <= 1 and unicodedata.category(char) not in {"Mn", "Me"}
)
smartable_text = st.lists(
    st.builds(
        str.__mul__,
        st.sampled_from([*GSM7_CHARS, *SHORT_SMART, "Ж", "好", "😀"]),
        st.integers(1, 80),
    ),
    max_size=8,
).map("".join)


def _capacity(encoding: str, segments: int) -> int:
    if encoding == "GSM-7":
        return GSM7_SINGLE_SEPTETS if segments == 1 else GSM7_MULTI_SEPTETS
    return UCS2_SINGLE_UNITS if segments == 1 else UCS2_MULTI_UNITS


@given(gsm_text, gsm_text)
def test_segment_count_never_falls_as_a_gsm_body_grows(body: str, more: str) -> None:
    """Appending GSM-7 characters never lowers the segment count."""
    assert analyse(body).segments <= analyse(body + more).segments


@given(body=any_text, smart=st.booleans())
def test_no_part_exceeds_its_segment(body: str, *, smart: bool) -> None:
    """Every part fits in the capacity of its encoding and message length."""
    info = analyse(body, smart_encoding=smart)
    capacity = _capacity(info.encoding, info.segments)
    assert all(part.units <= capacity for part in info.parts)
    assert all(part.text for part in info.parts) or info.body == ""


@given(body=any_text, smart=st.booleans())
def test_parts_put_back_together_are_the_sent_body(body: str, *, smart: bool) -> None:
    """Concatenating the parts' texts gives back the body as sent, and their sizes its size."""
    info = analyse(body, smart_encoding=smart)
    assert "".join(part.text for part in info.parts) == info.body
    assert sum(part.units for part in info.parts) == info.units


@given(any_text)
def test_gsm7_exactly_when_every_grapheme_is_in_the_tables(body: str) -> None:
    """The encoding is GSM-7 if and only if each grapheme is one GSM-7 character."""
    clusters: list[str] = regex.findall(r"\X", body)
    # Twilio counts CR LF, one cluster for Unicode, as two characters.
    in_tables = all(c == "\r\n" or c in GSM7_BASIC | GSM7_EXTENSION for c in clusters)
    assert (analyse(body).encoding == "GSM-7") == in_tables


@given(smartable_text)
def test_smart_encoding_never_adds_segments(body: str) -> None:
    """Smart Encoding with one-for-one replacements never raises the segment count."""
    assert analyse(body, smart_encoding=True).segments <= analyse(body).segments


def _units(text: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return len(text) + sum(1 for char in text if char in GSM7_EXTENSION)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _greedy_parts(info: SegmentInfo) -> list[tuple[str, int]]:
    """The split done the slow, obvious way: fill each segment grapheme by grapheme."""
    clusters: list[str] = regex.findall(r"\X", info.body)
    clusters = [c for cluster in clusters for c in (cluster if cluster == "\r\n" else [cluster])]
    capacity = _capacity(info.encoding, info.segments)
    parts: list[tuple[str, int]] = []
    text, used = "", 0
    for cluster in clusters:
        too_long = _units(cluster, info.encoding) > capacity
        for atom in list(cluster) if too_long else [cluster]:
            size = _units(atom, info.encoding)
            if used + size > capacity:
                parts.append((text, used))
                text, used = "", 0
            text, used = text + atom, used + size
    return [*parts, (text, used)] if text or not parts else parts


@given(body=any_text, smart=st.booleans())
def test_split_is_greedy_grapheme_packing(body: str, *, smart: bool) -> None:
    """Each segment takes as many whole graphemes as fit, the next one starting where it ends."""
    info = analyse(body, smart_encoding=smart)
    assert [(part.text, part.units) for part in info.parts] == _greedy_parts(info)
