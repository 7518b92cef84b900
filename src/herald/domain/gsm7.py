"""The GSM-7 alphabet, Twilio's Smart Encoding map, and GSM-7 look-alikes for other characters.

The tables come from `data/sms-encoding.json` (GSM 03.38 as Twilio's segment calculator has it;
its `_source` note says where each part was taken from), loaded once at import.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from importlib import resources
from types import MappingProxyType
from typing import Final

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SMART_ENCODING_MAP",
    "extension_positions",
    "gsm7_lookalike",
    "is_gsm7",
    "is_gsm7_basic",
    "smart_encode",
]


def _load_tables() -> dict[str, object]:
    text = resources.files("herald.domain").joinpath("data/sms-encoding.json").read_text("utf-8")
    tables: dict[str, object] = json.loads(text)
    return tables


def _char(key: str) -> str:
    """`"U+00E9"` → `"é"`."""
    return chr(int(key.removeprefix("U+"), 16))


_TABLES: Final = _load_tables()
_BASIC: Final = _TABLES["gsm7_basic_unicode_to_septet"]
_EXTENSION: Final = _TABLES["gsm7_extension_unicode_to_escape_sequence"]
_SMART: Final = _TABLES["smart_encoding_map"]
assert isinstance(_BASIC, dict)
assert isinstance(_EXTENSION, dict)
assert isinstance(_SMART, dict)

#: Characters of the GSM 03.38 basic table: one septet each.
GSM7_BASIC: Final[frozenset[str]] = frozenset(_char(key) for key in _BASIC)
#: Characters of the extension table: two septets each (ESC, then the character's code).
GSM7_EXTENSION: Final[frozenset[str]] = frozenset(_char(key) for key in _EXTENSION)
#: What Smart Encoding puts in place of each character it knows ("" removes it).
SMART_ENCODING_MAP: Final = MappingProxyType(
    {_char(key): str(value) for key, value in _SMART.items()}
)

_SMART_TABLE: Final = {ord(char): value for char, value in SMART_ENCODING_MAP.items()}
# A regular-expression character class scans a body in C, several times faster than a
# frozenset.issuperset() over a str: this check is on the hot path of every analysis.
_GSM7_BASIC_ONLY: Final = re.compile("[" + re.escape("".join(sorted(GSM7_BASIC))) + "]*")
_GSM7_ONLY: Final = re.compile("[" + re.escape("".join(sorted(GSM7_BASIC | GSM7_EXTENSION))) + "]*")
_GSM7_EXTENSION_CHAR: Final = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")

# Letters with no Unicode decomposition whose usual transliteration is in GSM-7. The Greek
# capitals are the ones GSM 03.38 leaves out because they look exactly like Latin capitals.
_TRANSLITERATIONS: Final = MappingProxyType(
    {
        "\u0153": "oe",  # latin small ligature oe
        "\u0152": "OE",  # latin capital ligature oe
        "\u00f0": "d",  # latin small letter eth
        "\u00d0": "D",  # latin capital letter eth
        "\u00fe": "th",  # latin small letter thorn
        "\u00de": "Th",  # latin capital letter thorn
        "\u0142": "l",  # latin small letter l with stroke
        "\u0141": "L",  # latin capital letter l with stroke
        "\u0111": "d",  # latin small letter d with stroke
        "\u0110": "D",  # latin capital letter d with stroke
        "\u0127": "h",  # latin small letter h with stroke
        "\u0126": "H",  # latin capital letter h with stroke
        "\u0131": "i",  # latin small letter dotless i
        "\u0167": "t",  # latin small letter t with stroke
        "\u0166": "T",  # latin capital letter t with stroke
        "\u00a9": "(c)",  # copyright sign
        "\u00ae": "(R)",  # registered sign
        "\u0391": "A",  # greek capital letter alpha
        "\u0392": "B",  # greek capital letter beta
        "\u0395": "E",  # greek capital letter epsilon
        "\u0396": "Z",  # greek capital letter zeta
        "\u0397": "H",  # greek capital letter eta
        "\u0399": "I",  # greek capital letter iota
        "\u039a": "K",  # greek capital letter kappa
        "\u039c": "M",  # greek capital letter mu
        "\u039d": "N",  # greek capital letter nu
        "\u039f": "O",  # greek capital letter omicron
        "\u03a1": "P",  # greek capital letter rho
        "\u03a4": "T",  # greek capital letter tau
        "\u03a5": "Y",  # greek capital letter upsilon
        "\u03a7": "X",  # greek capital letter chi
    }
)
_MARKS: Final = frozenset({"Mn", "Me"})


def is_gsm7(text: str) -> bool:
    """Whether every character of `text` is in the GSM-7 basic or extension table."""
    return _GSM7_ONLY.fullmatch(text) is not None


def is_gsm7_basic(text: str) -> bool:
    """Whether every character of `text` is in the GSM-7 basic table (one septet each)."""
    return _GSM7_BASIC_ONLY.fullmatch(text) is not None


def extension_positions(text: str) -> list[int]:
    """Indexes of the characters of `text` that need the two-septet escape sequence."""
    return [match.start() for match in _GSM7_EXTENSION_CHAR.finditer(text)]


def smart_encode(text: str) -> str:
    """`text` as Twilio's Smart Encoding sends it: look-alikes replaced code point by code point."""
    return text.translate(_SMART_TABLE)


# The same few culprits (curly quotes, a handful of emoji) recur across bodies; the lookup
# normalises Unicode twice, so remembering answers is worth a small bounded cache.
@functools.lru_cache(maxsize=4096)
def gsm7_lookalike(grapheme: str) -> str | None:
    """The GSM-7 text that best stands in for a grapheme outside GSM-7, or None if none does.

    In order of preference: the same letter precomposed (`e` + U+0301 → `é`); a plain space or
    line break for any other space or line separator (Smart Encoding's two or seven spaces would
    cost extra septets); Smart Encoding's replacement; the letter without its accents or
    compatibility form (`ô` → `o`, `ﬁ` → `fi`, full-width letters → ASCII) or a common
    transliteration (`œ` → `oe`). Symbols, emoji and other scripts have none.
    """
    composed = unicodedata.normalize("NFC", grapheme)
    if composed != grapheme and is_gsm7(composed):
        return composed
    if len(grapheme) == 1:
        category = unicodedata.category(grapheme)
        if grapheme == "\t" or category == "Zs":
            return " "
        if category in {"Zl", "Zp"}:
            return "\n"
    smart = smart_encode(grapheme)
    if smart != grapheme and is_gsm7(smart):
        return smart
    plain = "".join(
        _TRANSLITERATIONS.get(char, char)
        for char in unicodedata.normalize("NFKD", grapheme)
        if unicodedata.category(char) not in _MARKS
    )
    plain = smart_encode(plain)
    if plain and is_gsm7(plain):
        return plain
    return None
