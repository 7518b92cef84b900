"""Property-based fuzzing of the whole API from its own OpenAPI schema, over real HTTP.

A real `herald serve` (sandbox: migrated database, emulator, a tenant and its key) runs on
SQLite and on PostgreSQL. Schemathesis loads `/openapi.json` from it and, for every operation,
Hypothesis draws requests that fit the schema (positive) and requests that break it (negative).
Each answer must pass schemathesis' checks (no 5xx; a status, content type, headers and body
the schema documents; schema-breaking requests refused; authentication enforced; unsupported
methods answered 405 with `Allow`), and every 4xx/5xx must be an RFC 9457 problem document.
Then values that once caused 500s (NUL, lone surrogates, `1e400`, times that overflow UTC) are
put in every member, query parameter and path id of valid requests (a fixed grid), and at random
places (Hypothesis): never a 5xx, every error a problem document.

The default run draws `HERALD_FUZZ_EXAMPLES` (8) requests per operation and mode (about 240
from the schema and 390 hostile ones per backend), to stay within a minute of CI; raise it for
a longer hunt, e.g. `HERALD_FUZZ_EXAMPLES=500 pytest tests/reliability/test_fuzz_api.py -s`
(`-s` shows the counts). A failure names the request (and prints Hypothesis' blob to replay it).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.reliability.serve_process import ServedHerald, herald_serve

EXAMPLES: Final = int(os.environ.get("HERALD_FUZZ_EXAMPLES", "8"))
PROBLEM_TYPE: Final = "application/problem+json"
PROBLEM_BASE: Final = "https://herald.dev/problems/"
SERVER_ERROR: Final = 500
CLIENT_ERROR: Final = 400

CHECKS: Final[list[CheckFunction]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    ignored_auth,
]


@dataclasses.dataclass
class Tally:
    """What the fuzzer sent and what came back."""

    operations: set[str] = dataclasses.field(default_factory=set)
    requests: int = 0
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    failures: list[str] = dataclasses.field(default_factory=list)


def assert_problem_document(response: Response, case: Case[Any]) -> None:
    """An error answer is `application/problem+json` with the members Herald promises."""
    if response.status_code < CLIENT_ERROR:
        return
    shown = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert media_type == PROBLEM_TYPE, f"not a problem document: {shown}"
    document: Any = response.json()
    assert isinstance(document, dict), shown
    assert document.get("status") == response.status_code, shown
    code = document.get("code")
    assert isinstance(code, str), shown
    assert document.get("type") == PROBLEM_BASE + code, shown
    for member in ("title", "detail", "hint"):
        assert isinstance(document.get(member), str), shown
        assert document[member], shown


def fuzz_operation(
    herald: ServedHerald, operation: Any, mode: GenerationMode, tally: Tally
) -> None:
    """Draw up to EXAMPLES requests for `operation` in `mode`; record any failure."""
    auth = {"Authorization": f"Bearer {herald.api_key}"}

    @hypothesis.settings(
        max_examples=EXAMPLES,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: Case[Any]) -> None:
        response = case.call(headers=auth, timeout=30)
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=auth)
        assert_problem_document(response, case)

    try:
        fuzz()
    # Schemathesis reports its checks' failures as a BaseExceptionGroup (FailureGroup).
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report every operation's
        tally.failures.append(f"{operation.label} ({mode.value}): {exc}")


# -- hostile values in valid requests -------------------------------------------------------
#
# Schemathesis draws UTF-8 text that fits the schema, so a request rarely gets far enough to
# store a NUL, and never carries a lone surrogate or a number no double holds. This part takes
# one valid request per operation and puts a hostile value at one place in it.

RECIPIENT: Final = "+14155552671"
BODIES: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("POST", "/v1/messages"): {"to": RECIPIENT, "body": "Hello", "metadata": {"order": "1"}},
    ("POST", "/v1/messages/preview"): {"to": RECIPIENT, "body": "Hello", "metadata": {}},
    ("POST", "/v1/verifications"): {"to": RECIPIENT, "channel": "sms"},
    ("POST", "/v1/verifications/check"): {"to": RECIPIENT, "code": "123456"},
    ("PUT", "/v1/verifications/settings"): {"engine": "builtin", "code_length": 6},
    ("POST", "/v1/webhook-endpoints"): {
        "url": "https://shop.example/herald",
        "event_types": ["message.status_changed"],
    },
}
QUERIES: Final[dict[str, tuple[str, ...]]] = {
    "/v1/messages": ("to", "cursor", "status", "created_from", "limit"),
    "/v1/events": ("after", "types", "limit"),
}
PATHS: Final = ("/v1/messages/{}", "/v1/opt-outs/{}", "/v1/webhook-endpoints/{}")

NASTY: Final = ("\x00", "\ud800", "\udfff", "\ufeff", "\u202e", "\U0001f600", "%", "\\")
hostile_text = st.builds(
    lambda before, nasty, after: before + nasty + after,
    st.text(max_size=8),
    st.sampled_from(NASTY),
    st.text(max_size=8),
)
hostile_value = st.one_of(
    hostile_text,
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),  # NaN and infinities included
    st.sampled_from([None, True, [], {}, "9" * 400, "+" + "9" * 40, "9999-12-31T23:59:59-14:00"]),
    st.lists(hostile_text, max_size=3),
    st.dictionaries(hostile_text, hostile_text, max_size=2),
)
RAW_VALUES: Final = (
    r'"a\u0000b"',
    r'"\ud800"',
    r'["x\udfff"]',
    r'{"\u0000": "k"}',
    "1e400",
    "NaN",
    "-Infinity",
    "123456789012345678901234567890",
    '"9999-12-31T23:59:59-14:00"',
    '"0001-01-01T00:00:00+14:00"',
    "[" * 50 + "]" * 50,
)
RAW_QUERY_VALUES: Final = (
    "%00",
    "a%00b",
    "%ED%A0%80",
    "%FF",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00%2B14:00",
    "0.5",
    "1e400",
    "9" * 400,
)
RAW_SEGMENTS: Final = ("%00", "a%00b", "%ED%A0%80", "%FF", "%2B1%00", "9" * 300, "%E2%80%AE")


def _spoiled(document: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """`document` with one member (or one member of `metadata`) set to a hostile value."""
    spoiled: dict[str, Any] = json.loads(json.dumps(document))
    key = data.draw(st.sampled_from([*spoiled, "metadata", "unknown"]))
    value = data.draw(hostile_value)
    if key == "metadata" and isinstance(spoiled.get("metadata"), dict):
        spoiled["metadata"][data.draw(hostile_text)] = value
    else:
        spoiled[key] = value
    return spoiled


def _check_answer(response: httpx.Response, shown: str) -> None:
    status = response.status_code
    assert status < SERVER_ERROR, f"{shown} -> {status}: {response.text[:300]}"
    if status >= CLIENT_ERROR:
        assert response.headers["content-type"] == PROBLEM_TYPE, f"{shown}: {response.text}"
        document = response.json()
        assert document["status"] == status, shown
        assert document["type"] == PROBLEM_BASE + document["code"], shown
        assert document["title"], shown
        assert document["detail"], shown


def fuzz_hostile_values(herald: ServedHerald, tally: Tally) -> None:
    """Hostile values in bodies, query parameters and paths: never a 5xx or a bare error."""
    with httpx.Client(
        base_url=herald.url,
        headers={"Authorization": f"Bearer {herald.api_key}"},
        timeout=30,
    ) as http:

        @hypothesis.settings(
            max_examples=EXAMPLES * 4,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(data=st.data())
        def fuzz(data: st.DataObject) -> None:
            where = data.draw(st.sampled_from(["body", "query", "path"]))
            if where == "body":
                method, path = data.draw(st.sampled_from(sorted(BODIES)))
                raw = json.dumps(_spoiled(BODIES[method, path], data), ensure_ascii=True)
                content = raw.encode()
                headers = {"Content-Type": "application/json"}
                response = http.request(method, path, content=content, headers=headers)
                shown = f"{method} {path} {raw[:200]}"
            elif where == "query":
                method, path = "GET", data.draw(st.sampled_from(sorted(QUERIES)))
                name = data.draw(st.sampled_from(QUERIES[path]))
                value = data.draw(hostile_text).encode("utf-8", "surrogatepass")
                response = http.get(path, params={name: value.decode("latin-1")})
                shown = f"GET {path}?{name}={value!r}"
            else:
                template = data.draw(st.sampled_from(PATHS))
                segment = data.draw(hostile_text.filter(lambda text: text not in {"", ".", ".."}))
                quoted = "".join(
                    f"%{byte:02X}" for byte in segment.encode("utf-8", "surrogatepass")
                )
                method, path = "GET", template.format(quoted)
                response = http.get(path)
                shown = f"GET {path}"
            tally.requests += 1
            tally.statuses[response.status_code] += 1
            _check_answer(response, shown)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported with the rest
            tally.failures.append(f"hostile values: {exc}")


def _grid_requests() -> Iterator[tuple[str, str, str | None]]:
    """(method, path and query, JSON body or None) of every request of the hostile grid."""
    for (method, path), document in sorted(BODIES.items()):
        for member in [*document, "metadata"]:
            for raw in RAW_VALUES:
                body = json.dumps({**document, member: "PLACEHOLDER"})
                yield method, path, body.replace('"PLACEHOLDER"', raw)
    for path, names in sorted(QUERIES.items()):
        for name in names:
            for raw in RAW_QUERY_VALUES:
                yield "GET", f"{path}?{name}={raw}", None
    for template in PATHS:
        for raw in RAW_SEGMENTS:
            for method in ("GET", "PUT", "DELETE"):
                yield method, template.format(raw), None


def fuzz_hostile_grid(herald: ServedHerald, tally: Tally) -> None:
    """Every member of every valid request, every query parameter and path id, set to each of
    the values that once caused a 500: never a 5xx, every error a problem document."""
    with httpx.Client(
        base_url=herald.url,
        headers={"Authorization": f"Bearer {herald.api_key}", "Content-Type": "application/json"},
        timeout=30,
    ) as http:
        for method, target, body in _grid_requests():
            shown = f"{method} {target} {body or ''}"
            content = None if body is None else body.encode()
            tally.requests += 1
            try:
                response = http.request(method, target, content=content)
                tally.statuses[response.status_code] += 1
                _check_answer(response, shown)
            except httpx.TransportError as exc:
                tally.failures.append(f"hostile grid: {shown} -> no answer ({exc!r})")
            except AssertionError as exc:
                tally.failures.append(f"hostile grid: {exc}")


def _takes_input(operation: Any) -> bool:
    """Whether a request to `operation` can break its schema (/healthz has nothing to break)."""
    definition = operation.definition.raw
    return any(definition.get(part) for part in ("parameters", "requestBody", "security"))


@pytest.mark.slow
def test_every_operation_answers_within_its_schema(database_url: str, tmp_path: Path) -> None:
    """No 5xx, every error a problem document, every answer as the schema documents it."""
    with herald_serve(tmp_path / "home", database_url) as herald:
        schema = schemathesis.openapi.from_url(f"{herald.url}/openapi.json")
        tally = Tally()
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            tally.operations.add(operation.label)
            fuzz_operation(herald, operation, GenerationMode.POSITIVE, tally)
            if _takes_input(operation):
                fuzz_operation(herald, operation, GenerationMode.NEGATIVE, tally)
        schema_requests = tally.requests
        fuzz_hostile_grid(herald, tally)
        fuzz_hostile_values(herald, tally)
        output = herald.output()
    summary = (
        f"{len(tally.operations)} operations, {schema_requests} requests from the schema, "
        f"{tally.requests - schema_requests} with hostile values, "
        f"statuses {dict(sorted(tally.statuses.items()))}"
    )
    print(f"fuzzed {database_url.split(':', maxsplit=1)[0]}: {summary}")  # noqa: T201 - the docs' figures
    assert not tally.failures, "\n\n".join(tally.failures)
    assert "Traceback" not in output, output
    assert len(tally.operations) >= 15, summary  # every /v1 operation was found
    assert tally.requests >= len(tally.operations) * 2, summary
    assert not any(status >= SERVER_ERROR for status in tally.statuses), summary
