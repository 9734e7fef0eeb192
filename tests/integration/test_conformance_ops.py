"""Every operation of Kalshi's 3.28 reference is served by the sim or refused the way Kalshi refuses.

The operations come from the OpenAPI excerpts of the pages (``kalshi_schemas``); the sim's are its
router's. An operation the sim does not simulate must be listed in
:data:`centbook.sim.http.unsimulated.UNSIMULATED` with a status its page documents, and calling it
must give Kalshi's error envelope, never the router's bare 404.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
from conftest import KalshiTestClient
from kalshi_requests import UNDOCUMENTED

import centbook
from centbook.rest.operations import OPERATIONS
from centbook.sim import build, run_sim
from centbook.sim.http.app import API
from centbook.sim.http.unsimulated import UNSIMULATED
from scripts.conformance_doc import render


def _shape(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template)


def _sim_operations() -> set[tuple[str, str]]:
    server, _ = build(None, 0, None, None, False)
    found = set()
    for route in server.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith(API + "/"):
            found.add((route.method, _shape(path[len(API) :])))
    return found


def test_every_documented_operation_is_served_or_refused(specs: Any) -> None:
    served = _sim_operations()
    refused = {(m, _shape(t)): status for m, t, status in UNSIMULATED}
    missing = []
    for (method, template), (responses, _components) in specs.docs.items():
        key = (method, _shape(template))
        if key not in served:
            missing.append(f"{method} {template}")
        elif key in refused:
            status = refused[key]
            documented = {int(s) for s in responses if s.isdigit()}
            expected = next((c for c in (403, 404, 400) if c in documented), 404)
            assert status == expected, (method, template, status, sorted(documented))
    assert not missing, f"documented operations the sim neither serves nor refuses: {missing}"
    documented_shapes = {(m, _shape(t)) for m, t in specs.docs}
    stale = [key for key in refused if key not in documented_shapes]
    assert not stale, f"UNSIMULATED lists operations no page documents: {stale}"


def test_unsimulated_operations_answer_kalshis_error_envelope(arun1: Any, specs: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=14, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            c = KalshiTestClient(s, sim.rest_url, sim.api_key_id, sim.private_key_pem)
            for method, template, status in UNSIMULATED:
                path = re.sub(r"\{[^}]+\}", "x1", template)
                got, answer = await c.request(method, path, json={} if method in ("POST", "PUT") else None)
                assert got == status, (method, template, got, answer)
                assert "does not simulate" in answer["error"]["details"], answer
                assert c.sources[-1] == "protocol"
            collections = await c.get("/multivariate_event_collections", auth=False)
            assert collections["multivariate_contracts"] == [] and c.sources[-1] == "docs-3.28"
            assert (await c.get("/events/multivariate", auth=False))["events"] == []
            got, _ = await c.request("GET", "/multivariate_event_collections/KXMVE", auth=False)
            assert got == 404

    arun1(body())


def test_the_conformance_page_is_current(specs: Any) -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"
    assert page.read_text(encoding="utf-8") == render(), (
        "docs/conformance.md is stale: run python -m scripts.conformance_doc"
    )


def test_the_client_operation_table_names_real_methods_and_documented_operations(specs: Any) -> None:
    documented = {(m, _shape(t)) for m, t in specs.docs} | {(m, _shape(t)) for m, t in UNDOCUMENTED}
    for name, operations in OPERATIONS.items():
        assert callable(getattr(centbook.RestClient("http://127.0.0.1:1"), name, None)), name
        for method, template in operations:
            assert (method, _shape(template)) in documented, (name, method, template)
