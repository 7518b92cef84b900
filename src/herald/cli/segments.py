"""`herald segments TEXT`: how an SMS body is encoded and split, and how to make it cheaper."""

from __future__ import annotations

import json
import re
import sys
import unicodedata

import click
import regex  # type: ignore[import-untyped]
from rich.console import Console
from rich.table import Table
from rich.text import Text

from herald.domain.segments import SegmentInfo, analyse
from herald.errors import InvalidInput

# Graphemes made only of invisible characters (line breaks, zero-width and no-break spaces,
# controls) are shown as escapes so the reader sees them; a lone surrogate (possible in argv
# that was not valid UTF-8) could not even be written to a terminal. Invisible characters
# inside a visible grapheme (the ZWJ of an emoji sequence) are left alone.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Zs"})
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_GRAPHEME = regex.compile(r"\X")
_SURROGATE = re.compile("[\ud800-\udfff]")


@click.command()
@click.argument("text")
@click.option("--smart", is_flag=True, help="Apply Twilio's Smart Encoding first.")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
def segments(text: str, *, smart: bool, as_json: bool) -> None:
    """Show how TEXT would be sent as an SMS: encoding, segments and cheaper alternatives.

    TEXT "-" reads the text from standard input (one trailing line break is dropped).
    """
    if text == "-":
        text = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if not text:
        raise InvalidInput(
            "The text is empty, and an empty SMS cannot be sent: give at least one character."
        )
    info = analyse(text, smart_encoding=smart)
    if smart and not info.body:
        raise InvalidInput(
            "Smart Encoding removes every character of this text, leaving nothing to send."
        )
    if as_json:
        document = json.dumps(info.as_dict(), ensure_ascii=False, indent=2)
        if _SURROGATE.search(document):
            document = json.dumps(info.as_dict(), indent=2)
        click.echo(document)
        return
    _report(info, raw_segments=analyse(text).segments if smart else None)


def _visible(text: str) -> Text:
    shown = Text()
    for cluster in _GRAPHEME.findall(text):
        if cluster != " " and all(_invisible(char) for char in cluster):
            for char in cluster:
                shown.append(_ESCAPES.get(char, f"\\u{ord(char):04x}"), style="dim")
        else:
            shown.append(cluster)
    return shown


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _report(info: SegmentInfo, *, raw_segments: int | None) -> None:
    console = Console(highlight=False)
    colour = "green" if info.encoding == "GSM-7" else "yellow"
    summary = Text.assemble(
        (info.encoding, f"bold {colour}"),
        f" · {_plural(info.segments, 'segment')} · {_plural(info.characters, 'character')}"
        f" · {_plural(info.units, info.unit_name.removesuffix('s'))}",
    )
    console.print(summary)
    if info.smart_changed:
        console.print("Smart Encoding changed the text.")
    if raw_segments is not None and raw_segments < info.segments:
        console.print(
            f"[yellow]Smart Encoding raises the count from {raw_segments} to {info.segments}[/]"
            " because some of its replacements are longer than what they replace"
            " (seven spaces for a tab, two for some spaces)."
        )
    parts = Table(title="Segments", title_justify="left")
    parts.add_column("#", justify="right")
    parts.add_column(info.unit_name.capitalize(), justify="right")
    parts.add_column("Text", overflow="fold")
    for number, part in enumerate(info.parts, start=1):
        parts.add_row(str(number), str(part.units), _visible(part.text))
    console.print(parts)
    if info.suggestions:
        _report_culprits(console, info)


def _report_culprits(console: Console, info: SegmentInfo) -> None:
    culprits = Table(title="Characters that force UCS-2", title_justify="left")
    culprits.add_column("Character")
    culprits.add_column("Code points")
    culprits.add_column("Count", justify="right")
    culprits.add_column("Replace with")
    culprits.add_column("Smart Encoding")
    for suggestion in info.suggestions:
        replacement: Text | str
        if suggestion.replacement is None:
            replacement = Text("no GSM-7 look-alike", style="red")
        elif suggestion.replacement.strip(" ") == "" and suggestion.replacement:
            replacement = Text(f"({_plural(len(suggestion.replacement), 'space')})", style="dim")
        elif suggestion.replacement:
            replacement = _visible(suggestion.replacement)
        else:
            replacement = Text("(delete)", style="dim")
        culprits.add_row(
            _visible(suggestion.grapheme),
            " ".join(f"U+{ord(char):04X}" for char in suggestion.grapheme),
            str(suggestion.count),
            replacement,
            "yes" if suggestion.smart_encoding else "no",
        )
    console.print(culprits)
    alternative, saved = info.gsm_alternative, info.segments_saved
    if alternative is None or saved is None:
        console.print("Some of these have no GSM-7 look-alike: the text stays UCS-2.")
    elif saved > 0:
        console.print(
            f"[green]Replacing them sends GSM-7 in {_plural(alternative.segments, 'segment')}:"
            f" {_plural(saved, 'segment')} fewer.[/]"
        )
    else:
        console.print(
            f"Replacing them sends GSM-7 in {_plural(alternative.segments, 'segment')}:"
            " no fewer segments."
        )
