"""The Twilio emulator's memory with a million stored messages, and with retention on.

    .venv/bin/python bench/emulator_memory.py [--messages N] [--retain M] [--sample K]
        [--rounds R]

Messages go straight into the emulator's `MessageStore` (no HTTP), built as the create path
builds them and in the shape the delivery engine leaves a delivered SMS: a fresh SID, the form's
own strings for `To`, `From`, `Body` and `StatusCallback` (parsed from a form body, so each
message has its own copies, as after a real request), the body's segment count, three dates
and a price. Each scenario runs in a new process, so that its RSS starts clean:

- `store`: `max_messages` = N, so all N messages stay: RSS per message;
- `retention`: `max_messages` = M < N: N messages pass through and RSS must stay flat once M
  are held (checkpoints every N/10);
- `trace`: K messages under `tracemalloc`: traced bytes per message and where they go.

Every scenario runs `--rounds` times; the report gives medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

sys.path.insert(0, str(Path(__file__).parent))

from herald.domain.segments import analyse
from herald.emulator import EmulatorConfig, EmulatorState, ManualClock
from herald.emulator.inventory import Search
from herald.emulator.inventory_blocks import INVENTORY
from herald.emulator.message_store import Message
from herald.emulator.messaging import messaging
from herald.emulator.numbers import PhoneNumbers
from machine import describe, rss_bytes

SENDERS = 10
STEP = timedelta(milliseconds=20)
PRICE = "-0.00790"  # the delivery engine shares one price string per price
CALLBACK_URL = "https://shop.example.com/twilio/status"
TOP_SITES = 8


def _buy_numbers(state: EmulatorState, count: int) -> list[str]:
    numbers = PhoneNumbers(state)
    place = INVENTORY.country("US")
    assert place is not None
    found = INVENTORY.search("US", place.kinds[0], Search(sms=True), taken=set(), limit=count)
    now = state.clock.now()
    account_sid = state.config.account_sid
    return [numbers.add(numbers.draft(account_sid, each, now)).phone_number for each in found]


def fill(
    messages: int, max_messages: int, checkpoint: Callable[[int, EmulatorState], None]
) -> EmulatorState:
    """Store `messages` delivered messages in a new emulator; call `checkpoint` every tenth."""
    config = EmulatorConfig(throughput_enabled=False, max_messages=max_messages, seed=1)
    clock = ManualClock()
    state = EmulatorState(config, clock)
    store = messaging(state).store
    account = state.accounts.get(config.account_sid)
    assert account is not None
    account_sid = account.sid
    senders = _buy_numbers(state, SENDERS)
    every = max(messages // 10, 1)
    for index in range(messages):
        # Every recipient distinct: the worst case for the per-recipient index.
        form = urlencode(
            {
                "To": f"+1415{2_000_000 + index % 8_000_000}",
                "From": senders[index % SENDERS],
                "Body": f"Your order {index} has shipped. Track it: https://t.example/{index}",
                "StatusCallback": CALLBACK_URL,
            }
        )
        params = dict(parse_qsl(form))
        info = analyse(params["Body"])
        created = clock.now()
        sent = created + 2 * STEP
        store.add(
            Message(
                sid=state.sids.sid("SM"),
                account_sid=account_sid,
                to=params["To"],
                from_=params["From"],
                body=info.body,
                status="delivered",
                date_created=created,
                date_updated=sent + STEP,
                date_sent=sent,
                num_segments=info.segments,
                price=PRICE,
                price_unit="USD",
                status_callback=params["StatusCallback"],
            )
        )
        if (index + 1) % every == 0:
            clock.advance(STEP)
            checkpoint(index + 1, state)
    return state


def run_scenario(name: str, messages: int, max_messages: int) -> dict[str, Any]:
    """Run one scenario in this process; return what it measured."""
    baseline = rss_bytes()
    points: list[tuple[int, int]] = []

    def checkpoint(done: int, _state: EmulatorState) -> None:
        points.append((done, rss_bytes() - baseline))

    if name == "trace":
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        fill(messages, max_messages, lambda _done, _state: None)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        stats = after.compare_to(before, "lineno")
        sites = [(str(stat.traceback[0]), stat.size_diff / messages) for stat in stats[:TOP_SITES]]
        total = sum(stat.size_diff for stat in stats)
        return {"bytes_per_message": total / messages, "sites": sites}
    started = time.perf_counter()
    state = fill(messages, max_messages, checkpoint)
    seconds = time.perf_counter() - started
    store = messaging(state).store
    return {
        "seconds": seconds,
        "points": points,
        "footprint": store.footprint(),
        "bytes_per_message": points[-1][1] / len(store),
    }


def _spawn(name: str, messages: int, max_messages: int) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--scenario",
        name,
        "--messages",
        str(messages),
        "--retain",
        str(max_messages),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603 - this very script
    result: dict[str, Any] = json.loads(output.stdout)
    return result


def _mib(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def report(args: argparse.Namespace) -> None:
    """Run every scenario `--rounds` times in fresh processes and print the Markdown report."""
    stores = [_spawn("store", args.messages, args.messages) for _ in range(args.rounds)]
    retained = [_spawn("retention", args.messages, args.retain) for _ in range(args.rounds)]
    traces = [_spawn("trace", args.sample, args.sample) for _ in range(args.rounds)]
    print(f"Machine: {describe()}\n")
    print(f"Medians of {args.rounds} runs, each in a new process; RSS above the empty emulator.\n")
    print("| scenario | messages held | RSS MiB | RSS bytes/message | seconds to insert |")
    print("|---|---:|---:|---:|---:|")
    for label, runs in (
        (f"{args.messages:,} stored", stores),
        (f"{args.messages:,} through max_messages={args.retain:,}", retained),
    ):
        held = runs[0]["footprint"]["messages"]
        rss = statistics.median(run["points"][-1][1] for run in runs)
        per_message = statistics.median(run["bytes_per_message"] for run in runs)
        seconds = statistics.median(run["seconds"] for run in runs)
        print(f"| {label} | {held:,} | {_mib(rss)} | {per_message:,.0f} | {seconds:.1f} |")
    print(f"\nRSS (MiB) as messages pass through, `max_messages` = {args.retain:,}:\n")
    points = [run["points"] for run in retained]
    print("| messages inserted | " + " | ".join(f"{done:,}" for done, _ in points[0]) + " |")
    print("|---|" + "---:|" * len(points[0]))
    medians = [statistics.median(run[i][1] for run in points) for i in range(len(points[0]))]
    print("| RSS MiB | " + " | ".join(_mib(value) for value in medians) + " |")
    print(f"\nIndex entries after the retention run: {retained[0]['footprint']}\n")
    per_message = statistics.median(run["bytes_per_message"] for run in traces)
    print(f"tracemalloc, {args.sample:,} messages: {per_message:,.0f} bytes/message; largest:\n")
    print("| allocated at | bytes/message |")
    print("|---|---:|")
    for site, size in traces[0]["sites"]:
        print(f"| `{site.removeprefix(str(Path.cwd()) + '/')}` | {size:,.0f} |")


def main() -> None:
    """Parse the command line; run the report, or one scenario when called by the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages to insert")
    parser.add_argument("--retain", type=int, default=100_000, help="max_messages of retention")
    parser.add_argument("--sample", type=int, default=100_000, help="messages under tracemalloc")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each scenario")
    parser.add_argument(
        "--scenario", choices=("store", "retention", "trace"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if min(args.messages, args.retain, args.sample, args.rounds) < 1:
        parser.error("--messages, --retain, --sample and --rounds must be at least 1.")
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.messages, args.retain)))
        return
    report(args)


if __name__ == "__main__":
    main()
