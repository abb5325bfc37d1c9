"""CodeCarbon's emissions.csv both ways, without a server: the export's columns and units, the import's checks."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jupyterlab_carbon.intensity.impact import compute_impact
from jupyterlab_carbon.intensity.resolve import ResolvedIntensity
from jupyterlab_carbon.ledger.codecarbon import (
    CODECARBON_COLUMNS,
    EXPORT_COLUMNS,
    MAX_IMPORT_ROWS,
    ImportProblem,
    csv_header,
    csv_rows,
    export_row,
    parse_emissions_csv,
)
from jupyterlab_carbon.records import ChannelEnergy, RunRecord

# The header CodeCarbon 3.3.2 writes (codecarbon/output_methods/emissions_data.py, EmissionsData).
CODECARBON_3_3_HEADER = [
    "timestamp",
    "project_name",
    "run_id",
    "experiment_id",
    "duration",
    "emissions",
    "emissions_rate",
    "cpu_power",
    "gpu_power",
    "ram_power",
    "cpu_energy",
    "gpu_energy",
    "ram_energy",
    "energy_consumed",
    "water_consumed",
    "country_name",
    "country_iso_code",
    "region",
    "cloud_provider",
    "cloud_region",
    "os",
    "python_version",
    "codecarbon_version",
    "cpu_count",
    "cpu_model",
    "gpu_count",
    "gpu_model",
    "longitude",
    "latitude",
    "ram_total_size",
    "tracking_mode",
    "cpu_utilization_percent",
    "gpu_utilization_percent",
    "ram_utilization_percent",
    "ram_used_gb",
    "on_cloud",
    "pue",
    "wue",
]
# The header CodeCarbon 3.0.0 (and 2.8.4) writes: no water, no utilisation columns.
CODECARBON_3_0_HEADER = [
    "timestamp",
    "project_name",
    "run_id",
    "experiment_id",
    "duration",
    "emissions",
    "emissions_rate",
    "cpu_power",
    "gpu_power",
    "ram_power",
    "cpu_energy",
    "gpu_energy",
    "ram_energy",
    "energy_consumed",
    "country_name",
    "country_iso_code",
    "region",
    "cloud_provider",
    "cloud_region",
    "os",
    "python_version",
    "codecarbon_version",
    "cpu_count",
    "cpu_model",
    "gpu_count",
    "gpu_model",
    "longitude",
    "latitude",
    "ram_total_size",
    "tracking_mode",
    "on_cloud",
    "pue",
]
CODECARBON_2_8_HEADER = CODECARBON_3_0_HEADER
# The header CodeCarbon 2.0.0 writes (codecarbon/output.py, EmissionsData): no experiment_id,
# codecarbon_version or pue.
CODECARBON_2_0_HEADER = [
    "timestamp",
    "project_name",
    "run_id",
    "duration",
    "emissions",
    "emissions_rate",
    "cpu_power",
    "gpu_power",
    "ram_power",
    "cpu_energy",
    "gpu_energy",
    "ram_energy",
    "energy_consumed",
    "country_name",
    "country_iso_code",
    "region",
    "cloud_provider",
    "cloud_region",
    "os",
    "python_version",
    "cpu_count",
    "cpu_model",
    "gpu_count",
    "gpu_model",
    "longitude",
    "latitude",
    "ram_total_size",
    "tracking_mode",
    "on_cloud",
]

# One run as CodeCarbon writes it: 0.3 kWh on a laptop in France, 2 GPUs.
CODECARBON_VALUES = {
    "timestamp": "2025-03-04T10:20:30",
    "project_name": "training",
    "run_id": "6f1e8c4e-2a31-4c4f-9d5e-0c1b2a3d4e5f",
    "experiment_id": "5b0fa12a-3dd7-45bb-9766-cc326314d9f1",
    "duration": "3600.5",
    "emissions": "0.0168",
    "emissions_rate": "4.666e-06",
    "cpu_power": "42.5",
    "gpu_power": "250.0",
    "ram_power": "10.0",
    "cpu_energy": "0.05",
    "gpu_energy": "0.24",
    "ram_energy": "0.01",
    "energy_consumed": "0.3",
    "water_consumed": "0.0",
    "country_name": "France",
    "country_iso_code": "FRA",
    "region": "ile-de-france",
    "cloud_provider": "",
    "cloud_region": "",
    "os": "Linux-6.1.0-x86_64-with-glibc2.36",
    "python_version": "3.11.2",
    "codecarbon_version": "3.3.2",
    "cpu_count": "16",
    "cpu_model": "AMD Ryzen 7 PRO 7840U",
    "gpu_count": "2",
    "gpu_model": "2 x NVIDIA RTX A4000",
    "longitude": "2.35",
    "latitude": "48.85",
    "ram_total_size": "32.0",
    "tracking_mode": "machine",
    "cpu_utilization_percent": "35.0",
    "gpu_utilization_percent": "90.0",
    "ram_utilization_percent": "40.0",
    "ram_used_gb": "12.8",
    "on_cloud": "N",
    "pue": "1.0",
    "wue": "0.0",
}
JOULES_PER_KWH = 3.6e6


def codecarbon_file(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return out.getvalue().encode()


def one_run(**changes: str) -> dict[str, str]:
    return {**CODECARBON_VALUES, **changes}


def intensity(**changes: Any) -> ResolvedIntensity:
    fields: dict[str, Any] = {
        "gco2e_per_kwh": 216.43,
        "method": "user-zone",
        "zone": "US-CA",
        "zone_name": "California, United States of America",
        "source": "carbonfootprint.com via Green Algorithms",
        "year": 2020,
        "license": "CC-BY-4.0",
        "pue": 1.2,
        "pue_source": "the user's value",
        "is_assumption": False,
        "message": "216 gCO2e/kWh",
    }
    fields.update(changes)
    return ResolvedIntensity(**fields)


def channel(
    channel_id: str, domain: str, label: str, attributed_j: float, method: str = "measured-counter"
) -> ChannelEnergy:
    return ChannelEnergy(channel_id, label, domain, method, attributed_j * 2, 0.5, attributed_j, 0.0, attributed_j)


def notebook_run(impact: ResolvedIntensity | None = None, channels: list[ChannelEnergy] | None = None) -> RunRecord:
    """A 10 s notebook run: 72 J of CPU package, 18 J of DRAM, 270 J of one GPU."""
    channels = channels or [
        channel("cpu/package-0", "cpu", "package-0", 72.0),
        channel("dram/package-0", "dram", "dram", 18.0),
        channel("gpu/0", "gpu", "GPU 0: NVIDIA A100-SXM4-40GB", 270.0),
    ]
    attributed = sum(c.attributed_j for c in channels)
    return RunRecord(
        run_id="0123456789abcdef0123456789abcdef",
        kernel_id="k1",
        msg_id="m1",
        started_at=1_750_000_000.25,
        ended_at=1_750_000_010.25,
        status="ok",
        node_j=attributed * 2,
        attributed_j=attributed,
        idle_j=0.0,
        active_j=attributed,
        channels=channels,
        methods=sorted({c.method for c in channels}),
        flags=["below-resolution"],
        host="node1",
        notebook_path="work/train.ipynb",
        execution_count=7,
        code_preview='model.fit(x, y, epochs=3)  # "quoted", comma',
        impact=None if impact is None else compute_impact(attributed, impact, 0.25, "EUR").to_json(),
        experiment="resnet sweep",
        tags=["baseline", "gpu"],
        metrics={"accuracy": 0.93, "loss": 0.21},
        user="alice",
    )


def exported(records: list[RunRecord]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_header() + csv_rows(records))))


# -- export ---------------------------------------------------------------------------------


def test_the_export_starts_with_codecarbon_3_3_columns_in_order() -> None:
    header = next(csv.reader(io.StringIO(csv_header())))
    assert len(CODECARBON_COLUMNS) == 38
    assert header[:38] == CODECARBON_3_3_HEADER
    assert header == list(EXPORT_COLUMNS)
    assert len(set(header)) == len(header)
    for column in ("device_methods", "intensity_source", "intensity_year", "flags", "notebook", "cell"):
        assert column in header[38:]
    for column in ("code_first_line", "experiment", "tags", "metrics", "ledger_run_id", "user", "source"):
        assert column in header[38:]


def test_codecarbon_units_and_the_pue_in_every_energy_and_power() -> None:
    (row,) = exported([notebook_run(intensity())])
    pue, duration = 1.2, 10.0
    assert float(row["duration"]) == duration
    assert float(row["pue"]) == pue
    # kWh, PUE included, as CodeCarbon's; the devices add up to the total.
    assert float(row["cpu_energy"]) == pytest.approx(72 * pue / JOULES_PER_KWH)
    assert float(row["ram_energy"]) == pytest.approx(18 * pue / JOULES_PER_KWH)
    assert float(row["gpu_energy"]) == pytest.approx(270 * pue / JOULES_PER_KWH)
    assert float(row["energy_consumed"]) == pytest.approx(360 * pue / JOULES_PER_KWH)
    # Average watts over the run.
    assert float(row["cpu_power"]) == pytest.approx(72 * pue / duration)
    assert float(row["gpu_power"]) == pytest.approx(270 * pue / duration)
    assert float(row["ram_power"]) == pytest.approx(18 * pue / duration)
    # kg CO2eq and kg/s.
    kg = 360 * pue / JOULES_PER_KWH * 216.43 / 1000
    assert float(row["emissions"]) == pytest.approx(kg)
    assert float(row["emissions_rate"]) == pytest.approx(kg / duration)
    # Our own column keeps the energy without the PUE.
    assert float(row["energy_kwh"]) == pytest.approx(360 / JOULES_PER_KWH)


def test_the_exported_place_hardware_and_provenance() -> None:
    (row,) = exported([notebook_run(intensity())])
    assert datetime.fromisoformat(row["timestamp"]).timestamp() == 1_750_000_010.25
    assert row["project_name"] == row["experiment"] == "resnet sweep"
    assert row["run_id"] == "01234567-89ab-cdef-0123-456789abcdef"
    assert row["ledger_run_id"] == "0123456789abcdef0123456789abcdef"
    assert (row["country_name"], row["country_iso_code"]) == ("United States", "USA")
    assert row["region"] == "California, United States of America"
    assert (row["on_cloud"], row["cloud_provider"], row["cloud_region"]) == ("N", "", "")
    assert (row["gpu_count"], row["gpu_model"]) == ("1", "1 x NVIDIA A100-SXM4-40GB")
    assert row["tracking_mode"] == "process"
    # Unknown to a run record: empty, never a guess. CodeCarbon's version is not ours to claim.
    for column in (
        "os",
        "python_version",
        "codecarbon_version",
        "cpu_count",
        "cpu_model",
        "longitude",
        "latitude",
        "ram_total_size",
        "water_consumed",
        "wue",
        "experiment_id",
        "cpu_utilization_percent",
        "ram_used_gb",
    ):
        assert row[column] == "", column
    assert row["jupyterlab_carbon_version"]
    assert json.loads(row["device_methods"]) == {
        "cpu/package-0": "measured-counter",
        "dram/package-0": "measured-counter",
        "gpu/0": "measured-counter",
    }
    assert (row["intensity_source"], row["intensity_year"]) == ("carbonfootprint.com via Green Algorithms", "2020")
    assert json.loads(row["flags"]) == ["below-resolution"]
    assert (row["notebook"], row["cell"]) == ("work/train.ipynb", "7")
    assert row["code_first_line"] == 'model.fit(x, y, epochs=3)  # "quoted", comma'
    assert json.loads(row["tags"]) == ["baseline", "gpu"]
    assert json.loads(row["metrics"]) == {"accuracy": 0.93, "loss": 0.21}
    assert (row["user"], row["source"], row["status"]) == ("alice", "server", "ok")
    assert (float(row["cost"]), row["currency"]) == (pytest.approx(360 * 1.2 / JOULES_PER_KWH * 0.25), "EUR")


def test_a_cloud_run_and_psys_as_cpu_energy() -> None:
    cloud = intensity(zone="IE", zone_name="Ireland", cloud_provider="aws", cloud_region="eu-west-1", pue=1.135)
    record = notebook_run(cloud, channels=[channel("psys/psys", "psys", "psys", 100.0)])
    (row,) = exported([record])
    assert (row["on_cloud"], row["cloud_provider"], row["cloud_region"]) == ("Y", "aws", "eu-west-1")
    assert (row["country_name"], row["country_iso_code"], row["region"]) == ("Ireland", "IRL", "")
    # psys covers the whole platform: CodeCarbon's CPU energy (as with its rapl_prefer_psys), no RAM apart.
    assert float(row["cpu_energy"]) == pytest.approx(100 * 1.135 / JOULES_PER_KWH)
    assert row["ram_energy"] == row["ram_power"] == row["gpu_energy"] == row["gpu_count"] == ""


def test_a_run_without_an_impact_leaves_the_pue_dependent_columns_empty() -> None:
    (row,) = exported([notebook_run(None)])
    for column in ("emissions", "emissions_rate", "energy_consumed", "cpu_energy", "cpu_power", "pue", "on_cloud"):
        assert row[column] == "", column
    assert float(row["energy_kwh"]) == pytest.approx(360 / JOULES_PER_KWH)
    assert float(row["duration"]) == 10.0


def test_a_run_of_no_duration_has_no_power_or_rate() -> None:
    record = notebook_run(intensity())
    record.ended_at = record.started_at
    (row,) = exported([record])
    assert row["emissions_rate"] == row["cpu_power"] == row["gpu_power"] == ""
    assert float(row["cpu_energy"]) > 0


# -- import ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [CODECARBON_3_3_HEADER, CODECARBON_3_0_HEADER, CODECARBON_2_8_HEADER, CODECARBON_2_0_HEADER],
    ids=["3.3", "3.0", "2.8", "2.0"],
)
def test_codecarbon_files_of_each_version_import(header: list[str]) -> None:
    (record,) = parse_emissions_csv(codecarbon_file(header, [one_run()]), user="bob", new_run_id=lambda: "f" * 32)
    ended = datetime(2025, 3, 4, 10, 20, 30).timestamp()  # CodeCarbon writes local time
    assert record.run_id == "f" * 32
    assert record.ended_at == ended
    assert record.started_at == pytest.approx(ended - 3600.5)
    assert record.status == "ok"
    assert record.attributed_j == record.node_j == record.active_j == pytest.approx(0.3 * JOULES_PER_KWH)
    assert record.idle_j == 0
    assert record.impact is not None
    assert record.impact["gco2e"] == pytest.approx(16.8)
    assert record.impact["facility_energy_kwh"] == pytest.approx(0.3)
    assert record.impact["pue"] == 1.0  # CodeCarbon's energy includes its PUE already
    assert record.impact["intensity"]["method"] == "imported"
    assert (record.source, record.flags, record.methods) == ("imported", ["imported"], ["imported"])
    assert record.experiment == "training"
    assert record.user == "bob"
    by_domain = {c.domain: c.attributed_j for c in record.channels}
    assert by_domain == pytest.approx(
        {"cpu": 0.05 * JOULES_PER_KWH, "gpu": 0.24 * JOULES_PER_KWH, "dram": 0.01 * JOULES_PER_KWH}
    )
    assert all(c.method == "imported" for c in record.channels)
    kept = record.extra["codecarbon"]
    assert kept["run_id"] == CODECARBON_VALUES["run_id"]
    assert set(kept) <= set(header)


def test_columns_in_any_order_and_unknown_columns_ignored() -> None:
    header = [*CODECARBON_3_3_HEADER, "my_own_column"]
    random.Random(8).shuffle(header)
    data = codecarbon_file(header, [one_run(), one_run(project_name="", energy_consumed="0.6", emissions="0.03")])
    first, second = parse_emissions_csv(data, user=None)
    assert first.attributed_j == pytest.approx(0.3 * JOULES_PER_KWH)
    assert second.attributed_j == pytest.approx(0.6 * JOULES_PER_KWH)
    assert second.experiment == "codecarbon"  # CodeCarbon's own default project name
    assert "my_own_column" not in first.extra["codecarbon"]
    assert first.run_id != second.run_id


def test_the_experiment_given_files_every_row_under_it() -> None:
    data = codecarbon_file(CODECARBON_3_3_HEADER, [one_run(), one_run(project_name="other")])
    assert {r.experiment for r in parse_emissions_csv(data, user=None, experiment="from CodeCarbon")} == {
        "from CodeCarbon"
    }


def test_a_missing_device_split_becomes_one_other_channel() -> None:
    data = codecarbon_file(CODECARBON_3_3_HEADER, [one_run(cpu_energy="", gpu_energy="", ram_energy="")])
    (record,) = parse_emissions_csv(data, user=None)
    assert [(c.domain, c.attributed_j) for c in record.channels] == [("other", pytest.approx(0.3 * JOULES_PER_KWH))]


def test_timestamps_with_a_zone_and_a_byte_order_mark() -> None:
    data = b"\xef\xbb\xbf" + codecarbon_file(CODECARBON_3_3_HEADER, [one_run(timestamp="2025-03-04T10:20:30Z")])
    (record,) = parse_emissions_csv(data, user=None)
    assert record.ended_at == datetime.fromisoformat("2025-03-04T10:20:30+00:00").timestamp()


def test_round_trip_export_then_import() -> None:
    original = notebook_run(intensity())
    (imported,) = parse_emissions_csv((csv_header() + csv_rows([original])).encode(), user="bob")
    assert original.impact is not None and imported.impact is not None
    assert imported.started_at == pytest.approx(original.started_at, abs=1e-6)
    assert imported.ended_at == pytest.approx(original.ended_at, abs=1e-6)
    # The energy comes back as CodeCarbon counts it, PUE included; the emissions unchanged.
    assert imported.attributed_j == pytest.approx(original.attributed_j * 1.2)
    assert imported.impact["gco2e"] == pytest.approx(original.impact["gco2e"])
    by_domain = {c.domain: c.attributed_j for c in imported.channels}
    assert by_domain == pytest.approx({"cpu": 72 * 1.2, "dram": 18 * 1.2, "gpu": 270 * 1.2})
    for name in ("experiment", "notebook_path", "execution_count", "code_preview", "tags", "metrics", "status"):
        assert getattr(imported, name) == getattr(original, name), name
    assert imported.flags == ["below-resolution", "imported"]
    assert (imported.source, imported.user) == ("imported", "bob")
    assert imported.run_id != original.run_id
    assert imported.extra["codecarbon"]["run_id"] == "01234567-89ab-cdef-0123-456789abcdef"


def test_an_imported_run_exports_what_codecarbon_wrote() -> None:
    (record,) = parse_emissions_csv(codecarbon_file(CODECARBON_3_3_HEADER, [one_run(pue="1.5")]), user=None)
    record.experiment = "renamed"
    row = dict(zip(EXPORT_COLUMNS, export_row(record), strict=True))
    written = one_run(pue="1.5")
    for column in ("run_id", "os", "cpu_model", "codecarbon_version", "pue", "country_iso_code", "timestamp"):
        assert row[column] == written[column], column
    assert row["project_name"] == "renamed"
    assert float(row["energy_consumed"]) == pytest.approx(0.3)
    assert float(row["emissions"]) == pytest.approx(0.0168)


BAD_CELLS = [
    ("energy_consumed", "abc", "is not a number"),
    ("energy_consumed", "-0.1", "out of range"),
    ("energy_consumed", "NaN", "is not a number"),
    ("energy_consumed", "1e999", "too large"),
    ("energy_consumed", "", "empty"),
    ("emissions", "inf", "is not a number"),
    ("duration", "-5", "out of range"),
    ("cpu_energy", "0,05", "is not a number"),
    ("timestamp", "yesterday", "not a date and time"),
    ("timestamp", "1969-01-01T00:00:00+00:00", "before 1970"),
    ("timestamp", "", "empty"),
]


@pytest.mark.parametrize(("column", "value", "problem"), BAD_CELLS)
def test_a_bad_cell_names_its_row_and_column(column: str, value: str, problem: str) -> None:
    rows = [one_run(), one_run(), one_run(**{column: value}), one_run()]
    with pytest.raises(ImportProblem) as refused:
        parse_emissions_csv(codecarbon_file(CODECARBON_3_3_HEADER, rows), user=None)
    assert (refused.value.row, refused.value.column) == (4, column)  # the header is row 1
    message = str(refused.value)
    assert message.startswith(f"Row 4, column '{column}': ")
    assert problem in message
    assert "Nothing was imported" in message


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("metrics", '{"accuracy": "high"}', "must be a finite number"),
        ("metrics", '{"accuracy": NaN}', "must be a finite number"),
        ("metrics", "[1, 2]", "not a JSON object"),
        ("metrics", '{"loss": 1' + "0" * 400 + "}", "must be a finite number"),
        ("tags", "a,b", "is not JSON"),
        ("tags", json.dumps(["x" * 65]), "at most 64 characters"),
        ("tags", json.dumps([f"t{i}" for i in range(33)]), "at most 32"),
        ("flags", "[1]", "non-empty string"),
        ("tags", json.dumps(["two\nlines"]), "control characters"),
        ("project_name", "x" * 1025, "at most 1024 characters"),
        ("project_name", "a\tb", "control characters"),
        ("cell", "2.5", "not a whole number"),
        ("status", "exploded", "is not one of"),
        ("notebook", "a\x01b", "control characters"),
        ("code_first_line", "nul\x00", "control characters"),
        ("notebook", "n" * 20000, "a cell holds at most 16384"),
        ("flags", '["\\ud800"]', "lone surrogate"),
        ("metrics", '{"\\udc00": 1}', "lone surrogate"),
    ],
)
def test_a_bad_ledger_column_names_its_row_and_column(column: str, value: str, problem: str) -> None:
    header = CODECARBON_3_3_HEADER if column in CODECARBON_3_3_HEADER else [*CODECARBON_3_3_HEADER, column]
    with pytest.raises(ImportProblem) as refused:
        parse_emissions_csv(codecarbon_file(header, [one_run(), one_run(**{column: value})]), user=None)
    assert (refused.value.row, refused.value.column) == (3, column)
    assert problem in str(refused.value)


def test_device_energies_above_the_total_are_refused() -> None:
    row = one_run(energy_consumed="0.002", cpu_energy="0.005", gpu_energy="0", ram_energy="0")
    with pytest.raises(ImportProblem) as refused:
        parse_emissions_csv(codecarbon_file(CODECARBON_3_3_HEADER, [row]), user=None)
    assert (refused.value.row, refused.value.column) == (2, "energy_consumed")
    assert "less than the devices' energies, 0.005 kWh" in str(refused.value)


def test_emissions_without_energy_are_refused() -> None:
    with pytest.raises(ImportProblem) as refused:
        parse_emissions_csv(codecarbon_file(CODECARBON_3_3_HEADER, [one_run(energy_consumed="0")]), user=None)
    assert (refused.value.row, refused.value.column) == (2, "emissions")


def test_missing_required_columns_are_named() -> None:
    header = [name for name in CODECARBON_3_3_HEADER if name not in ("energy_consumed", "duration")]
    with pytest.raises(ImportProblem) as refused:
        parse_emissions_csv(codecarbon_file(header, [one_run()]), user=None)
    assert refused.value.row == 1
    assert "'duration', 'energy_consumed'" in str(refused.value)


@pytest.mark.parametrize(
    ("data", "row", "column", "problem"),
    [
        (b"", None, None, "the file is empty"),
        (b"\n\n", None, None, "the file is empty"),
        ("\N{GREEK SMALL LETTER ALPHA}".encode("utf-16"), None, None, "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", None, None, "not UTF-8"),
        (b"timestamp,duration,emissions,energy_consumed\n", None, None, "no runs"),
        (b"timestamp,timestamp,duration,emissions,energy_consumed\n", 1, "timestamp", "named twice"),
        (
            b"timestamp,duration,emissions,energy_consumed\n2025-01-01T00:00:00,1,0,0\n2025-01-01T00:00:00,1\n",
            3,
            "emissions",
            "2 values where the header names 4 columns",
        ),
        (b"timestamp,duration,emissions,energy_consumed\n2025-01-01T00:00:00,1,0,0,7\n", 2, None, "5 values"),
        (b'timestamp,duration,emissions,energy_consumed\n2025-01-01T00:00:00,1,0,"0\n', 2, None, "not valid CSV"),
        (b'{"runs": []}\n', 1, "timestamp", "missing"),
    ],
    ids=["empty", "blank", "utf-16", "binary", "header-only", "repeated", "short", "long", "quote", "json"],
)
def test_a_file_that_is_not_a_codecarbon_csv(data: bytes, row: int | None, column: str | None, problem: str) -> None:
    with pytest.raises(ImportProblem) as refused:
        parse_emissions_csv(data, user=None)
    assert (refused.value.row, refused.value.column) == (row, column)
    assert problem.lower() in str(refused.value).lower()


def test_too_many_rows_are_refused() -> None:
    minimal = b"timestamp,duration,emissions,energy_consumed\n" + b"2025-01-01T00:00:00,1,0,0\n" * (MAX_IMPORT_ROWS + 1)
    with pytest.raises(ImportProblem) as refused:
        parse_emissions_csv(minimal, user=None)
    assert refused.value.row == MAX_IMPORT_ROWS + 2
    assert f"more than {MAX_IMPORT_ROWS} runs" in str(refused.value)


# -- bundled data ---------------------------------------------------------------------------


def test_the_alpha3_table_is_the_build_scripts_table_inverted() -> None:
    server_ext = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("build_data", server_ext / "scripts" / "build_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    table_path = server_ext / "jupyterlab_carbon" / "data" / "iso3166_alpha3.csv"
    with table_path.open(encoding="utf-8", newline="") as handle:
        table = {row["alpha2"]: row["alpha3"] for row in csv.DictReader(handle)}
    assert table == {alpha2: alpha3 for alpha3, alpha2 in module.ISO3_TO_ISO2.items()}
