"""CodeCarbon's ``emissions.csv``, both ways: runs out in its columns (then ours), its rows in as runs.

The export starts with exactly the columns of CodeCarbon's ``EmissionsData`` (3.3 and later), in
its order and units, so that tools written for CodeCarbon read it: kg CO2eq, kWh, W, seconds.
Like CodeCarbon's, its energies and powers include the PUE (CodeCarbon multiplies every energy
and power by it). A cell CodeCarbon would fill but a run record does not know (OS, CPU count,
coordinates, utilisation, water) is left empty, never filled with a guess.

The import reads any CodeCarbon 2.x or 3.x file (columns in any order, unknown ones ignored) and
checks every row before returning any, so that a bad file imports nothing.

Pure functions: no tornado, no database. The REST handlers and tests call them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any, Final, TypeVar

from .. import __version__
from ..data import grid_zones
from ..intensity.impact import JOULES_PER_KWH, compute_impact
from ..intensity.resolve import ResolvedIntensity
from ..records import ChannelEnergy, RunRecord
from . import annotations as checks

# CodeCarbon 3.3's EmissionsData fields, in order (codecarbon/output_methods/emissions_data.py).
# Units: duration s; emissions kg CO2eq; emissions_rate kg/s; *_power W (average over the run);
# *_energy and energy_consumed kWh, PUE included; water_consumed L; ram_total_size and
# ram_used_gb GB; utilisations %.
CODECARBON_COLUMNS: Final = (
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
)

# What a run record knows and CodeCarbon's columns cannot say. Lists and mappings are JSON.
LEDGER_COLUMNS: Final = (
    "ledger_run_id",  # the ledger's own run id (CodeCarbon's run_id holds it as a UUID)
    "experiment",
    "notebook",
    "cell",  # the execution count
    "code_first_line",
    "tags",  # JSON list
    "metrics",  # JSON object of numbers
    "flags",  # JSON list
    "status",
    "device_methods",  # JSON object: channel id -> measured-counter, measured-power, modeled...
    "energy_kwh",  # the run's energy without the PUE
    "intensity_gco2e_per_kwh",
    "intensity_method",
    "intensity_source",
    "intensity_year",
    "cost",
    "currency",
    "user",
    "source",
    "jupyterlab_carbon_version",  # of the server that wrote the file (codecarbon_version stays empty)
)
EXPORT_COLUMNS: Final = CODECARBON_COLUMNS + LEDGER_COLUMNS

# An import needs these; every CodeCarbon version since 2.0 writes them.
REQUIRED_COLUMNS: Final = ("timestamp", "duration", "emissions", "energy_consumed")
# Stored in one transaction, which looks their ids up in one IN (...): well below SQLite's 32,766 parameters.
MAX_IMPORT_ROWS: Final = 20000
# Epoch seconds; 1e11 is the year 5138, far past any run.
MAX_EPOCH_S: Final = 1e11
# A cell holds a name, a path, a number or a short JSON value: the longest an export writes is
# the metrics (64 names of 64 characters and their numbers, ~6,000 characters).
MAX_CELL_CHARS: Final = 16384
IMPORTED: Final = "imported"
CODECARBON_SOURCE: Final = "CodeCarbon"
STATUSES: Final = ("ok", "error", "interrupted")

NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# CodeCarbon's per-device energies and the ledger domains they become.
DEVICE_COLUMNS: Final = (("cpu_energy", "cpu", "CPU"), ("gpu_energy", "gpu", "GPU"), ("ram_energy", "dram", "Memory"))
# Domains summed into CodeCarbon's cpu/gpu/ram columns. psys (the whole platform as RAPL sees
# it) is CodeCarbon's CPU energy too when it prefers psys; memory is then inside it, not apart.
DOMAIN_COLUMNS: Final = {"cpu": ("psys", "cpu"), "gpu": ("gpu",), "ram": ("dram",)}
GPU_LABEL = re.compile(r"GPU \d+: (.+)")
T = TypeVar("T")


# -- export -------------------------------------------------------------------------------


def csv_header() -> str:
    """The export's first line."""
    return _csv_text([EXPORT_COLUMNS])


def csv_rows(records: Iterable[RunRecord]) -> str:
    """The export's lines for ``records`` (one per run), in the order of ``EXPORT_COLUMNS``."""
    return _csv_text(export_row(record) for record in records)


def export_row(record: RunRecord) -> list[str]:
    """One run as the export's cells; empty where the record does not know the value."""
    cells = dict.fromkeys(EXPORT_COLUMNS, "")
    cells.update(_codecarbon_cells(record))
    original = record.extra.get("codecarbon") if record.source == IMPORTED else None
    if isinstance(original, dict):
        # What CodeCarbon wrote, kept on import, goes back out (its run id, PUE, OS, CPU...);
        # the experiment may have been renamed since.
        cells.update({k: str(v) for k, v in original.items() if k in CODECARBON_COLUMNS and k != "project_name"})
    cells.update(_ledger_cells(record))
    return [cells[name] for name in EXPORT_COLUMNS]


def _codecarbon_cells(record: RunRecord) -> dict[str, str]:
    duration = record.duration_s
    cells = {
        "timestamp": _iso_utc(record.ended_at),
        "project_name": record.experiment,
        "run_id": _as_uuid(record.run_id),
        "duration": _number(duration),
        "tracking_mode": "process",  # the kernel's share of the node, as CodeCarbon's process mode
    }
    gpu_names = [m.group(1) for c in record.channels if c.domain == "gpu" and (m := GPU_LABEL.fullmatch(c.label))]
    if any(c.domain == "gpu" for c in record.channels):
        cells["gpu_count"] = str(sum(c.domain == "gpu" for c in record.channels))
    if gpu_names:
        cells["gpu_model"] = ", ".join(f"{n} x {name}" for name, n in Counter(gpu_names).items())
    impact = record.impact
    if not impact:
        return cells  # no emissions, and without the PUE CodeCarbon's energies (which include it) are unknown
    gco2e = _stored_number(impact, "gco2e")
    if gco2e is not None:
        kg = gco2e / 1000.0
        cells["emissions"] = _number(kg)
        cells["emissions_rate"] = _number(kg / duration) if duration > 0 else ""
    pue = _stored_number(impact, "pue")
    if pue is not None:
        cells["pue"] = _number(pue)
        facility_kwh = _stored_number(impact, "facility_energy_kwh")
        cells["energy_consumed"] = _number(
            record.attributed_j * pue / JOULES_PER_KWH if facility_kwh is None else facility_kwh
        )
        for column, domains in DOMAIN_COLUMNS.items():
            parts = [c.attributed_j for c in record.channels if c.domain in domains]
            if parts:
                joules = sum(parts) * pue
                cells[f"{column}_energy"] = _number(joules / JOULES_PER_KWH)
                cells[f"{column}_power"] = _number(joules / duration) if duration > 0 else ""
    intensity = impact.get("intensity")
    cells.update(_place_cells(intensity if isinstance(intensity, dict) else {}))
    return cells


def _stored_number(impact: dict[str, Any], key: str) -> float | None:
    """A number of a stored impact, None where absent or not finite (as an earlier version could store)."""
    value = impact.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _place_cells(intensity: dict[str, Any]) -> dict[str, str]:
    """Country, region and cloud columns from the grid zone and cloud region of the intensity."""
    cells = {"on_cloud": "Y" if intensity.get("cloud_provider") else "N"}
    if intensity.get("cloud_provider"):
        cells["cloud_provider"] = str(intensity["cloud_provider"])
        cells["cloud_region"] = str(intensity.get("cloud_region") or "")
    zone = intensity.get("zone")
    if not zone or zone == "WORLD":
        return cells
    country = str(zone)[:2]  # zones are ISO 3166 codes: a country or one of its subdivisions
    cells["country_name"] = _country_names().get(country, "")
    cells["country_iso_code"] = _alpha3().get(country, "")
    if zone != country:
        cells["region"] = str(intensity.get("zone_name") or zone)
    return cells


def _ledger_cells(record: RunRecord) -> dict[str, str]:
    impact = record.impact or {}
    found = impact.get("intensity")
    intensity: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "ledger_run_id": record.run_id,
        "experiment": record.experiment,
        "notebook": record.notebook_path or "",
        "cell": "" if record.execution_count is None else str(record.execution_count),
        "code_first_line": record.code_preview or "",
        "tags": _json(record.tags),
        "metrics": _json(record.metrics),
        "flags": _json(record.flags),
        "status": record.status,
        "device_methods": _json({c.channel_id: c.method for c in record.channels}),
        "energy_kwh": _number(record.attributed_j / JOULES_PER_KWH),
        "intensity_gco2e_per_kwh": _optional_number(_stored_number(impact, "gco2e_per_kwh")),
        "intensity_method": str(intensity.get("method") or ""),
        "intensity_source": str(intensity.get("source") or ""),
        "intensity_year": "" if intensity.get("year") is None else str(intensity["year"]),
        "cost": _optional_number(_stored_number(impact, "cost")),
        "currency": str(impact.get("currency") or ""),
        "user": record.user or "",
        "source": record.source,
        "jupyterlab_carbon_version": __version__,
    }


@cache
def _country_names() -> dict[str, str]:
    return {code: zone.name for code, zone in grid_zones().items()}


@cache
def _alpha3() -> dict[str, str]:
    """ISO 3166-1 alpha-2 -> alpha-3 (CodeCarbon's country_iso_code is alpha-3: ``FRA``)."""
    text = resources.files("jupyterlab_carbon.data").joinpath("iso3166_alpha3.csv").read_text(encoding="utf-8")
    return {row["alpha2"]: row["alpha3"] for row in csv.DictReader(io.StringIO(text))}


def _csv_text(rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _iso_utc(epoch_s: float) -> str:
    # CodeCarbon writes the local time without a zone; the offset here makes the moment unambiguous.
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="microseconds")


def _as_uuid(run_id: str) -> str:
    """The ledger's 32-hex-digit id written as CodeCarbon writes its run ids (a dashed UUID)."""
    try:
        return str(uuid.UUID(hex=run_id))
    except ValueError:
        return run_id


def _number(value: float) -> str:
    """A finite number as the shortest text that reads back the same float; empty otherwise."""
    return repr(float(value)) if math.isfinite(value) else ""


def _optional_number(value: float | None) -> str:
    return "" if value is None else _number(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- import -------------------------------------------------------------------------------


class ImportProblem(ValueError):
    """Why a file cannot be imported, naming the row (the header is row 1) and the column."""

    def __init__(self, problem: str, row: int | None = None, column: str | None = None) -> None:
        where = []
        if row is not None:
            where.append(f"row {row}" + (" (the header)" if row == 1 else ""))
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where) + ": " if where else ""
        message = f"{prefix}{problem}. Nothing was imported: fix the file and import it again."
        super().__init__(message[0].upper() + message[1:])
        self.row = row
        self.column = column


def parse_emissions_csv(
    data: bytes,
    user: str | None,
    experiment: str | None = None,
    new_run_id: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> list[RunRecord]:
    """Every row of a CodeCarbon ``emissions.csv`` as a finished run, or ImportProblem for the first bad cell.

    ``experiment`` files every run under that name; without it each run takes the row's
    ``project_name`` (CodeCarbon's default is ``codecarbon``). Timestamps without a zone, as
    CodeCarbon writes them, are read in this server's local time.
    """
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet may have added a byte order mark
    except UnicodeDecodeError as err:
        raise ImportProblem(
            f"the file is not UTF-8 text (byte {err.start} is {data[err.start]:#04x}); a CodeCarbon emissions.csv is"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = _records(reader)
    try:
        header = next(rows)
    except StopIteration:
        raise ImportProblem("the file is empty; a CodeCarbon emissions.csv starts with a header row") from None
    columns = _check_header(header[1])
    records: list[RunRecord] = []
    for number, row in rows:
        if len(records) == MAX_IMPORT_ROWS:
            raise ImportProblem(f"the file has more than {MAX_IMPORT_ROWS} runs; split it", number)
        if len(row) != len(columns):
            missing = columns[len(row)] if len(row) < len(columns) else None
            raise ImportProblem(f"{len(row)} values where the header names {len(columns)} columns", number, missing)
        cells = dict(zip(columns, (cell.strip() for cell in row), strict=True))
        records.append(_import_row(_Row(number, cells), user, experiment, new_run_id()))
    if not records:
        raise ImportProblem("the file has a header but no runs")
    return records


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of each non-blank row; the row number counts rows as a spreadsheet does."""
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise ImportProblem(f"this is not valid CSV ({err})", number + 1) from None
        number += 1
        if row:
            yield number, row


def _check_header(header: list[str]) -> list[str]:
    columns = [name.strip() for name in header]
    repeated = sorted(name for name, n in Counter(columns).items() if n > 1)
    if repeated:
        raise ImportProblem("the column is named twice; each column may appear once", 1, repeated[0])
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportProblem(
            f"the column(s) {', '.join(map(repr, missing))} are missing; a CodeCarbon emissions.csv "
            f"has {', '.join(REQUIRED_COLUMNS)}",
            1,
            missing[0],
        )
    return columns


class _Row:
    """One data row's cells, read with checks that name the row and column of any bad value."""

    def __init__(self, row_number: int, cells: dict[str, str]) -> None:
        self.row_number = row_number
        self.cells = cells
        for column, value in cells.items():
            if column not in EXPORT_COLUMNS:
                continue  # ignored, never stored
            if len(value) > MAX_CELL_CHARS:
                raise self.problem(column, f"{len(value)} characters; a cell holds at most {MAX_CELL_CHARS}")
            if checks.has_control(value):
                raise self.problem(column, "the cell holds line breaks or other control characters")

    def problem(self, column: str, problem: str) -> ImportProblem:
        return ImportProblem(problem, self.row_number, column)

    def text(self, column: str) -> str:
        return self.cells.get(column, "")

    def checked(self, column: str, check: Callable[[Any], T], value: Any) -> T:
        """``check(value)``, its ValueError (the ledger's own checks on what runs carry) naming this cell."""
        try:
            return check(value)
        except ValueError as err:
            raise self.problem(column, str(err).rstrip(".")) from None

    def number_or_none(self, column: str, minimum: float = 0.0, maximum: float = math.inf) -> float | None:
        """The cell's number, None when the cell is empty or absent."""
        raw = self.text(column)
        if not raw:
            return None
        if not NUMBER.fullmatch(raw):
            raise self.problem(column, f"{raw[:40]!r} is not a number")
        value = float(raw)
        if not math.isfinite(value):
            raise self.problem(column, f"{raw[:40]} is too large")
        if not minimum <= value <= maximum:
            bounds = f"at least {minimum:g}" if maximum == math.inf else f"from {minimum:g} to {maximum:g}"
            raise self.problem(column, f"{raw[:40]} is out of range: it must be {bounds}")
        return value

    def number(self, column: str, minimum: float = 0.0, maximum: float = math.inf) -> float:
        value = self.number_or_none(column, minimum, maximum)
        if value is None:
            raise self.problem(column, "the cell is empty; it needs a number")
        return value

    def timestamp(self, column: str) -> float:
        raw = self.text(column)
        if not raw:
            raise self.problem(column, "the cell is empty; it needs a date and time such as 2025-01-31T14:05:00")
        try:
            # Python 3.10's fromisoformat does not read the "Z" suffix.
            moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
            epoch = moment.timestamp()  # a time without a zone is this server's local time
        except (ValueError, OverflowError, OSError):
            raise self.problem(column, f"{raw[:40]!r} is not a date and time such as 2025-01-31T14:05:00") from None
        if not 0 <= epoch <= MAX_EPOCH_S:
            raise self.problem(column, f"{raw[:40]} is before 1970 or too far in the future")
        return epoch

    def json_cell(self, column: str, expected: type[Any], what: str) -> Any:
        raw = self.text(column)
        if not raw:
            return expected()
        try:
            # Numbers as floats: an integer of 400 digits becomes infinity, refused below, not an overflow.
            value = json.loads(raw, parse_constant=lambda name: float("nan"), parse_int=float)
        except ValueError:
            raise self.problem(column, f"{raw[:40]!r} is not JSON; it must be {what}") from None
        if not isinstance(value, expected):
            raise self.problem(column, f"{raw[:40]!r} is not {what}")
        if checks.lone_surrogate_at(value) is not None:
            raise self.problem(column, "the JSON holds a lone surrogate (an escape such as \\ud800 without its pair)")
        return value


def _import_row(row: _Row, user: str | None, experiment: str | None, run_id: str) -> RunRecord:
    ended_at = row.timestamp("timestamp")
    duration = row.number("duration", maximum=ended_at)
    kg = row.number("emissions")
    energy_j = row.number("energy_consumed") * JOULES_PER_KWH
    if energy_j == 0 and kg > 0:
        raise row.problem("emissions", "emissions without any energy (energy_consumed is 0)")
    channels = _imported_channels(row, energy_j)
    intensity_g = kg * 1000.0 / (energy_j / JOULES_PER_KWH) if energy_j > 0 else 0.0
    country = row.text("country_name")
    version = row.text("codecarbon_version")
    source = f"{CODECARBON_SOURCE} {version}" if version else CODECARBON_SOURCE
    resolved = ResolvedIntensity(
        gco2e_per_kwh=intensity_g,
        method=IMPORTED,
        zone=None,
        zone_name=country or None,
        source=source,
        year=None,
        license=None,
        pue=1.0,
        pue_source="included in the imported energy (CodeCarbon applies its PUE to every energy)",
        is_assumption=False,
        message=f"Emissions as {source} computed them ({intensity_g:.4g} gCO2e/kWh over the run)",
        cloud_provider=row.text("cloud_provider") or None,
        cloud_region=row.text("cloud_region") or None,
    )
    try:
        impact = compute_impact(energy_j, resolved, None, None).to_json()
    except ValueError as err:
        raise row.problem("energy_consumed", str(err)) from None
    status = row.text("status") or "ok"
    if status not in STATUSES:
        raise row.problem("status", f"{status[:40]!r} is not one of {', '.join(STATUSES)}")
    cell = row.number_or_none("cell", maximum=2**31 - 1)
    if cell is not None and not cell.is_integer():
        raise row.problem("cell", f"{cell:g} is not a whole number")
    flags = _strings(row, "flags")
    return RunRecord(
        run_id=run_id,
        kernel_id="",
        msg_id="",
        started_at=ended_at - duration,
        ended_at=ended_at,
        status=status,
        node_j=energy_j,
        attributed_j=energy_j,
        idle_j=0.0,  # CodeCarbon does not split idle from active: the whole run counts as active
        active_j=energy_j,
        channels=channels,
        methods=[IMPORTED],
        flags=sorted({IMPORTED, *flags}),
        host="",
        notebook_path=row.text("notebook") or None,
        execution_count=None if cell is None else int(cell),
        code_preview=row.text("code_first_line") or None,
        extra={
            "codecarbon": {name: value for name, value in row.cells.items() if name in CODECARBON_COLUMNS and value}
        },
        impact=impact,
        experiment=experiment or _experiment(row),
        tags=_tags(row),
        user=user,
        source=IMPORTED,
        metrics=_metrics(row),
    )


def _imported_channels(row: _Row, energy_j: float) -> list[ChannelEnergy]:
    """One channel per device column CodeCarbon filled, and one for energy they leave out."""
    channels = []
    for column, domain, label in DEVICE_COLUMNS:
        kwh = row.number_or_none(column)
        if kwh is not None and kwh > 0:
            channels.append(
                _imported_channel(f"{domain}/codecarbon", domain, f"{label} (CodeCarbon)", kwh * JOULES_PER_KWH)
            )
    devices_j = sum(c.attributed_j for c in channels)
    if devices_j > energy_j * (1 + 1e-6):  # CodeCarbon's energy_consumed is their sum
        raise row.problem(
            "energy_consumed",
            f"{energy_j / JOULES_PER_KWH:g} kWh is less than the devices' energies, "
            f"{devices_j / JOULES_PER_KWH:g} kWh (cpu_energy + gpu_energy + ram_energy)",
        )
    rest = energy_j - devices_j
    if rest > energy_j * 1e-9:  # more than the rounding of CodeCarbon's own sum
        channels.append(_imported_channel("other/codecarbon", "other", "Other (CodeCarbon)", rest))
    return channels


def _imported_channel(channel_id: str, domain: str, label: str, joules: float) -> ChannelEnergy:
    return ChannelEnergy(
        channel_id=channel_id,
        label=label,
        domain=domain,
        method=IMPORTED,
        node_j=joules,
        share=1.0,
        attributed_j=joules,
        idle_j=0.0,
        active_j=joules,
    )


def _experiment(row: _Row) -> str:
    """The row's project (CodeCarbon's name for an experiment), else CodeCarbon's default name."""
    column = "project_name" if row.text("project_name") else "experiment"
    name = row.text(column)
    return row.checked(column, checks.experiment_name, name) if name else "codecarbon"


def _strings(row: _Row, column: str) -> list[str]:
    values = row.json_cell(column, list, "a JSON list of strings")
    if not all(isinstance(v, str) and v for v in values):
        raise row.problem(column, "every item must be a non-empty string")
    return list(values)


def _tags(row: _Row) -> list[str]:
    tags = row.checked("tags", checks.tag_list, _strings(row, "tags"))
    if len(tags) > checks.TAGS_PER_RUN:
        raise row.problem("tags", f"{len(tags)} tags; a run has at most {checks.TAGS_PER_RUN}")
    return tags


def _metrics(row: _Row) -> dict[str, float]:
    metrics = row.json_cell("metrics", dict, 'a JSON object of numbers such as {"accuracy": 0.93}')
    return row.checked("metrics", checks.metrics, metrics)
