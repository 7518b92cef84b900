"""Herald against every case of tests/data/segments-public.jsonl, computed by Twilio's calculator.

Records tagged `grapheme-legacy` (the calculator's out-of-date grapheme rules) or
`tail-overflow` (the calculator overfills a segment) are where Herald differs on purpose, as
docs/segments.md explains; for them the tests assert Herald's own rules instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import regex  # type: ignore[import-untyped]

from herald.domain.gsm7 import GSM7_BASIC, GSM7_EXTENSION
from herald.domain.segments import SegmentInfo, analyse

DATA = Path(__file__).parent.parent / "data" / "segments-public.jsonl"
RECORDS: list[dict[str, Any]] = [
    json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line.strip()
]
HERALD_DIFFERS = {"grapheme-legacy", "tail-overflow"}
AGREED = [record for record in RECORDS if not HERALD_DIFFERS & set(record["tags"])]
DIFFERING = [record for record in RECORDS if HERALD_DIFFERS & set(record["tags"])]
CAPACITY = {("GSM-7", True): 160, ("GSM-7", False): 153, ("UCS-2", True): 70, ("UCS-2", False): 67}


def _record_id(record: dict[str, Any]) -> str:
    return str(record["id"])


def _analyse(record: dict[str, Any]) -> SegmentInfo:
    return analyse(record["body"], smart_encoding=record["smart_encoding"])


def _current_graphemes(text: str) -> list[str]:
    """Extended grapheme clusters by today's Unicode rules, CR LF counted as two."""
    clusters: list[str] = regex.findall(r"\X", text)
    return [
        piece for cluster in clusters for piece in (cluster if cluster == "\r\n" else [cluster])
    ]


def test_the_reference_file_is_complete() -> None:
    """The copy of the reference holds all 90 cases, with both kinds represented."""
    assert (len(RECORDS), len(AGREED) > 0, len(DIFFERING) > 0) == (90, True, True)


@pytest.mark.parametrize("record", AGREED, ids=_record_id)
def test_agrees_with_twilio_calculator(record: dict[str, Any]) -> None:
    """Encoding, counts, culprits and the split match the calculator's figures exactly."""
    info = _analyse(record)
    observed: dict[str, object] = {
        "encoding": info.encoding,
        "segments": info.segments,
        "characters": info.characters,
        "unicode_scalars": info.unicode_scalars,
        "graphemes": info.graphemes,
        "non_gsm": list(info.non_gsm),
        "segment_chars": [part.graphemes for part in info.parts],
        "segment_units": [part.units for part in info.parts],
        "message_bits": info.message_bits,
        "total_bits": info.total_bits,
    }
    expected = {key: record[key] for key in observed}
    if record["smart_encoding"]:
        observed |= {"smart_body": info.body, "smart_changed": info.smart_changed}
        expected |= {"smart_body": record["smart_body"], "smart_changed": record["smart_changed"]}
    assert observed == expected


@pytest.mark.parametrize("record", DIFFERING, ids=_record_id)
def test_counts_current_grapheme_clusters(record: dict[str, Any]) -> None:
    """Herald counts and reports today's extended grapheme clusters, not the calculator's."""
    info = _analyse(record)
    clusters = _current_graphemes(info.body)
    culprits = [c for c in clusters if len(c) > 1 or c not in GSM7_BASIC | GSM7_EXTENSION]
    assert (info.graphemes, list(info.non_gsm)) == (len(clusters), culprits)


@pytest.mark.parametrize("record", DIFFERING, ids=_record_id)
def test_agrees_where_grapheme_rules_do_not_matter(record: dict[str, Any]) -> None:
    """Encoding, code points and the bits of text do not depend on how graphemes are cut."""
    info = _analyse(record)
    observed = (info.encoding, info.unicode_scalars, info.message_bits)
    assert observed == (record["encoding"], record["unicode_scalars"], record["message_bits"])


@pytest.mark.parametrize("record", DIFFERING, ids=_record_id)
def test_never_overfills_a_segment(record: dict[str, Any]) -> None:
    """Each part fits its segment and the parts put back together are the body."""
    info = _analyse(record)
    capacity = CAPACITY[info.encoding, info.segments == 1]
    assert all(part.units <= capacity for part in info.parts)
    assert "".join(part.text for part in info.parts) == info.body
