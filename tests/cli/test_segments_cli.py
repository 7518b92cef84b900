"""`herald segments TEXT [--smart] [--json]`."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from herald.cli import main


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["segments", *args], input=stdin)


def _rows(output: str) -> list[list[str]]:
    """The cells of each body row of the tables in `output`."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def test_reports_encoding_and_segment_count() -> None:
    """The summary line names the encoding and the number of segments."""
    result = _run("a" * 161)
    assert result.exit_code == 0
    assert "GSM-7 · 2 segments · 161 characters · 161 septets" in result.stdout


def test_shows_each_segment_with_its_size() -> None:
    """The segment table lists each part's size in the encoding's units."""
    rows = _rows(_run("Ж" * 71).stdout)
    assert [row[:2] for row in rows if len(row) == 3 and row[0]] == [["1", "67"], ["2", "4"]]


def test_lists_culprits_with_replacements() -> None:
    """Each character that forces UCS-2 is listed with its code point and replacement."""
    rows = [row for row in _rows(_run("“Hi” ô").stdout) if len(row) == 5]
    assert rows == [
        ["“", "U+201C", "1", '"', "yes"],
        ["”", "U+201D", "1", '"', "yes"],
        ["ô", "U+00F4", "1", "o", "no"],
    ]


def test_shows_a_space_replacement_in_words() -> None:
    """A replacement that is a space is written out, since a blank cell would hide it."""
    rows = [row for row in _rows(_run("5\xa0pm").stdout) if len(row) == 5]
    assert rows == [["\\u00a0", "U+00A0", "1", "(1 space)", "no"]]


def test_reports_segments_saved_by_replacing() -> None:
    """When replacements make the text GSM-7 with fewer segments, the saving is stated."""
    result = _run("ô" + "a" * 100)
    assert "Replacing them sends GSM-7 in 1 segment: 1 segment fewer." in result.stdout


def test_says_when_text_must_stay_ucs2() -> None:
    """An emoji has no look-alike, so the text stays UCS-2."""
    result = _run("Thanks 🙏")
    assert "no GSM-7 look-alike" in result.stdout
    assert "the text stays UCS-2" in result.stdout


def test_smart_applies_smart_encoding() -> None:
    """`--smart` analyses the text as Smart Encoding would send it."""
    result = _run("--smart", "“Hi”")
    assert result.stdout.startswith("GSM-7 · 1 segment · 4 characters · 4 septets")
    assert "Smart Encoding changed the text." in result.stdout


def test_smart_warns_when_it_costs_segments() -> None:
    """`--smart` says so when Smart Encoding needs more segments than the raw text."""
    result = _run("--smart", "\t" * 70)
    assert "Smart Encoding raises the count from 1 to 4" in result.stdout


def test_shows_invisible_characters_as_escapes() -> None:
    """Line breaks and zero-width characters are shown as escapes, not printed raw."""
    result = _run("ï\n\u200b")
    assert "ï\\n\\u200b" in result.stdout


def test_shows_emoji_sequences_and_combining_marks_unescaped() -> None:
    """A ZWJ inside an emoji sequence and a virama inside a syllable are printed as they are."""
    result = _run("क्या 👩\u200d👩\u200d👦")
    assert "क्या 👩\u200d👩\u200d👦" in result.stdout


def test_json_prints_the_analysis() -> None:
    """`--json` prints the analysis as one JSON document."""
    document = json.loads(_run("--json", "ô" + "a" * 100).stdout)
    assert (document["encoding"], document["segments"], document["segments_saved"]) == (
        "UCS-2",
        2,
        1,
    )
    assert [part["units"] for part in document["parts"]] == [67, 34]


def test_json_with_smart_reports_the_sent_body() -> None:
    """With `--smart --json` the body is the Smart-Encoded text."""
    document = json.loads(_run("--smart", "--json", "5\xa0pm").stdout)
    assert (document["body"], document["smart_changed"]) == ("5  pm", True)


def test_json_escapes_lone_surrogates() -> None:
    """A lone surrogate (from argv that was not UTF-8) is written as a JSON escape."""
    result = _run("--json", "x\udcff")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["non_gsm"] == ["\udcff"]


def test_dash_reads_stdin_without_its_final_line_break() -> None:
    """TEXT `-` reads standard input and drops the line break that ends it."""
    document = json.loads(_run("--json", "-", stdin="hello\n").stdout)
    assert document["body"] == "hello"


def test_empty_text_is_a_one_line_error() -> None:
    """Empty TEXT exits 1 with one line on stderr, not a traceback."""
    result = _run("")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: The text is empty, and an empty SMS cannot be sent: give at least one character."
    ]


def test_empty_stdin_is_a_one_line_error() -> None:
    """`-` with nothing on standard input is the same error."""
    result = _run("-", stdin="")
    assert (result.exit_code, len(result.stderr.strip().splitlines())) == (1, 1)


def test_text_that_smart_encoding_deletes_is_an_error() -> None:
    """`--smart` on nothing but zero-width spaces leaves nothing to send, and says so."""
    result = _run("--smart", "\u200b")
    assert result.exit_code == 1
    assert "leaving nothing to send" in result.stderr
