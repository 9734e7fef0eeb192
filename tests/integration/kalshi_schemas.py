"""Kalshi's official response schemas, for validating what the sim answers.

Precedence (the newest, most authoritative first):

1. OpenAPI 3.28 excerpts embedded in the docs pages (``docs-2026-08-22/api-reference/**.md``,
   one ```` ```yaml ```` block per page); where several pages document one operation, the page
   with the newest front-matter ``lastmod`` judges it;
2. PROTOCOL.md (the error envelope ``{"error": {code, message, details}}``, the 429 body
   ``{"error": "too many requests"}`` and the top-level ``bad_request`` body, which no spec shows);
3. the 3.13 OpenAPI file (``spec/openapi.yaml``), with fields Kalshi removed since listed in
   :data:`REMOVED_FIELDS` and skipped.

A page embeds its excerpt in one of two shapes. The classic one is an OpenAPI document whose
``paths`` maps ``{template: {method: operation}}``. The other is Mintlify's resolved operation:
``paths`` is one operation, ``{path, method, request, response, type: "path", ...}``, whose
``response`` maps ``{status: {content type: {schemaArray: [schema, ...], examples,
description}}}``, each schema resolved one level (its properties inline, each wrapped in
``allOf``; ``requiredProperties`` for ``required``; ``refIdentifier`` naming the component it was
resolved from; ``type: any`` for an undocumented body) with deeper ``$ref`` s pointing into the
page's ``components``. :func:`_classic_paths` turns the second shape into the first, so the rest
of the module reads one shape.

Parts: :func:`available`, the shape converters (:func:`_classic_paths`,
:func:`_classic_response`, :func:`classic_schema`), the OpenAPI-to-JSON-Schema helpers, the
:class:`Schemas` tables and validator, :func:`schemas` (loaded once) and :func:`strict`.

Spec files are read from ``<repo>/../shared/kalshi/`` (or ``$CENTBOOK_KALSHI_SPECS``).
"""

from __future__ import annotations

import copy
import glob
import os
import re
from typing import Any

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC_ROOT = os.environ.get("CENTBOOK_KALSHI_SPECS") or os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "shared", "kalshi")
)
DOCS_DIR = os.path.join(SPEC_ROOT, "docs-2026-08-22", "api-reference")
OPENAPI_313 = os.path.join(SPEC_ROOT, "spec", "openapi.yaml")

# Fields the 3.13 schemas still require but Kalshi has removed since (PROTOCOL.md 0.1, 4.x, 8).
REMOVED_FIELDS = frozenset(
    {
        "yes_price",
        "no_price",
        "count",
        "remaining_count",
        "fill_count",
        "initial_count",
        "taker_fees",
        "maker_fees",
        "position",
        "market_exposure",
        "realized_pnl",
        "fees_paid",
        "total_traded",
        "resting_orders_count",
        "tick_size",
        "response_price_units",
        "fractional_trading_enabled",
        "queue_position",
        "service",
    }
)


def available() -> bool:
    """True if the spec files are present (tests needing them skip otherwise)."""
    return os.path.isdir(DOCS_DIR) and os.path.isfile(OPENAPI_313)


def openapi_to_jsonschema(node: Any) -> Any:
    """Turn OpenAPI 3.0 ``nullable`` into JSON Schema and drop vendor keys."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-")}
    if out.pop("nullable", False):
        if "type" in out and "$ref" not in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


def _strip_removed(node: Any) -> Any:
    if isinstance(node, list):
        return [_strip_removed(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strip_removed(v) for k, v in node.items()}
    if isinstance(out.get("required"), list):
        out["required"] = [r for r in out["required"] if r not in REMOVED_FIELDS]
    return out


def template_rx(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")


# Keywords whose value is one schema, or a list of schemas, in a resolved (Mintlify) schema.
_SUBSCHEMA = ("items", "additionalProperties", "not")
_SUBSCHEMAS = ("allOf", "anyOf", "oneOf")


def classic_schema(node: Any) -> Any:
    """Turn a Mintlify resolved schema into an OpenAPI schema.

    ``requiredProperties`` becomes ``required``; a property marked ``required: true`` joins its
    parent's ``required``; ``type: any`` is dropped (any value); ``refIdentifier`` (which
    component the schema was resolved from) is dropped; a boolean ``required`` left on a node
    (a request body's "the body is required") is dropped, not being JSON Schema.
    """
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    own = node.get("required")
    required = list(own) if isinstance(own, list) else []
    for name in node.get("requiredProperties") or ():
        if name not in required:
            required.append(name)
    for key, value in node.items():
        if key in ("refIdentifier", "requiredProperties", "required"):
            continue
        if key == "type" and value == "any":
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: classic_schema(sub) for name, sub in value.items()}
            required += [
                name
                for name, sub in value.items()
                if isinstance(sub, dict) and sub.get("required") is True and name not in required
            ]
        elif key in _SUBSCHEMA:
            out[key] = classic_schema(value)
        elif key in _SUBSCHEMAS and isinstance(value, list):
            out[key] = [classic_schema(sub) for sub in value]
        else:
            out[key] = value
    if required:
        out["required"] = required
    return out


def _classic_response(response: dict[str, Any]) -> dict[str, Any]:
    """Turn a resolved ``{content type: {schemaArray, examples, description}}`` into an OpenAPI response.

    Several entries in ``schemaArray`` are alternatives (``anyOf``). A content type other than
    ``application/json`` (Mintlify writes ``_mintlify/placeholder`` for a status it documents
    without a body) is kept as it is, so such a status documents no JSON body.
    """
    content: dict[str, Any] = {}
    description = ""
    for content_type, media in response.items():
        media = media or {}
        description = description or media.get("description", "")
        alternatives = [classic_schema(s) for s in media.get("schemaArray") or ()]
        if len(alternatives) > 1:
            content[content_type] = {"schema": {"anyOf": alternatives}}
        elif alternatives:
            content[content_type] = {"schema": alternatives[0]}
        else:
            content[content_type] = {}
    return {"description": description, "content": content}


def _classic_paths(doc: dict[str, Any]) -> dict[str, Any]:
    """Return a document's ``paths`` as ``{template: {method: operation}}`` whatever its shape.

    A resolved single operation (``paths: {path, method, response, ...}``) becomes one template
    with one method whose operation holds only ``responses``: requests are not validated here.
    """
    paths = doc.get("paths") or {}
    if not isinstance(paths.get("path"), str):
        return paths
    responses = {
        str(status): _classic_response(r or {}) for status, r in (paths.get("response") or {}).items()
    }
    return {paths["path"]: {str(paths["method"]).lower(): {"responses": responses}}}


def _mismatch(errors: list[jsonschema.ValidationError], judge: str) -> jsonschema.ValidationError:
    """Return the first error, its message naming the judge (page and operation) and every error."""
    found = "; ".join(f"at {'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in errors)
    error = errors[0]
    error.message = f"{judge}: {found}"
    return error


class Schemas:
    """Response validators by (method, path template, status)."""

    def __init__(self) -> None:
        # (method, template) -> {"status": schema, ...}, with the components of its document
        self.docs: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        self.old: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        # (method, template) -> (lastmod, page relative to DOCS_DIR) of the page judging it
        self.pages: dict[tuple[str, str], tuple[str, str]] = {}
        for path in sorted(glob.glob(os.path.join(DOCS_DIR, "*", "*.md"))):
            text = open(path, encoding="utf-8").read()
            m = re.search(r"````yaml [^\n]*\n(.*?)\n````", text, re.S)
            if not m:
                continue
            stamp = re.search(r"^lastmod:\s*(\S+)", text, re.M)
            origin = (stamp.group(1) if stamp else "", os.path.relpath(path, DOCS_DIR))
            for key, entry in self._operations(yaml.safe_load(m.group(1)), strip=False):
                # a stale copy of a page must not judge an operation its current page documents
                if key not in self.pages or origin[0] >= self.pages[key][0]:
                    self.docs[key] = entry
                    self.pages[key] = origin
        with open(OPENAPI_313, encoding="utf-8") as fh:
            self.old.update(self._operations(yaml.safe_load(fh), strip=True))
        self._cache: dict[Any, jsonschema.protocols.Validator] = {}

    @staticmethod
    def _operations(
        doc: dict[str, Any], strip: bool
    ) -> list[tuple[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]]]:
        """Return ``((method, template), (responses, components))`` for each operation of ``doc``."""
        components = openapi_to_jsonschema(doc.get("components") or {})
        if strip:
            components = _strip_removed(components)
        found = []
        for template, ops in _classic_paths(doc).items():
            for method, op in ops.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                found.append(((method.upper(), template), (op["responses"], components)))
        return found

    @staticmethod
    def _find(table: dict[Any, Any], method: str, path: str) -> tuple[str, Any] | None:
        best = None
        for (m, template), entry in table.items():
            if m == method and template_rx(template).match(path):
                literal = template.count("/") - template.count("{")
                if best is None or literal > best[0]:
                    best = (literal, template, entry)
        return None if best is None else (best[1], best[2])

    def _response_schema(
        self, responses: dict[str, Any], components: dict[str, Any], status: int
    ) -> dict[str, Any] | None:
        resp = responses.get(str(status))
        if resp is None:
            return None
        if "$ref" in resp:  # '#/components/responses/X'
            resp = components.get("responses", {}).get(resp["$ref"].rsplit("/", 1)[-1], {})
        schema = resp.get("content", {}).get("application/json", {}).get("schema")
        return openapi_to_jsonschema(schema) if schema is not None else None

    def validate(self, method: str, path: str, status: int, body: Any) -> str:
        """Validate a response body; return which source judged it ('docs-3.28', 'protocol', '3.13', 'none').

        Raises
        ------
        jsonschema.ValidationError
            If the body does not conform.
        """
        if status == 429:
            assert body == {"error": "too many requests"}, body
            return "protocol"
        if status >= 400:
            if isinstance(body, dict) and "error" in body:
                inner = body["error"]
                assert (
                    isinstance(inner, dict)
                    and isinstance(inner.get("code"), str)
                    and isinstance(inner.get("message"), str)
                ), body
                error_schema = {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {"type": "string"},
                    },
                    "required": ["code", "message"],
                    "additionalProperties": False,
                }
                jsonschema.validate(inner, error_schema)
                return "protocol"
            assert body.get("code") == "bad_request" and "message" in body, body
            return "protocol"
        candidates = []
        for rank, (source, table) in enumerate((("docs-3.28", self.docs), ("3.13", self.old))):
            found = self._find(table, method, path)
            if found is not None:
                template = found[0]
                # the most specific template wins (/markets/orderbooks over /markets/{ticker}),
                # then the newer source
                candidates.append((-(template.count("/") - template.count("{")), rank, source, found))
        if candidates:
            _, _, source, (template, (responses, components)) = min(candidates, key=lambda c: c[:2])
            schema = self._response_schema(responses, components, status)
            if schema is None:
                raise AssertionError(f"{source}: {method} {template} documents no {status} response")
            key = (source, method, template, status)
            validator = self._cache.get(key)
            if validator is None:
                root = {"allOf": [schema], "components": components}
                validator = jsonschema.Draft7Validator(root)
                self._cache[key] = validator
            errors = list(validator.iter_errors(body))
            if errors:
                page = self.pages[(method, template)][1] if source == "docs-3.28" else "spec/openapi.yaml"
                raise _mismatch(errors, f"{source} {page}: {method} {template} {status}")
            return source
        return "none"


_SCHEMAS: Schemas | None = None


def schemas() -> Schemas:
    """Return the loaded schemas (parsed once per session)."""
    global _SCHEMAS
    if _SCHEMAS is None:
        _SCHEMAS = Schemas()
    return _SCHEMAS


def strict(component: str, source: str = "docs") -> dict[str, Any]:
    """Return a component schema (for checks the responses table does not reach)."""
    s = schemas()
    table = s.docs if source == "docs" else s.old
    for _responses, components in table.values():
        if component in components.get("schemas", {}):
            return copy.deepcopy({"allOf": [components["schemas"][component]], "components": components})
    raise KeyError(component)
