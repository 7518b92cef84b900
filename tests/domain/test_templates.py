"""Tenant templates fill `{{name}}` placeholders, refuse missing variables and bad bodies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.domain import templates
from herald.domain.phone import Channel
from herald.domain.problems import ProblemError
from herald.domain.templates import MAX_LITERAL_LENGTH, Template, render, unused_variables


def _refusal(body: str, name: str = "t") -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        Template(name, body)
    assert caught.value.code == "invalid_template"
    return caught.value


def test_all_names_exactly_the_public_api() -> None:
    """`__all__` names exactly the public API, and every name in it exists."""
    assert sorted(templates.__all__) == [
        "MAX_LITERAL_LENGTH",
        "Template",
        "render",
        "unused_variables",
    ]
    assert all(hasattr(templates, name) for name in templates.__all__)


def test_placeholder_is_replaced_by_its_value() -> None:
    """`{{name}}` becomes the variable's value."""
    assert render(Template("hi", "Hi {{name}}!"), {"name": "Ana"}) == "Hi Ana!"


def test_whitespace_inside_braces_is_tolerated() -> None:
    """Spaces, tabs and newlines around the name inside the braces are ignored."""
    template = Template("hi", "Hi {{ name\t}} and {{\nname }}")
    assert render(template, {"name": "Ana"}) == "Hi Ana and Ana"


def test_dotted_names_are_single_keys() -> None:
    """`{{order.id}}` is filled by the variable named `order.id`."""
    template = Template("shipped", "Order {{order.id}} shipped")
    assert render(template, {"order.id": "A-17"}) == "Order A-17 shipped"


def test_names_may_hold_digits_and_underscores() -> None:
    """Letters, digits and underscores make a name, as in Twilio's `{{1}}`."""
    template = Template("t", "{{1}} {{first_name}} {{line_2}}")
    assert render(template, {"1": "a", "first_name": "b", "line_2": "c"}) == "a b c"


def test_placeholders_are_listed_once_in_order_of_appearance() -> None:
    """`placeholders` names each variable once, first appearance first."""
    template = Template("t", "{{b}} {{a}} {{b}}")
    assert template.placeholders == ("b", "a")


def test_repeated_placeholder_is_filled_everywhere() -> None:
    """A variable used twice is inserted twice."""
    assert render(Template("t", "{{x}}-{{x}}"), {"x": "7"}) == "7-7"


def test_missing_variable_is_refused_never_left_empty() -> None:
    """A missing variable raises `missing_template_variable`, not an empty string."""
    with pytest.raises(ProblemError) as caught:
        render(Template("otp", "Your code is {{code}}."), {})
    assert caught.value.code == "missing_template_variable"


def test_missing_variable_error_names_every_missing_variable() -> None:
    """The refusal names all the missing variables, not just the first."""
    with pytest.raises(ProblemError) as caught:
        render(Template("t", "{{a}} {{b}} {{c}}"), {"b": "x"})
    assert caught.value.extra["missing"] == ["a", "c"]
    assert "a, c" in caught.value.detail


def test_missing_variable_error_points_at_likely_misspellings() -> None:
    """Variables given but unused are named as possible misspellings of the missing ones."""
    with pytest.raises(ProblemError) as caught:
        render(Template("t", "Hi {{first_name}}"), {"frist_name": "Ana"})
    assert caught.value.extra["unused"] == ["frist_name"]
    assert "frist_name" in caught.value.detail


def test_unknown_extra_variables_are_ignored() -> None:
    """Variables the template does not use do not stop it rendering."""
    assert render(Template("t", "Hi {{name}}"), {"name": "Ana", "shop": "B"}) == "Hi Ana"


def test_unused_variables_are_listed_sorted() -> None:
    """`unused_variables` names the variables without a placeholder, sorted."""
    assert unused_variables(Template("t", "{{a}}"), {"z": "", "a": "", "m": ""}) == ("m", "z")


def test_values_are_inserted_literally_without_expansion() -> None:
    """A value containing a placeholder is sent as written, never expanded again."""
    template = Template("t", "{{a}} {{b}}")
    assert render(template, {"a": "{{b}}", "b": "x"}) == "{{b}} x"


def test_empty_value_is_inserted_when_given() -> None:
    """An empty string the application gave is its value; only absence is refused."""
    assert render(Template("t", "[{{a}}]"), {"a": ""}) == "[]"


def test_single_braces_are_ordinary_text() -> None:
    """`{` and `}` on their own are literal characters."""
    assert render(Template("t", "{json} {{a}}"), {"a": "1"}) == "{json} 1"


def test_unclosed_placeholder_is_refused_with_its_position() -> None:
    """A `{{` never closed is refused, saying at which character."""
    error = _refusal("Hi {{name")
    assert error.extra["position"] == 4
    assert "never closed" in error.detail


def test_stray_closing_braces_are_refused() -> None:
    """A `}}` that closes nothing is refused."""
    assert "closes no" in _refusal("Hi name}} and {{a}}").detail


def test_stray_closing_braces_after_placeholders_are_refused() -> None:
    """A `}}` in the text after the last placeholder is refused too."""
    assert _refusal("{{a}} b }}").extra["position"] == 9


def test_empty_placeholder_is_refused() -> None:
    """`{{ }}` holds no variable name."""
    assert "variable name" in _refusal("Hi {{ }}").detail


def test_placeholder_with_forbidden_characters_is_refused() -> None:
    """A name with a hyphen or space is not a variable name."""
    _refusal("Hi {{first-name}}")


def test_triple_braces_are_refused_as_ambiguous() -> None:
    """`{{{a}}}` is refused rather than guessed at."""
    _refusal("{{{a}}}")


def test_empty_body_is_refused() -> None:
    """A template must have some text."""
    assert _refusal("  \n").extra["field"] == "body"


def test_invalid_template_name_is_refused() -> None:
    """A name with spaces (or too long, or empty) is not a template name."""
    assert _refusal("Hi", name="order shipped").extra["field"] == "name"


def test_template_name_may_hold_dots_dashes_and_underscores() -> None:
    """Names like `order.shipped-v2_nl` are accepted."""
    assert Template("order.shipped-v2_nl", "x").name == "order.shipped-v2_nl"


def test_fixed_text_longer_than_a_message_is_refused() -> None:
    """A template whose fixed text alone exceeds 1,600 characters could never be sent."""
    _refusal("a" * (MAX_LITERAL_LENGTH + 1))


def test_placeholders_do_not_count_towards_the_fixed_text() -> None:
    """Only the text outside placeholders is held to the limit."""
    body = "a" * MAX_LITERAL_LENGTH + "{{a_rather_long_variable_name}}"
    assert Template("t", body).placeholders == ("a_rather_long_variable_name",)


def test_template_may_be_limited_to_a_channel() -> None:
    """A template records the channel it is meant for, or none."""
    assert Template("t", "x", Channel.WHATSAPP).channel is Channel.WHATSAPP
    assert Template("t", "x").channel is None


_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,8}(\.[a-z0-9_]{1,5})?", fullmatch=True)
_TEXT = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=20)


@st.composite
def _templates_and_variables(draw: st.DrawFn) -> tuple[Template, dict[str, str]]:
    names = draw(st.lists(_NAMES, min_size=1, max_size=5, unique=True))
    pieces = []
    for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=8)):
        pieces += [draw(_TEXT), "{{" + draw(st.sampled_from(["", " "])) + name + "}}"]
    body = "".join(pieces) + draw(_TEXT)
    variables = {name: draw(_TEXT) for name in names}
    return Template("t", body), variables


@given(_templates_and_variables())
def test_rendering_with_every_variable_leaves_no_placeholder(
    case: tuple[Template, dict[str, str]],
) -> None:
    """With all variables given (values without braces), no `{{` survives rendering."""
    template, variables = case
    assert "{{" not in render(template, variables)


@given(_templates_and_variables())
def test_rendered_text_contains_each_used_value(case: tuple[Template, dict[str, str]]) -> None:
    """Every value of a variable the template uses appears in the rendered text."""
    template, variables = case
    rendered = render(template, variables)
    assert all(variables[name] in rendered for name in template.placeholders)
