"""The input guard's pre-scan never lets a fault through that a full parse would find."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from herald.api.input_guard import body_fault, parsed_fault

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=20)
)
DOCUMENTS = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(document=DOCUMENTS, escaped=st.booleans())
def test_the_pre_scan_agrees_with_a_full_parse(document: object, *, escaped: bool) -> None:
    """Any JSON document, escaped or not: the same fault (or none) either way."""
    text = json.dumps(document, ensure_ascii=escaped)
    body = text.encode("utf-8", errors="surrogatepass")
    assert body_fault(body) == parsed_fault(body)


def test_overflowing_numbers_are_found_in_every_spelling() -> None:
    """Exponents of any case and sign, and 300-digit numbers, are all parsed and refused."""
    for number in ["1e400", "1E+400", "-2.5e0400", "1" * 400 + ".5"]:
        body = f'{{"n": {number}}}'.encode()
        assert body_fault(body) == (
            "n",
            "is a number too large for JSON (it overflows a double)",
        )
