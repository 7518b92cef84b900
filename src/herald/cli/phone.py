"""`herald phone NUMBER`: what Herald makes of a phone number, and whether it can be texted."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from herald.domain.alphanumeric import AlphanumericVerdict, alphanumeric_verdict
from herald.domain.phone import PhoneNumber, parse


@click.command()
@click.argument("number")
@click.option(
    "--region",
    metavar="CC",
    help="ISO 3166 country code where NUMBER was written (e.g. NL); needed without a +.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the details as JSON.")
def phone(number: str, *, region: str | None, as_json: bool) -> None:
    """Show NUMBER in E.164 with its country, type, time zones and formats, whether it can
    receive SMS, and whether an alphanumeric sender ID may be used to it.
    """
    parsed = parse(number, region)
    verdict = alphanumeric_verdict(parsed)
    if as_json:
        click.echo(json.dumps(_details(number, parsed, verdict), ensure_ascii=False, indent=2))
        return
    _report(parsed, verdict)


def _details(text: str, number: PhoneNumber, verdict: AlphanumericVerdict) -> dict[str, Any]:
    return {
        "input": text,
        "e164": number.e164,
        "country_code": number.country_code,
        "region": number.region,
        "country": number.country_name,
        "type": number.number_type.value,
        "time_zones": list(number.time_zones),
        "national": number.national,
        "international": number.international,
        "sms": {"can_receive": number.can_receive_sms, "reason": number.sms_reason},
        "alphanumeric_sender": {
            "permitted": verdict.permitted,
            "support": verdict.support.value,
            "replies_possible": verdict.replies_possible,
            "explanation": verdict.explanation,
        },
    }


def _yes_no(reason: str, *, yes: bool) -> Text:
    answer = ("yes", "bold green") if yes else ("no", "bold red")
    return Text.assemble(answer, f": {reason}")


def _report(number: PhoneNumber, verdict: AlphanumericVerdict) -> None:
    country = number.country_name or "a global service (no country)"
    region = f" ({number.region})" if number.region else ""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("E.164", number.e164)
    table.add_row("Country", f"{country}{region}, country code +{number.country_code}")
    table.add_row("Type", number.number_type.value.replace("_", " "))
    table.add_row("Time zones", ", ".join(number.time_zones) or "unknown")
    table.add_row("National", number.national)
    table.add_row("International", number.international)
    table.add_row("SMS", _yes_no(number.sms_reason, yes=number.can_receive_sms))
    table.add_row("Alphanumeric sender", _yes_no(verdict.explanation, yes=verdict.permitted))
    Console(highlight=False).print(table)
