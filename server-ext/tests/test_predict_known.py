"""GET /carbon/predict/known: the codes and templates the gate's lookup may have a basis for."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import random
from pathlib import Path
from typing import Any

from jupyterlab_carbon.handlers import NAMESPACE
from jupyterlab_carbon.intensity import IntensitySettings, resolve_intensity
from jupyterlab_carbon.ledger import Ledger
from jupyterlab_carbon.predict.known import HASHES, CodeFilter
from jupyterlab_carbon.predict.service import CACHE_S, LookupRequest, PredictionService, code_hash, template_key

from .test_ledger import make_record


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def in_payload(payload: dict[str, Any], digest: str) -> bool:
    """The page's membership test (src/predict/known.ts), written again from the OpenAPI description."""
    codes = payload["codes"]
    array = base64.b64decode(codes["array"])
    first, second = int(digest[0:8], 16), int(digest[8:16], 16) | 1
    positions = [(first + i * second) % codes["bits"] for i in range(codes["hashes"])]
    return all(array[p >> 3] & (1 << (p & 7)) for p in positions)


def service_on(ledger: Ledger, clock: Clock) -> PredictionService:
    return PredictionService(ledger, lambda: resolve_intensity(IntensitySettings()), lambda: (None, None), clock=clock)


def test_positions_follow_the_documented_double_hashing() -> None:
    # The same digest and positions are checked on the page's side (src/predict/__tests__/known.spec.ts).
    codes = CodeFilter(1024)
    assert codes.bits == 9816 and HASHES == 7
    digest = "00000005" + "00000002" + "0" * 48  # h1 = 5, h2 = 2 made odd = 3
    assert codes.positions(digest) == [5, 8, 11, 14, 17, 20, 23]
    top = "ffffffff" + "fffffffe" + "0" * 48  # the largest words: exact arithmetic, no overflow
    assert codes.positions(top) == [(0xFFFFFFFF + i * 0xFFFFFFFF) % 9816 for i in range(7)]


def test_no_false_negatives_and_about_one_percent_false_positives() -> None:
    rng = random.Random(7)
    stored = [f"{rng.getrandbits(256):064x}" for _ in range(5000)]
    codes = CodeFilter(len(stored))
    for digest in stored:
        codes.add(digest)
    assert all(digest in codes for digest in stored)
    others = [f"{rng.getrandbits(256):064x}" for _ in range(20000)]
    false_positives = sum(digest in codes for digest in others)
    assert false_positives / len(others) < 0.02


def test_known_codes_follow_the_ledger_and_the_runs_recorded(tmp_path: Path) -> None:
    clock = Clock()
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        ledger.write_batch([], [make_record("a" * 32, code_hash=code_hash("fit()"))])
        ledger.write_batch([], [make_record("b" * 32, code_hash=None)])  # an imported run without code
        service = service_on(ledger, clock)
        payload = service.known()
        assert payload["codes"]["count"] == 1 and payload["refresh_s"] == CACHE_S
        assert in_payload(payload, code_hash("fit()"))
        assert not in_payload(payload, code_hash("fit(2)"))

        # Recorded by this server: known at once, without reading the ledger again.
        recorded = make_record("c" * 32, code_hash=code_hash("fit(2)"))
        service.run_recorded(recorded)
        assert in_payload(service.known(), code_hash("fit(2)"))

        # Recorded elsewhere (another server on the ledger, a headless run): known after CACHE_S.
        ledger.write_batch([], [make_record("d" * 32, code_hash=code_hash("fit(3)"))])
        assert not in_payload(service.known(), code_hash("fit(3)"))
        clock.now += CACHE_S
        assert in_payload(service.known(), code_hash("fit(3)"))


def test_a_code_outside_the_payload_has_no_basis(tmp_path: Path) -> None:
    """What the page relies on: lookups of codes in neither set answer null."""
    clock = Clock()
    rng = random.Random(3)
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        service = service_on(ledger, clock)
        ran = [f"x = {rng.randrange(10**6)}\ny = x * {i}" for i in range(30)]
        for i, code in enumerate(ran):
            record = make_record(f"{i:032x}", code_hash=code_hash(code), notebook_path="a.ipynb")
            ledger.write_batch([], [record])
            service.lookup(LookupRequest("k", "a.ipynb", "c1", code))
            service.run_recorded(record)
        payload = service.known()
        assert payload["templates"] == []  # no --flops runs
        for code in ran:
            assert in_payload(payload, code_hash(code))
            assert service.lookup(LookupRequest("k", "a.ipynb", "c1", code)) is not None
        for i in range(30):
            code = f"z = {i}\nprint(z)"
            if not in_payload(payload, code_hash(code)):
                assert service.lookup(LookupRequest("k", "a.ipynb", "c1", code)) is None


def test_templates_with_a_flops_run_are_known(tmp_path: Path) -> None:
    clock = Clock()
    flops = {"count": 2e9, "device": "cpu", "dtype": "float32"}
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        service = service_on(ledger, clock)
        small = "%%carbon --flops\ntrain(epochs=2)"
        service.lookup(LookupRequest("k", "a.ipynb", "c1", small))
        assert service.known()["templates"] == []
        record = make_record("a" * 32, code_hash=code_hash(small), notebook_path="a.ipynb", extra={"flops": flops})
        ledger.write_batch([], [record])
        service.run_recorded(record)
        key = template_key("%%carbon --flops\ntrain(epochs=#)")
        assert service.known()["templates"] == [key]
        assert hashlib.sha256(b"%%carbon --flops\ntrain(epochs=#)").hexdigest().startswith(key)
        # The scaled basis the key announces is there: the same cell with other numbers.
        bigger = LookupRequest("k", "a.ipynb", "c1", "%%carbon --flops\ntrain(epochs=20)")
        prediction = service.lookup(bigger)
        assert prediction is not None and prediction["basis"]["kind"] == "flops-scaled"

        # A server started later learns the template when a lookup finds the code's --flops run.
        fresh = service_on(ledger, clock)
        assert fresh.known()["templates"] == []
        fresh.lookup(LookupRequest("k", "a.ipynb", "c1", small))
        assert fresh.known()["templates"] == [key]


def test_unicode_digits_are_not_numbers_to_scale(tmp_path: Path) -> None:
    # The page's pattern matches ASCII digits only; the server's must blank the same ones.
    from jupyterlab_carbon.predict.service import NUMBER

    assert NUMBER.sub("#", "x = 12 + \u0663\u0664") == "x = # + \u0663\u0664"


async def test_known_endpoint(jp_fetch: Any, jp_serverapp: Any) -> None:
    ledger: Ledger = jp_serverapp.web_app.settings["jupyterlab_carbon"]["ledger"]
    record = dataclasses.replace(make_record("e" * 32), code_hash=code_hash("known()"))
    ledger.write_batch([], [record])
    response = await jp_fetch(NAMESPACE, "predict", "known")
    payload = json.loads(response.body)
    assert set(payload) == {"codes", "templates", "refresh_s"}
    assert in_payload(payload, code_hash("known()"))
    assert not in_payload(payload, code_hash("unknown()"))
