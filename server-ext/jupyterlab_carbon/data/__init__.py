"""Typed, lazily loaded access to the bundled reference tables (see README.md beside this file).

The tables are small CSV files produced by ``server-ext/scripts/build_data.py``. They are read
with ``importlib.resources`` on first use only, so importing this module (for instance from a
kernel running ``%load_ext jupyterlab_carbon``) costs nothing, and then cached for the life of
the process. Every record keeps its source, reference and license so that any number the
extension shows can say where it came from.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Memory power draw: 0.3725 W per GB of RAM. Green Algorithms v3.0 referenceValues.csv
# ("memoryPower"), citing Karyakin & Salem 2017 (https://doi.org/10.1145/3076113.3076117) and
# Tom's Hardware's Core i7-5960X review.
MEMORY_WATTS_PER_GB = 0.3725


@dataclass(frozen=True)
class GridZone:
    """Average carbon intensity of one electricity grid zone (a country, a region, the world)."""

    zone: str
    name: str
    kind: str  # "world" | "country" | "subnational"
    gco2e_per_kwh: float
    year: int
    source: str
    reference: str
    license: str


@dataclass(frozen=True)
class CloudRegion:
    """A cloud provider's region: its grid intensity and the PUE of its data centres."""

    provider: str  # "aws" | "azure" | "gcp"
    region: str
    location: str
    zone: str | None  # best matching grid zone, None for Azure geographies spanning grids
    gco2e_per_kwh: float
    pue: float
    pue_source: str
    year: int | None  # None where the dataset does not state the data year
    source: str
    reference: str
    license: str


@dataclass(frozen=True)
class ProviderPue:
    """A cloud provider's fleet-wide PUE, used when only the provider is known."""

    provider: str
    pue: float
    source: str
    reference: str
    license: str


@dataclass(frozen=True)
class Equivalence:
    """An everyday comparison: ``amount x factor`` gives ``unit``, where amount is in ``per``."""

    key: str
    label: str
    per: str  # "gco2e" or "wh"
    factor: float
    unit: str
    reference_value_gco2e: float  # the published figure: gCO2e per one unit
    source: str
    reference: str
    license: str


@dataclass(frozen=True)
class TdpMatch:
    """The table row a processor name matched, with what the caller needs to label it."""

    query: str
    model: str
    tdp_watts: float
    cores: int | None
    source: str
    reference: str
    license: str
    exact: bool  # False when the name matched after ignoring noise (memory size, form factor)


CpuTdpMatch = TdpMatch
GpuTdpMatch = TdpMatch


def _read(name: str) -> list[dict[str, str]]:
    """All rows of a bundled CSV file."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _optional_int(text: str) -> int | None:
    return int(text) if text else None


@cache
def _grid_zones() -> dict[str, GridZone]:
    return {
        row["zone"]: GridZone(
            zone=row["zone"],
            name=row["name"],
            kind=row["kind"],
            gco2e_per_kwh=float(row["gco2e_per_kwh"]),
            year=int(row["year"]),
            source=row["source"],
            reference=row["reference"],
            license=row["license"],
        )
        for row in _read("grid_intensity.csv")
    }


def grid_zones() -> dict[str, GridZone]:
    """Every bundled grid zone by code (``FR``, ``US-CA``, ``SE-SE3``, ``WORLD``...)."""
    return dict(_grid_zones())


@cache
def _cloud_regions() -> dict[tuple[str, str], CloudRegion]:
    return {
        (row["provider"], row["region"]): CloudRegion(
            provider=row["provider"],
            region=row["region"],
            location=row["location"],
            zone=row["zone"] or None,
            gco2e_per_kwh=float(row["gco2e_per_kwh"]),
            pue=float(row["pue"]),
            pue_source=row["pue_source"],
            year=_optional_int(row["year"]),
            source=row["source"],
            reference=row["reference"],
            license=row["license"],
        )
        for row in _read("cloud_regions.csv")
    }


def cloud_regions() -> dict[tuple[str, str], CloudRegion]:
    """Every bundled cloud region by ``(provider, region)``, e.g. ``("aws", "us-east-1")``."""
    return dict(_cloud_regions())


@cache
def _cloud_provider_pue() -> dict[str, ProviderPue]:
    return {
        row["provider"]: ProviderPue(
            provider=row["provider"],
            pue=float(row["pue"]),
            source=row["source"],
            reference=row["reference"],
            license=row["license"],
        )
        for row in _read("cloud_provider_pue.csv")
    }


def cloud_provider_pue() -> dict[str, ProviderPue]:
    """Fleet PUE of each cloud provider (``aws``, ``azure``, ``gcp``)."""
    return dict(_cloud_provider_pue())


@cache
def _equivalences() -> tuple[Equivalence, ...]:
    return tuple(
        Equivalence(
            key=row["key"],
            label=row["label"],
            per=row["per"],
            factor=float(row["factor"]),
            unit=row["unit"],
            reference_value_gco2e=float(row["reference_value_gco2e"]),
            source=row["source"],
            reference=row["reference"],
            license=row["license"],
        )
        for row in _read("equivalences.csv")
    )


def equivalences() -> list[Equivalence]:
    """Every bundled everyday equivalence, sorted by key."""
    return list(_equivalences())


# --- matching processor names -------------------------------------------------------------

_VENDOR_TOKENS = frozenset({"intel", "amd", "apple", "nvidia", "ati"})
_GPU_BRAND_TOKENS = frozenset({"geforce", "tesla", "graphics"})
_NAME_NOISE = (
    r"\((?:r|tm|c)\)|[®™©]",  # trademark marks
    r"\(\d+w\)",  # "(95W)" in some table names
    r"@?\s*\d+(?:\.\d+)?\s*[gm]hz",  # "CPU @ 2.90GHz"
    r"\b\d+(?:st|nd|rd|th)\s+gen(?:eration)?\b",  # "11th Gen Intel..."
    r"\b\d+-core\b",  # "64-Core Processor"
    r"\bwith\s+radeon\b.*$",  # "with Radeon Graphics", "with Radeon Vega Mobile Gfx"
    r"\b(?:cpu|processor|apu|soc)\b",
)


def _tokens(name: str, drop: frozenset[str]) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf").lower()
    for pattern in _NAME_NOISE:
        text = re.sub(pattern, " ", text)
    text = re.sub(r"\bcore2\b", "core 2", text)  # "Core(TM)2 Duo"
    seen: dict[str, None] = {}
    for token in re.findall(r"[a-z0-9+]+(?:\.[a-z0-9]+)*", text):  # "2.4" stays one word
        if token not in drop:
            seen.setdefault(token)
    return tuple(seen)


def cpu_model_tokens(name: str) -> tuple[str, ...]:
    """The identifying words of a CPU name, e.g. 'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz'
    -> ('xeon', 'gold', '6248'). Brand marks, clock speed, core count and vendor are dropped
    because /proc/cpuinfo and the TDP tables spell them differently."""
    return _tokens(name, _VENDOR_TOKENS)


def gpu_model_tokens(name: str) -> tuple[str, ...]:
    """The identifying words of a GPU name ('Tesla V100-SXM2-16GB' -> ('v100', 'sxm2', '16gb'))."""
    return _tokens(name, _VENDOR_TOKENS | _GPU_BRAND_TOKENS)


def _is_cpu_noise(token: str) -> bool:
    # Intel writes a lone "0" for "no version" ("Xeon(R) CPU E5-2670 0 @ 2.60GHz").
    return token == "0"


def _is_gpu_noise(token: str) -> bool:
    # Memory size and form factor: "A100-SXM4-80GB", "P100-PCIE-16GB", "H100 80GB HBM3".
    return re.fullmatch(r"\d+gb|sxm\d*|pcie|hbm\d*e?", token) is not None


def _identifying(key: frozenset[str]) -> bool:
    """Whether a name has both a letter and a digit (so '3280' alone never matches loosely)."""
    return any(ch.isdigit() for t in key for ch in t) and any(ch.isalpha() for t in key for ch in t)


_TdpTable = dict[frozenset[str], dict[str, str]]  # model words -> CSV row


def _load_tdp(name: str, tokens: Callable[[str], tuple[str, ...]]) -> _TdpTable:
    table: _TdpTable = {}
    for row in _read(name):
        table.setdefault(frozenset(tokens(row["model"])), row)
    return table


@cache
def _cpu_table() -> _TdpTable:
    return _load_tdp("cpu_tdp.csv", cpu_model_tokens)


@cache
def _gpu_table() -> _TdpTable:
    return _load_tdp("gpu_tdp.csv", gpu_model_tokens)


def _match(
    query: str,
    table: _TdpTable,
    tokens: Callable[[str], tuple[str, ...]],
    is_noise: Callable[[str], bool],
) -> TdpMatch | None:
    """Same words as a row wins; else the most specific row whose words are all in the query
    and whose missing words are only noise. Nothing is guessed beyond that: an unknown model
    returns None so the caller can say so instead of silently using a wrong TDP."""
    wanted = frozenset(tokens(query))
    if not wanted:
        return None
    row = table.get(wanted)
    exact = row is not None
    if row is None:
        candidates = [
            (len(key), table[key]["model"], key)
            for key in table
            if key < wanted and _identifying(key) and all(is_noise(t) for t in wanted - key)
        ]
        if not candidates:
            return None
        row = table[max(candidates, key=lambda c: (c[0], c[1]))[2]]
    return TdpMatch(
        query=query,
        model=row["model"],
        tdp_watts=float(row["tdp_watts"]),
        cores=_optional_int(row["cores"]),
        source=row["source"],
        reference=row["reference"],
        license=row["license"],
        exact=exact,
    )


def cpu_tdp(model_name: str) -> CpuTdpMatch | None:
    """TDP of a CPU named as /proc/cpuinfo does ('AMD EPYC 7763 64-Core Processor'), or None."""
    return _match(model_name, _cpu_table(), cpu_model_tokens, _is_cpu_noise)


def gpu_tdp(name: str) -> GpuTdpMatch | None:
    """TDP of a GPU named as NVML/amdsmi does ('Tesla V100-SXM2-16GB'), or None."""
    return _match(name, _gpu_table(), gpu_model_tokens, _is_gpu_noise)
