"""SMS encoding and segmentation: the rules, one behaviour per test."""

from __future__ import annotations

import json

import pytest

from herald.domain import segments
from herald.domain.segments import Part, Suggestion, analyse

FAMILY = "👩\u200d👩\u200d👦"  # one grapheme, 8 UTF-16 code units


def test_all_lists_the_public_names() -> None:
    """`__all__` names exactly the public API, and every name in it exists."""
    assert sorted(segments.__all__) == [
        "Encoding",
        "GSM7_MULTI_SEPTETS",
        "GSM7_SINGLE_SEPTETS",
        "Part",
        "SegmentInfo",
        "Suggestion",
        "UCS2_MULTI_UNITS",
        "UCS2_SINGLE_UNITS",
        "UDH_BITS",
        "analyse",
    ]
    assert all(hasattr(segments, name) for name in segments.__all__)


def test_160_gsm_characters_fit_one_segment() -> None:
    """160 basic GSM-7 characters are one segment of 160 septets."""
    info = analyse("a" * 160)
    assert (info.encoding, info.segments, info.parts) == ("GSM-7", 1, (Part("a" * 160, 160, 160),))


def test_161_gsm_characters_need_two_segments_of_153_and_8() -> None:
    """One septet over 160 makes a concatenated message of 153-septet segments."""
    info = analyse("a" * 161)
    assert [part.units for part in info.parts] == [153, 8]


def test_306_gsm_characters_fill_two_segments_exactly() -> None:
    """Two concatenated segments carry 306 septets; the 307th opens a third."""
    assert (analyse("a" * 306).segments, analyse("a" * 307).segments) == (2, 3)


def test_extension_characters_cost_two_septets() -> None:
    """`[]{}` are four characters but eight septets."""
    info = analyse("[]{}")
    assert (info.encoding, info.units, info.characters, info.graphemes) == ("GSM-7", 8, 8, 4)


def test_80_euro_signs_fit_one_segment_and_81_do_not() -> None:
    """80 euro signs are exactly 160 septets; 81 need two segments."""
    assert (analyse("€" * 80).segments, analyse("€" * 81).segments) == (1, 2)


def test_escape_pair_never_straddles_a_segment_boundary() -> None:
    """An extension character that would end on septet 154 moves whole to the next segment."""
    info = analyse("a" * 152 + "€" + "b" * 10)
    assert [part.units for part in info.parts] == [152, 12]
    assert info.parts[1].text == "€" + "b" * 10


def test_extension_character_ending_on_septet_153_stays() -> None:
    """An extension character whose escape pair ends exactly on septet 153 stays in place."""
    info = analyse("a" * 151 + "€" + "b" * 10)
    assert info.parts[0].text.endswith("€")
    assert info.parts[0].units == 153


def test_70_ucs2_code_units_fit_one_segment() -> None:
    """70 UCS-2 code units are one segment."""
    info = analyse("Ж" * 70)
    assert (info.encoding, info.segments, info.units) == ("UCS-2", 1, 70)


def test_71_ucs2_code_units_need_two_segments_of_67_and_4() -> None:
    """One code unit over 70 makes a concatenated message of 67-unit segments."""
    assert [part.units for part in analyse("Ж" * 71).parts] == [67, 4]


def test_surrogate_pair_never_straddles_a_segment_boundary() -> None:
    """An emoji that would occupy units 67 and 68 moves whole to the next segment."""
    info = analyse("Ж" * 66 + "😊" + "Ж" * 8)
    assert [part.units for part in info.parts] == [66, 10]
    assert info.parts[1].text.startswith("😊")


def test_grapheme_cluster_is_never_split_when_it_fits_a_segment() -> None:
    """A ZWJ family emoji moves whole to the next segment rather than being cut."""
    info = analyse("Ж" * 62 + FAMILY + "Ж" * 5)
    assert [(part.units, part.graphemes) for part in info.parts] == [(62, 62), (13, 6)]


def test_grapheme_longer_than_a_segment_is_split_between_code_points() -> None:
    """A grapheme of 101 code units fills segments up to 67 units and loses nothing."""
    body = "x" + "\u0301" * 100
    info = analyse(body)
    assert [part.units for part in info.parts] == [67, 34]
    assert "".join(part.text for part in info.parts) == body


def test_split_grapheme_counts_once_in_each_segment_it_spans() -> None:
    """The pieces of an over-long grapheme count as one grapheme per segment."""
    info = analyse("ab" + "\u0301" * 100)
    assert [part.graphemes for part in info.parts] == [2, 1]


def test_emoji_in_ucs2_costs_two_code_units() -> None:
    """`Hello 👍` is UCS-2, 7 characters, 8 code units, one segment."""
    info = analyse("Hello 👍")
    assert (info.encoding, info.characters, info.units, info.segments) == ("UCS-2", 7, 8, 1)


def test_35_emoji_fit_one_segment_and_36_do_not() -> None:
    """35 emoji are 70 code units (one segment); 36 need two."""
    assert (analyse("😀" * 35).segments, analyse("😀" * 36).segments) == (1, 2)


def test_extension_character_costs_one_code_unit_in_ucs2() -> None:
    """In a UCS-2 body `]` is one UTF-16 code unit, not an escape pair."""
    assert analyse("ï]").units == 2


def test_one_non_gsm_character_makes_the_whole_body_ucs2() -> None:
    """A single `ç` (lower case is not in GSM-7) turns a GSM body into UCS-2."""
    assert analyse("Ça va, garçon?").encoding == "UCS-2"


def test_upper_case_c_cedilla_is_gsm() -> None:
    """`Ç` is in the GSM-7 basic table."""
    assert analyse("Ça va").encoding == "GSM-7"


def test_crlf_counts_as_two_gsm_characters() -> None:
    """CR LF is two septets and two graphemes, as Twilio counts it."""
    info = analyse("Hi\r\nthere")
    assert (info.encoding, info.characters, info.graphemes) == ("GSM-7", 9, 9)


def test_crlf_counts_as_two_graphemes_in_ucs2() -> None:
    """In a UCS-2 body CR and LF are still two graphemes."""
    assert analyse("ï\r\nx").graphemes == 4


def test_lone_surrogate_is_one_non_gsm_code_unit() -> None:
    """A lone surrogate is one UCS-2 code unit and is reported as the culprit."""
    info = analyse("x\udbffy")
    assert (info.encoding, info.units, info.non_gsm) == ("UCS-2", 3, ("\udbff",))


def test_adjacent_surrogate_halves_are_one_character() -> None:
    """A high and a low surrogate side by side are read as the character they encode."""
    info = analyse("\ud83d\ude00")
    assert (info.body, info.unicode_scalars, info.graphemes) == ("😀", 1, 1)


def test_non_gsm_lists_graphemes_in_order_with_repeats() -> None:
    """`non_gsm` holds each culprit grapheme where it occurs, combining marks included."""
    info = analyse("nai\u0308ve ô ô")
    assert info.non_gsm == ("i\u0308", "ô", "ô")


def test_gsm_body_has_no_culprits_and_no_alternative() -> None:
    """A GSM-7 body has no culprits, no suggestions and no alternative."""
    info = analyse("Schöne Grüße aus Köln")
    assert (info.non_gsm, info.suggestions, info.gsm_alternative) == ((), (), None)


def test_empty_body_is_one_empty_segment() -> None:
    """An empty body is still one message: one segment with no text."""
    info = analyse("")
    assert (info.segments, info.parts) == (1, (Part("", 0, 0),))


def test_body_that_smart_encoding_empties_is_one_empty_segment() -> None:
    """A body of zero-width spaces is deleted by Smart Encoding and leaves one empty segment."""
    info = analyse("\u200b\u200b", smart_encoding=True)
    assert (info.body, info.encoding, info.segments, info.units) == ("", "GSM-7", 1, 0)


def test_bits_include_headers_only_when_concatenated() -> None:
    """`total_bits` adds 48 bits per segment only for a multipart message."""
    single, multi = analyse("a" * 160), analyse("Ж" * 71)
    assert (single.message_bits, single.total_bits) == (1120, 1120)
    assert (multi.message_bits, multi.total_bits) == (1136, 1136 + 2 * 48)


def test_smart_encoding_is_off_by_default() -> None:
    """Without `smart_encoding` curly quotes stay and force UCS-2."""
    info = analyse("“Hi”")
    assert (info.encoding, info.body, info.smart_changed) == ("UCS-2", "“Hi”", False)


def test_smart_encoding_replaces_look_alikes() -> None:
    """Smart Encoding turns quotes, dashes and ellipses into GSM-7 and says it did."""
    info = analyse("“See you” — it\u2019s fine…", smart_encoding=True)
    assert (info.encoding, info.body) == ("GSM-7", '"See you" - it\'s fine...')
    assert info.smart_changed


def test_smart_encoding_keeps_unmapped_characters() -> None:
    """Full-width lower-case letters are not in the Smart Encoding map."""
    info = analyse("\uff28\uff49", smart_encoding=True)  # full-width H, i
    assert (info.body, info.non_gsm) == ("H\uff49", ("\uff49",))


def test_smart_encoding_can_cost_segments() -> None:
    """Smart Encoding writes a tab as seven spaces, which can need more segments."""
    body = "\t" * 70
    assert (analyse(body).segments, analyse(body, smart_encoding=True).segments) == (1, 4)


def test_smart_encoding_of_a_gsm_body_changes_nothing() -> None:
    """A GSM-7 body is sent as is with Smart Encoding on."""
    info = analyse("Hello", smart_encoding=True)
    assert (info.body, info.smart_changed, info.smart_encoding) == ("Hello", False, True)


def test_suggestion_from_smart_encoding_is_flagged() -> None:
    """A curly quote is suggested as `"`, which Smart Encoding also does."""
    expected = (Suggestion("“", '"', 1, smart_encoding=True),)
    assert analyse("“x").suggestions == expected


def test_suggestion_counts_repeats() -> None:
    """A culprit that occurs three times is one suggestion with a count of three."""
    assert [(s.grapheme, s.count) for s in analyse("ô-ô-ô").suggestions] == [("ô", 3)]


def test_suggests_unaccented_letter() -> None:
    """`ô` has no GSM-7 form; `o` is suggested, which Smart Encoding does not do."""
    assert analyse("ô").suggestions == (Suggestion("ô", "o", 1, smart_encoding=False),)


def test_suggests_precomposed_letter_for_combining_sequence() -> None:
    """`e` + combining acute is suggested as the GSM-7 letter `é`."""
    assert analyse("e\u0301").suggestions[0].replacement == "é"


def test_suggests_one_space_for_a_no_break_space() -> None:
    """A no-break space is suggested as one space, not Smart Encoding's two."""
    assert analyse("5\xa0pm").suggestions == (Suggestion("\xa0", " ", 1, smart_encoding=False),)


def test_suggests_deleting_a_zero_width_space() -> None:
    """A zero-width space is suggested for deletion, as Smart Encoding does."""
    assert analyse("in\u200bvisible").suggestions[0].replacement == ""


@pytest.mark.parametrize(
    ("grapheme", "replacement"),
    [("\uff49", "i"), ("ﬁ", "fi"), ("œ", "oe"), ("\u0391", "A"), ("¼", "1/4"), ("©", "(c)")],
)
def test_suggests_gsm_lookalikes(grapheme: str, replacement: str) -> None:
    """Compatibility forms, ligatures, Latin-looking Greek capitals and symbols have look-alikes."""
    assert analyse(grapheme).suggestions[0].replacement == replacement


def test_emoji_has_no_suggestion() -> None:
    """An emoji has no GSM-7 look-alike."""
    assert analyse("Thanks 🙏").suggestions == (Suggestion("🙏", None, 1, smart_encoding=False),)


def test_gsm_alternative_reports_segments_saved() -> None:
    """Replacing one `ô` in a 101-character body saves a segment."""
    info = analyse("ô" + "a" * 100)
    assert info.gsm_alternative is not None
    assert (info.gsm_alternative.body, info.gsm_alternative.encoding) == ("o" + "a" * 100, "GSM-7")
    assert (info.segments, info.segments_saved) == (2, 1)


def test_no_gsm_alternative_when_a_culprit_has_no_lookalike() -> None:
    """With an emoji in the body there is no GSM-7 alternative and no saving to report."""
    info = analyse("ô 🙏")
    assert (info.gsm_alternative, info.segments_saved) == (None, None)


def test_no_gsm_alternative_when_nothing_would_be_left() -> None:
    """A body of zero-width spaces has no alternative: deleting them leaves nothing to send."""
    assert analyse("\u200b\u200b").gsm_alternative is None


def test_as_dict_is_json_ready() -> None:
    """`as_dict()` survives a JSON round trip and nests the alternative."""
    document = json.loads(json.dumps(analyse("ô" + "a" * 100).as_dict()))
    assert document["segments"] == 2
    assert document["parts"][0] == {"text": "ô" + "a" * 66, "units": 67, "graphemes": 67}
    assert document["gsm_alternative"]["encoding"] == "GSM-7"
    assert document["suggestions"] == [
        {"grapheme": "ô", "replacement": "o", "count": 1, "smart_encoding": False}
    ]
