"""Tenant message templates: a body with `{{name}}` placeholders, filled in before sending.

    >>> shipped = Template("shipped", "Hi {{ first_name }}, order {{order.id}} is on its way.")
    >>> render(shipped, {"first_name": "Ana", "order.id": "A-17"})
    'Hi Ana, order A-17 is on its way.'

A placeholder is `{{`, a name of letters, digits, `_` and `.` (dots separate words, as in
`order.id`; the name is one key, not a path), and `}}`, with any white space inside the braces.
Every `{{` must open a placeholder and every `}}` close one: a template is checked when it is
made, so a stored template always renders. Single braces are ordinary text.

Rendering refuses a missing variable, naming every missing one: an empty string in its place
would send "Hi , your code is ." to a real person. Variables the template does not use are
ignored, so one set of variables can serve several templates (`unused_variables` lists them,
and the send policy reports them as a warning). Values are inserted as they are: a value that
itself contains `{{x}}` is sent literally, never expanded again.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Final

from herald.domain.phone import Channel
from herald.domain.problems import ProblemCode, ProblemError

__all__ = [
    "MAX_LITERAL_LENGTH",
    "Template",
    "render",
    "unused_variables",
]

MAX_LITERAL_LENGTH: Final = 1600
"""The most fixed text a template may hold: a message body is at most 1,600 characters."""

_NAME_MAX = 64
_TEMPLATE_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.\-]{{0,{_NAME_MAX - 1}}}")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_VARIABLE = re.compile(r"\w+(?:\.\w+)*")
_SHOWN_MAX = 30


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX] + "…")


def _invalid(detail: str, **extra: Any) -> ProblemError:
    return ProblemError(ProblemCode.INVALID_TEMPLATE, detail, **extra)


def _parse(name: str, body: str) -> tuple[str, ...]:
    """The body split into literal text and variable names, alternating, literal first."""
    pieces: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(body):
        literal = body[position : match.start()]
        _check_literal(name, literal, position)
        variable = match.group(1).strip()
        if not _VARIABLE.fullmatch(variable):
            raise _invalid(
                f"Template {name!r}: the placeholder {_shown(match.group(0))} at character "
                f"{match.start() + 1} does not hold a variable name; a name is letters, digits, "
                "_ and . (e.g. {{order.id}}).",
                position=match.start() + 1,
            )
        pieces += [literal, variable]
        position = match.end()
    tail = body[position:]
    opened = tail.find("{{")
    if opened >= 0:
        raise _invalid(
            f"Template {name!r}: the {{{{ at character {position + opened + 1} is never closed "
            "with }}.",
            position=position + opened + 1,
        )
    _check_literal(name, tail, position)
    pieces.append(tail)
    return tuple(pieces)


def _check_literal(name: str, literal: str, offset: int) -> None:
    closed = literal.find("}}")
    if closed >= 0:
        raise _invalid(
            f"Template {name!r}: the }}}} at character {offset + closed + 1} closes no {{{{.",
            position=offset + closed + 1,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Template:
    """A validated tenant template; `channel` None means it may be sent on any channel.

    Construction raises `ProblemError` with code `invalid_template` when the name or body is
    not usable, saying where.
    """

    name: str
    body: str
    channel: Channel | None = None
    #: The distinct variable names, in order of first appearance.
    placeholders: tuple[str, ...] = dataclasses.field(init=False)
    _pieces: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _TEMPLATE_NAME.fullmatch(self.name):
            raise _invalid(
                f"{_shown(self.name)} is not a template name: use 1 to {_NAME_MAX} letters, "
                "digits, _, . and -, starting with a letter or digit.",
                field="name",
            )
        if not self.body.strip():
            raise _invalid(f"Template {self.name!r} has an empty body.", field="body")
        pieces = _parse(self.name, self.body)
        literal_length = sum(len(piece) for piece in pieces[::2])
        if literal_length > MAX_LITERAL_LENGTH:
            raise _invalid(
                f"Template {self.name!r} has {literal_length:,} characters of fixed text; a "
                f"message holds at most {MAX_LITERAL_LENGTH:,}.",
                field="body",
            )
        object.__setattr__(self, "_pieces", pieces)
        object.__setattr__(self, "placeholders", tuple(dict.fromkeys(pieces[1::2])))


def render(template: Template, variables: Mapping[str, str]) -> str:
    """The template's body with every placeholder replaced by its variable's value.

    Raises `ProblemError` with code `missing_template_variable` naming every variable the
    template needs and `variables` lacks (extension members `missing` and `unused`, the latter
    being the likely misspellings).
    """
    missing = [name for name in template.placeholders if name not in variables]
    if missing:
        unused = unused_variables(template, variables)
        names = ", ".join(missing)
        also = f" (given but not used: {', '.join(unused)}; misspelt?)" if unused else ""
        raise ProblemError(
            ProblemCode.MISSING_TEMPLATE_VARIABLE,
            f"Template {template.name!r} needs a value for {names}{also}.",
            missing=missing,
            unused=list(unused),
        )
    pieces = template._pieces  # noqa: SLF001 - the parse belongs to this module
    out = [piece if index % 2 == 0 else variables[piece] for index, piece in enumerate(pieces)]
    return "".join(out)


def unused_variables(template: Template, variables: Mapping[str, str]) -> tuple[str, ...]:
    """The names in `variables` the template has no placeholder for, sorted."""
    return tuple(sorted(set(variables) - set(template.placeholders)))
