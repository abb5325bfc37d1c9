"""The REST endpoints through a real Jupyter server, with a fake RAPL tree advancing in real time."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPClientError

from jupyterlab_carbon.handlers import NAMESPACE, ROUTES

STATUS_KEYS = {
    "version", "hostname", "sample_period_s", "history_samples", "channels", "diagnoses", "modeled", "ledger"
}
CHANNEL_KEYS = {"id", "domain", "label", "kind", "method", "source", "resolution_j", "device"}
DIAGNOSIS_KEYS = {"source", "status", "message", "path", "fix"}
RUN_ID_GROUP = "([^/]+)"  # the run route takes any segment and checks it itself


async def get_json(jp_fetch: Any, *path: str) -> Any:
    response = await jp_fetch(NAMESPACE, *path)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def test_status_lists_the_measured_zones(jp_fetch: Any) -> None:
    status = await get_json(jp_fetch, "status")
    assert set(status) == STATUS_KEYS
    assert [c["id"] for c in status["channels"]] == ["cpu/package-0", "dram/package-0"]
    assert all(set(c) == CHANNEL_KEYS for c in status["channels"])
    assert all(c["method"] == "measured-counter" for c in status["channels"])
    assert all(set(d) == DIAGNOSIS_KEYS for d in status["diagnoses"])
    assert status["modeled"] is False
    assert status["sample_period_s"] == pytest.approx(0.05)


async def test_power_matches_the_fake_profile(jp_fetch: Any) -> None:
    await asyncio.sleep(0.5)  # let the sampler collect a few samples
    power = await get_json(jp_fetch, "power")
    assert set(power) >= {"time", "total_w", "channels", "modeled", "window_s"}
    by_id = {c["id"]: c for c in power["channels"]}
    # package-0 draws 20 W and DRAM 3 W in the fake tree (core/uncore are inside the package).
    assert by_id["cpu/package-0"]["watts"] == pytest.approx(20.0, rel=0.1)
    assert by_id["dram/package-0"]["watts"] == pytest.approx(3.0, rel=0.1)
    assert power["total_w"] == pytest.approx(23.0, rel=0.1)


async def test_every_handler_requires_authentication(http_server_client: Any, jp_base_url: str) -> None:
    assert ROUTES
    unrouted = "no-such-endpoint"  # answered by the JSON 404 fallback, after authentication too
    for path in [*(pattern.replace(RUN_ID_GROUP, "0" * 32) for pattern, _ in ROUTES), unrouted]:
        url = url_path_join(jp_base_url, NAMESPACE, path)
        for method, body in (("GET", None), ("PUT", "{}"), ("DELETE", None)):
            with pytest.raises(HTTPClientError) as refused:
                await http_server_client.fetch(url, method=method, body=body, request_timeout=10)
            assert refused.value.code == 403, (method, path)
            assert json.loads(refused.value.response.body)["code"] == 403, (method, path)


def test_the_openapi_file_documents_every_route() -> None:
    import re
    from pathlib import Path

    import yaml

    spec = yaml.safe_load((Path(__file__).parents[1] / "openapi.yaml").read_text())
    documented = {re.sub(r"\{[^}]+\}", "{}", path.strip("/")) for path in spec["paths"]}
    served = {pattern.replace(RUN_ID_GROUP, "{}") for pattern, _ in ROUTES}
    assert documented == served


def test_jupyter_finds_every_verb_authenticated() -> None:
    """jupyter_server's own check, which warns about (and CI fails on) an unauthenticated verb."""
    from jupyter_server.serverapp import ServerWebApplication

    from jupyterlab_carbon.handlers import FALLBACK_ROUTE
    from jupyterlab_carbon.handlers.meters import StatusHandler

    def unauthenticated(handler: type[Any]) -> list[str]:
        return ServerWebApplication._check_handler_auth(None, "carbon/x", handler)  # type: ignore[arg-type]

    for path, handler in [*ROUTES, FALLBACK_ROUTE]:
        assert unauthenticated(handler) == [], path

    class Open(StatusHandler):  # the check does see a verb without the decorator
        def get(self) -> None:
            self.write_json({})

    assert len(unauthenticated(Open)) == 1
