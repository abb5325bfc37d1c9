"""The bundled data files: well-formed, sourced, licensed, and exactly what build_data.py makes."""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from jupyterlab_carbon.data import (
    MEMORY_WATTS_PER_GB,
    cloud_provider_pue,
    cloud_regions,
    cpu_tdp,
    equivalences,
    gpu_tdp,
    grid_zones,
)
from jupyterlab_carbon.intensity import DEFAULT_EQUIVALENTS

SERVER_EXT = Path(__file__).resolve().parents[1]
DATA = SERVER_EXT / "jupyterlab_carbon" / "data"
SCRIPT = SERVER_EXT / "scripts" / "build_data.py"
REPO = SERVER_EXT.parent
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
CSV_FILES = (
    "grid_intensity.csv",
    "cloud_regions.csv",
    "cloud_provider_pue.csv",
    "equivalences.csv",
    "cpu_tdp.csv",
    "gpu_tdp.csv",
)


def rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_data", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def assert_number(text: str, minimum: float, what: str) -> float:
    assert NUMBER.fullmatch(text), f"{what}: {text!r} is not a number"
    value = float(text)
    assert math.isfinite(value) and value >= minimum, f"{what}: {value} < {minimum}"
    return value


@pytest.mark.parametrize("name", CSV_FILES)
def test_every_row_has_source_and_license(name: str) -> None:
    table = rows(name)
    assert table, f"{name} is empty"
    for row in table:
        assert row["source"].strip(), f"{name}: no source in {row}"
        assert row["license"].strip(), f"{name}: no license in {row}"
        assert set(row["license"].split(" AND ")) <= {"CC-BY-4.0", "MIT", "Apache-2.0"}, row


def test_grid_intensity_rows_are_numeric_dated_and_unique() -> None:
    table = rows("grid_intensity.csv")
    zones = [row["zone"] for row in table]
    assert len(zones) == len(set(zones)), "a zone appears twice"
    for row in table:
        assert_number(row["gco2e_per_kwh"], 0.0, row["zone"])
        assert re.fullmatch(r"(19|20)\d\d", row["year"]), row
        assert row["name"].strip() and row["reference"].strip(), row
        kind = row["kind"]
        if kind == "country":
            assert re.fullmatch(r"[A-Z]{2}", row["zone"]), row
        elif kind == "subnational":
            assert re.fullmatch(r"[A-Z]{2}-[A-Z0-9]+", row["zone"]), row
        else:
            assert (kind, row["zone"]) == ("world", "WORLD"), row


def test_grid_zones_cover_world_countries_and_regions() -> None:
    zones = grid_zones()
    assert zones["WORLD"].gco2e_per_kwh == 475
    assert zones["WORLD"].kind == "world"
    countries = [z for z in zones.values() if z.kind == "country"]
    assert len(countries) >= 200
    for code in ("FR", "US", "GB", "DE", "IN", "CN", "BR", "FI", "IL"):
        assert zones[code].kind == "country", code
    for code in ("US-CA", "US-TX", "CA-QC", "CA-MB", "AU-NSW", "SE-SE3", "NO-NO1"):
        assert zones[code].kind == "subnational", code
    assert "CA-MT" not in zones, "Manitoba must use its ISO 3166-2 code CA-MB"


def test_double_coverage_rule_newest_year_then_green_algorithms() -> None:
    build = load_build_script()
    candidate = build.ZoneCandidate
    old_ga = candidate("XX", "X", "country", 100.0, 2020, build.GA, "a", "r")
    new_cc = candidate("XX", "X", "country", 200.0, 2023, build.CC, "b", "r")
    same_year_cc = candidate("XX", "X", "country", 300.0, 2020, build.CC, "c", "r")
    undated_ga = candidate("XX", "X", "country", 400.0, None, build.GA, "d", "r")
    assert build.pick_zone([old_ga, new_cc]) is new_cc
    assert build.pick_zone([same_year_cc, old_ga]) is old_ga
    assert build.pick_zone([undated_ga, same_year_cc]) is same_year_cc


def test_cloud_regions_are_complete_and_point_at_known_zones() -> None:
    zones = grid_zones()
    table = rows("cloud_regions.csv")
    providers = {row["provider"] for row in table}
    assert providers == {"aws", "azure", "gcp"}
    for provider in providers:
        assert sum(row["provider"] == provider for row in table) >= 20, provider
    for row in table:
        assert_number(row["gco2e_per_kwh"], 0.0, row["region"])
        assert assert_number(row["pue"], 1.0, row["region"]) < 2.0
        assert row["pue_source"].strip() and row["location"].strip(), row
        assert row["year"] == "" or re.fullmatch(r"20\d\d", row["year"]), row
        if row["zone"]:
            assert row["zone"] in zones, row
        else:
            assert "(geography)" in row["location"], row
    keys = [(row["provider"], row["region"]) for row in table]
    assert len(keys) == len(set(keys))


def test_cloud_region_loader_and_provider_pue() -> None:
    regions = cloud_regions()
    assert regions[("aws", "us-east-1")].zone == "US-VA"
    assert regions[("azure", "westeurope")].zone == "NL"
    assert regions[("gcp", "europe-west1")].pue == 1.08  # Green Algorithms' datacentre figure
    fleet = cloud_provider_pue()
    assert {p: v.pue for p, v in fleet.items()} == {"aws": 1.135, "azure": 1.185, "gcp": 1.1}


def test_equivalences_factor_is_the_inverse_of_the_cited_value() -> None:
    table = equivalences()
    assert [e.key for e in table] == sorted(e.key for e in table)
    for row in table:
        assert row.per in ("gco2e", "wh"), row
        assert row.factor * row.reference_value_gco2e == pytest.approx(1.0), row
        assert row.reference.strip() and row.label.strip() and row.unit.strip(), row
    keys = {e.key for e in table}
    assert set(DEFAULT_EQUIVALENTS) <= keys
    assert {"car_km_eu", "tree_months", "streaming_hours", "flight_paris_london"} <= keys


@pytest.mark.parametrize("name", ["cpu_tdp.csv", "gpu_tdp.csv"])
def test_tdp_tables_are_numeric(name: str) -> None:
    table = rows(name)
    for row in table:
        assert row["model"].strip() == row["model"] and row["model"], row
        assert assert_number(row["tdp_watts"], 0.0, row["model"]) > 0
        assert row["cores"] == "" or int(row["cores"]) > 0, row
    assert len(table) > (4000 if name == "cpu_tdp.csv" else 15)


@pytest.mark.parametrize(
    ("brand", "model", "watts", "exact"),
    [
        ("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "Intel Xeon Platinum 8375C", 300, True),
        ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763", 280, True),
        ("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", "Core i7-8700K", 95, True),
        ("11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz", "Intel Core i7-1185G7", 28, True),
        ("Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz", "Xeon E5-2670", 115, False),
        ("Intel(R) Core(TM)2 Duo CPU     E8400  @ 3.00GHz", "Intel Core 2 Duo E8400", 65, True),
        ("AMD Ryzen 7 5800H with Radeon Graphics", "AMD Ryzen 7 5800H", 45, True),
        ("Apple M1", "Apple M1", 10, True),
    ],
)
def test_cpu_brand_strings_match_table_rows(brand: str, model: str, watts: float, exact: bool) -> None:
    match = cpu_tdp(brand)
    assert match is not None
    assert (match.model, match.tdp_watts, match.exact) == (model, watts, exact)
    assert match.source in ("Green Algorithms", "CodeCarbon") and match.license


def test_cpu_match_reports_cores_from_green_algorithms() -> None:
    match = cpu_tdp("AMD EPYC 7763 64-Core Processor")
    assert match is not None and match.cores == 64 and match.source == "Green Algorithms"


@pytest.mark.parametrize(
    "brand",
    [
        "AMD EPYC 7B13 64-Core Processor",  # not in either table
        "Apple M2",  # only the M1 is
        "Apple M1 Max",  # a different chip from the M1: no loose match
        "Intel(R) Xeon(R) CPU @ 2.20GHz",  # no model number at all
        "",
    ],
)
def test_unknown_cpus_do_not_match(brand: str) -> None:
    assert cpu_tdp(brand) is None


@pytest.mark.parametrize(
    ("name", "model", "watts", "exact"),
    [
        ("Tesla T4", "NVIDIA Tesla T4", 70, True),
        ("NVIDIA A100-PCIE-40GB", "NVIDIA A100 40GB PCIe", 250, True),
        ("NVIDIA GeForce RTX 2080 Ti", "NVIDIA RTX 2080 Ti", 250, True),
        ("Tesla V100-SXM2-16GB", "NVIDIA Tesla V100", 300, False),
        ("Tesla P100-PCIE-16GB", "NVIDIA Tesla P100 PCIe", 250, False),
    ],
)
def test_gpu_names_match_table_rows(name: str, model: str, watts: float, exact: bool) -> None:
    match = gpu_tdp(name)
    assert match is not None
    assert (match.model, match.tdp_watts, match.exact) == (model, watts, exact)


@pytest.mark.parametrize("name", ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"])
def test_unknown_gpus_do_not_match(name: str) -> None:
    assert gpu_tdp(name) is None


def test_memory_power_is_green_algorithms_figure_and_documented(reference_data: Path) -> None:
    build = load_build_script()
    reference = build.read_dicts(reference_data / "green-algorithms" / "referenceValues.csv", skip=1)
    (memory_power,) = [row for row in reference if row["variable"] == "memoryPower"]
    assert float(memory_power["value"]) == MEMORY_WATTS_PER_GB
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert f"{MEMORY_WATTS_PER_GB} W per GB of RAM" in readme


def test_loaders_return_copies() -> None:
    zones = grid_zones()
    zones.pop("FR")
    assert "FR" in grid_zones()
    listed = equivalences()
    listed.clear()
    assert equivalences()


def test_readme_documents_every_file_and_the_required_credits() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for name in CSV_FILES:
        assert f"`{name}`" in readme, name
    licenses = sorted(p.name for p in (DATA / "licenses").iterdir())
    assert len(licenses) == 4
    for name in licenses:
        assert name in readme, name
    assert "Green Algorithms (Lannelongue, Grealey, Inouye 2021)" in readme
    for notice in ("CC BY 4.0", "MIT", "Apache-2.0", "CodeCarbon", "Cloud Carbon Footprint"):
        assert notice in readme, notice


def reference_data_candidates() -> list[Path]:
    """Where the raw reference data may be: beside this checkout, or beside the one it was cloned from.

    A clean clone (CI, ../shared/tools/clean-clone-check) may sit in a fresh directory of its own;
    its `origin` is then the working checkout, which has shared/data beside it.
    """
    candidates = [REPO.parent / "shared" / "data"]
    origin = subprocess.run(
        ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"], capture_output=True, text=True
    ).stdout.strip()
    origin_path = Path(origin.removeprefix("file://"))
    if origin_path.is_absolute() and origin_path.is_dir():
        candidates.append(origin_path.resolve().parent / "shared" / "data")
    return candidates


@pytest.fixture
def reference_data() -> Path:
    """The raw reference data; its absence fails the test under CI and skips it elsewhere."""
    candidates = reference_data_candidates()
    for candidate in candidates:
        if (candidate / "SOURCES.md").is_file():
            return candidate
    message = "the raw reference data (shared/data) is in none of: " + ", ".join(map(str, candidates))
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_build(shared: Path, out: Path) -> dict[str, bytes]:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--shared", str(shared), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return {
        str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()
    }


def test_build_is_deterministic_and_matches_committed_files(reference_data: Path, tmp_path: Path) -> None:
    first = run_build(reference_data, tmp_path / "one")
    second = run_build(reference_data, tmp_path / "two")
    assert first == second
    assert set(CSV_FILES) <= set(first)
    for name, content in first.items():
        assert (DATA / name).read_bytes() == content, f"{name} differs: rerun scripts/build_data.py"
