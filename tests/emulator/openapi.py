"""Validate the emulator's responses against Twilio's official OpenAPI documents.

`assert_response(method, url, status, body)` finds the operation for a concrete URL (or a path
template) in the right spec (chosen by path: `/2010-04-01` → api v2010, `/v2/` → Verify,
`/v1/Content` → Content, other `/v1/` → Messaging), takes the schema of the documented response
for that status, and validates the body with `jsonschema`. Error statuses that a spec does not
document are checked against Twilio's error shape (`assert_twilio_error`).

OpenAPI 3.0 is not JSON Schema: `nullable: true` becomes a `null` type (or `anyOf` around a
`$ref`), and every `#/components/...` reference is resolved inside the same spec through a
`referencing` registry. In strict mode (the default) each object schema that lists properties
also requires all of them and forbids others: Twilio sends every field, `null` when unset, and a
2010 list with an extra top-level key breaks the twilio client.

The specs are copies in `tests/data/openapi/` (see the README there), so the tests depend on
nothing outside the repository.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator  # type: ignore[import-untyped]  # no stubs in the dev set
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_DIR = Path(__file__).resolve().parent.parent / "data" / "openapi"
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_OPENAPI_ONLY = frozenset({"nullable", "example", "examples", "x-twilio", "discriminator"})
_MIN_ERROR_STATUS = 400

TWILIO_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/\d+$"},
        "status": {"type": "integer"},
        "details": {"type": "object"},
    },
}


def spec_name_for(path: str) -> str:
    """The spec that documents a path."""
    if path.startswith("/2010-04-01/"):
        return "twilio_api_v2010"
    if path.startswith("/v2/"):
        return "twilio_verify_v2"
    if path.startswith("/v1/Content"):
        return "twilio_content_v1"
    if path.startswith("/v1/"):
        return "twilio_messaging_v1"
    raise AssertionError(f"No Twilio OpenAPI document covers {path!r}.")


class OpenApiSpec:
    """One OpenAPI document, ready to validate responses."""

    def __init__(self, name: str) -> None:
        location = SPEC_DIR / f"{name}.json"
        if not location.is_file():
            raise FileNotFoundError(f"{location} is missing; copy it from the reference specs.")
        self.name = name
        self.document: dict[str, Any] = json.loads(location.read_text(encoding="utf-8"))
        self._uri = f"urn:herald-tests:{name}"
        self._templates = sorted(
            ((template, _template_regex(template)) for template in self.document["paths"]),
            key=lambda pair: -len(re.sub(r"\{[^}]+\}", "", pair[0])),
        )
        self._registries: dict[bool, Registry[Any]] = {}

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """(path template, operation object) for a concrete path or a template."""
        for template, regex in self._templates:
            if template == path or regex.match(path):
                operation = self.document["paths"][template].get(method.lower())
                if operation is None:
                    raise AssertionError(f"{self.name}: {template} has no {method} operation.")
                return template, operation
        raise AssertionError(f"{self.name}: no path matches {path!r}.")

    def validate(
        self, method: str, path: str, status: int, body: Any, *, strict: bool = True
    ) -> None:
        """Raise AssertionError unless `body` is what the spec documents for this response."""
        template, operation = self.operation(method, path)
        response = operation["responses"].get(str(status))
        if response is None:
            if status >= _MIN_ERROR_STATUS:
                assert_twilio_error(status, body)
                return
            documented = ", ".join(operation["responses"])
            raise AssertionError(
                f"{method} {template} answered {status}; the spec documents {documented}."
            )
        content = response.get("content")
        if content is None:
            assert body is None, f"{method} {template} {status} documents no body, got {body!r}"
            return
        schema = _convert(content["application/json"]["schema"], self._uri, strict=strict)
        validator = Draft4Validator(schema, registry=self._registry(strict=strict))
        error = best_match(validator.iter_errors(body))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(root)"
            raise AssertionError(f"{method} {template} {status}: at {where}: {error.message}")

    def _registry(self, *, strict: bool) -> Registry[Any]:
        registry = self._registries.get(strict)
        if registry is None:
            schemas = self.document.get("components", {}).get("schemas", {})
            converted = {
                name: _convert(schema, self._uri, strict=strict) for name, schema in schemas.items()
            }
            resource = Resource.from_contents(
                {"components": {"schemas": converted}}, default_specification=DRAFT4
            )
            registry = self._registries[strict] = Registry().with_resource(self._uri, resource)
        return registry


@functools.cache
def load_spec(name: str) -> OpenApiSpec:
    """The named spec (`twilio_api_v2010`, `twilio_verify_v2`, ...), loaded once."""
    return OpenApiSpec(name)


def assert_response(method: str, url: str, status: int, body: Any, *, strict: bool = True) -> None:
    """Validate one response of a Twilio-shaped endpoint; `url` may be absolute or a path.

    An error status on a path or method no spec documents (an unknown route, a wrong method)
    must still be Twilio's error body.
    """
    path = urlsplit(url).path
    if status >= _MIN_ERROR_STATUS and not _documented(method, path):
        assert_twilio_error(status, body)
        return
    load_spec(spec_name_for(path)).validate(method, path, status, body, strict=strict)


def _documented(method: str, path: str) -> bool:
    try:
        load_spec(spec_name_for(path)).operation(method, path)
    except AssertionError:
        return False
    return True


def assert_twilio_error(status: int, body: Any, code: int | None = None) -> None:
    """Validate Twilio's four-key error body, its `status` and, when given, its `code`."""
    error = best_match(Draft4Validator(TWILIO_ERROR_SCHEMA).iter_errors(body))
    if error is not None:
        raise AssertionError(f"Not a Twilio error body ({error.message}): {body!r}")
    assert body["status"] == status, f"error body says status {body['status']}, HTTP said {status}"
    assert body["more_info"].endswith(f"/{body['code']}"), "more_info must name the error code"
    if code is not None:
        assert body["code"] == code, f"expected Twilio error {code}, got {body!r}"


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{pattern}$")


def _convert(schema: Any, base_uri: str, *, strict: bool) -> Any:
    """An OpenAPI 3.0 schema object as a draft-4 JSON Schema."""
    if not isinstance(schema, dict):
        return schema
    out = {
        key: _convert_keyword(key, value, base_uri, strict=strict)
        for key, value in schema.items()
        if key not in _OPENAPI_ONLY
    }
    if strict and "properties" in out and out.get("type", "object") == "object":
        out.setdefault("required", sorted(out["properties"]))
        out.setdefault("additionalProperties", False)
    if not schema.get("nullable"):
        return out
    if "$ref" in out or "type" not in out:
        return {"anyOf": [out, {"type": "null"}]}
    out["type"] = [out["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _convert_keyword(key: str, value: Any, base_uri: str, *, strict: bool) -> Any:
    if key == "$ref":
        return base_uri + value if value.startswith("#") else value
    if key == "properties":
        return {name: _convert(sub, base_uri, strict=strict) for name, sub in value.items()}
    if key in {"items", "not", "additionalProperties"}:
        return _convert(value, base_uri, strict=strict)
    if key in _SCHEMA_LISTS:
        return [_convert(sub, base_uri, strict=strict) for sub in value]
    return value
