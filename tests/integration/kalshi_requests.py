"""Kalshi's official request schemas, for validating what centbook's client sends.

Each 3.28 page's excerpt documents its operation's parameters and body, in the classic OpenAPI
shape (``parameters``, ``requestBody``) or Mintlify's resolved one (``request.parameters.query``,
``request.body``); :class:`Requests` reads both into one table. :func:`check` validates one
request as the sim recorded it (``SimServer.recorded``): every query parameter must be documented,
its text must parse as the documented type and pass the schema (enums, bounds); a repeated
parameter must be an array; required parameters must be present; a JSON body must pass the body
schema. Path parameters are not checked (any text).

Parts: :class:`Operation`, :class:`Requests`, :func:`requests` (loaded once), :func:`check`.
"""

from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import yaml
from kalshi_schemas import DOCS_DIR, classic_schema, openapi_to_jsonschema, template_rx

__all__ = ["UNDOCUMENTED", "Operation", "Requests", "check", "requests"]

#: operations centbook uses that no 3.28 page documents, with where they are documented instead
UNDOCUMENTED = {
    ("DELETE", "/portfolio/events/orders"): "cancel-all: newer than the 2026-08-22 reference (PROTOCOL.md)",
}


@dataclass
class Operation:
    """One operation's request: query parameters by name, the body schema, their components."""

    page: str
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    body: dict[str, Any] | None = None
    body_required: bool = False
    components: dict[str, Any] = field(default_factory=dict)


def _mintlify_param(entries: list[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    spec = dict(entries[0])
    required = bool(spec.pop("required", False))
    spec.pop("description", None)
    kind = str(spec.get("type", ""))
    if kind.startswith("enum<"):
        spec["type"] = kind[5:-1]
    return openapi_to_jsonschema(spec), required


class Requests:
    """Request schemas by (method, path template), from every page's excerpt."""

    def __init__(self) -> None:
        self.ops: dict[tuple[str, str], Operation] = {}
        self._stamps: dict[tuple[str, str], str] = {}
        for path in sorted(glob.glob(os.path.join(DOCS_DIR, "*", "*.md"))):
            text = open(path, encoding="utf-8").read()
            m = re.search(r"````yaml [^\n]*\n(.*?)\n````", text, re.S)
            stamp = re.search(r"^lastmod:\s*(\S+)", text, re.M)
            if m:
                found = self._read(yaml.safe_load(m.group(1)), os.path.relpath(path, DOCS_DIR))
                # as for responses: the page with the newest lastmod judges an operation
                for key, op in found.items():
                    when = stamp.group(1) if stamp else ""
                    if key not in self.ops or when >= self._stamps[key]:
                        self.ops[key], self._stamps[key] = op, when

    @staticmethod
    def _read(doc: dict[str, Any], page: str) -> dict[tuple[str, str], Operation]:
        found: dict[tuple[str, str], Operation] = {}
        components = openapi_to_jsonschema(doc.get("components") or {})
        paths = doc.get("paths") or {}
        if isinstance(paths.get("path"), str):
            op = Operation(page, components=components)
            request = paths.get("request") or {}
            for name, spec in ((request.get("parameters") or {}).get("query") or {}).items():
                op.query[name], needed = _mintlify_param(spec["schema"])
                if needed:
                    op.required.add(name)
            media = (request.get("body") or {}).get("application/json") or {}
            if media.get("schemaArray"):
                body = classic_schema(media["schemaArray"][0])
                op.body, op.body_required = openapi_to_jsonschema(body), True
            found[(str(paths["method"]).upper(), paths["path"])] = op
            return found
        for template, methods in paths.items():
            for method, spec in methods.items():
                if not isinstance(spec, dict) or "responses" not in spec:
                    continue
                op = Operation(page, components=components)
                for param in [*methods.get("parameters", []), *spec.get("parameters", [])]:
                    if "$ref" in param:
                        named = (doc.get("components") or {}).get("parameters", {})
                        param = named[param["$ref"].rsplit("/", 1)[-1]]
                    if param.get("in") == "query":
                        op.query[param["name"]] = openapi_to_jsonschema(param.get("schema") or {})
                        if param.get("required"):
                            op.required.add(param["name"])
                body = spec.get("requestBody") or {}
                schema = ((body.get("content") or {}).get("application/json") or {}).get("schema")
                if schema is not None:
                    op.body, op.body_required = openapi_to_jsonschema(schema), bool(body.get("required"))
                found[(method.upper(), template)] = op
        return found

    def find(self, method: str, path: str) -> tuple[str, Operation] | None:
        """Return the most specific documented template matching ``path``, and its operation."""
        best = None
        for (m, template), op in self.ops.items():
            if m == method and template_rx(template).match(path):
                literal = template.count("/") - template.count("{")
                if best is None or literal > best[0]:
                    best = (literal, template, op)
        return None if best is None else (best[1], best[2])


def _resolved(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and ``allOf`` down to the schema that names a type."""
    if "$ref" in schema:
        return _resolved(components["schemas"][schema["$ref"].rsplit("/", 1)[-1]], components)
    for sub in schema.get("allOf") or ():
        found = _resolved(sub, components)
        if "type" in found:
            return found
    return schema


def _typed(text: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds:
        return int(text)
    if "number" in kinds:
        return float(text)
    if "boolean" in kinds:
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return text == "true"
    return text


def check(method: str, path: str, query: list[tuple[str, str]], body: bytes) -> str:
    """Validate one request; return the page that judged it (``undocumented`` for
    :data:`UNDOCUMENTED` operations).

    Raises
    ------
    AssertionError
        Naming the page, the operation and what was wrong.
    """
    if (method, path) in UNDOCUMENTED:
        return "undocumented"
    found = requests().find(method, path)
    assert found is not None, f"{method} {path}: no 3.28 page documents this operation"
    template, op = found
    where = f"{op.page}: {method} {template}"
    values: dict[str, list[str]] = {}
    for name, text in query:
        values.setdefault(name, []).append(text)
    missing = op.required - set(values)
    assert not missing, f"{where}: required query parameters missing: {sorted(missing)}"
    for name, texts in values.items():
        assert name in op.query, f"{where}: query parameter {name!r} is not documented"
        schema = op.query[name]
        shape = _resolved(schema, op.components)
        is_array = shape.get("type") == "array" or "array" in (shape.get("type") or [])
        assert is_array or len(texts) == 1, f"{where}: {name!r} repeated but not an array"
        try:
            items = _resolved(shape.get("items") or {}, op.components)
            value = [_typed(t, items) for t in texts] if is_array else _typed(texts[0], shape)
            jsonschema.validate(value, {**schema, "components": op.components})
        except (ValueError, jsonschema.ValidationError) as exc:
            raise AssertionError(f"{where}: query parameter {name!r}={texts!r}: {exc}") from None
    if op.body is not None and (body or op.body_required):
        assert body, f"{where}: the request body is required"
        try:
            jsonschema.validate(json.loads(body), {"allOf": [op.body], "components": op.components})
        except jsonschema.ValidationError as exc:
            raise AssertionError(f"{where}: body: {exc.message} at {list(exc.absolute_path)}") from None
    return op.page


_REQUESTS: Requests | None = None


def requests() -> Requests:
    """Return the request schemas (parsed once per session)."""
    global _REQUESTS
    if _REQUESTS is None:
        _REQUESTS = Requests()
    return _REQUESTS
