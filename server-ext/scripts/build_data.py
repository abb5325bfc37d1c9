"""Build the curated data files that jupyterlab_carbon ships, from the raw reference data.

Usage::

    python server-ext/scripts/build_data.py [--shared ../shared/data] [--out DIR]

The raw data (copies of Green Algorithms, CodeCarbon, Google region-carbon-info and Cloud
Carbon Footprint files) lives outside the package; this script reads it, applies the rules
written down in ``jupyterlab_carbon/data/README.md`` and writes small CSV files whose every
row carries its source, year and license. The output is committed, so installing the package
never needs the raw data or the network.

Why a script and not hand-edited CSVs: every number can be traced back to a raw file and a
rule, a data refresh is one command, and running it twice gives byte-identical files (rows
sorted, floats written with ``repr``, ``\\n`` line endings), which the tests check.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SHARED = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "server-ext" / "jupyterlab_carbon" / "data"

# The model-name normalisation must be the one the loader matches with, so duplicates are
# detected exactly as the package would see them.
sys.path.insert(0, str(REPO / "server-ext"))
from jupyterlab_carbon.data import cpu_model_tokens, gpu_model_tokens  # noqa: E402

GA = "Green Algorithms"
CC = "CodeCarbon"
CCF = "Cloud Carbon Footprint"
GOOGLE = "Google Cloud region-carbon-info"
LICENSES = {GA: "CC-BY-4.0", CC: "MIT", CCF: "Apache-2.0", GOOGLE: "Apache-2.0"}
LICENSE_FILES = {
    "green-algorithms/LICENSE": "green-algorithms-CC-BY-4.0.txt",
    "codecarbon/LICENSE": "codecarbon-MIT.txt",
    "google-cloud-region-carbon/LICENSE": "google-region-carbon-info-Apache-2.0.txt",
    "cloud-carbon-footprint/LICENSE": "cloud-carbon-footprint-Apache-2.0.txt",
}

# Tie-break between sources that publish a value for the same zone and the same data year.
SOURCE_PRIORITY = {GA: 0, CC: 1}

# 1 lb/MWh = 453.59237 g / 1000 kWh.
G_PER_KWH_PER_LB_PER_MWH = 0.45359237

# ISO 3166-1 alpha-3 -> alpha-2 for every country key in CodeCarbon's global_energy_mix.json.
# (The standard library has no country table; an unknown key makes the build fail loudly.)
# fmt: off
ISO3_TO_ISO2 = {
    "ABW": "AW", "AFG": "AF", "AGO": "AO", "ALB": "AL", "ARE": "AE", "ARG": "AR", "ARM": "AM",
    "ASM": "AS", "ATG": "AG", "AUS": "AU", "AUT": "AT", "AZE": "AZ", "BDI": "BI", "BEL": "BE",
    "BEN": "BJ", "BFA": "BF", "BGD": "BD", "BGR": "BG", "BHR": "BH", "BHS": "BS", "BIH": "BA",
    "BLR": "BY", "BLZ": "BZ", "BMU": "BM", "BOL": "BO", "BRA": "BR", "BRB": "BB", "BRN": "BN",
    "BTN": "BT", "BWA": "BW", "CAF": "CF", "CAN": "CA", "CHE": "CH", "CHL": "CL", "CHN": "CN",
    "CIV": "CI", "CMR": "CM", "COD": "CD", "COG": "CG", "COK": "CK", "COL": "CO", "COM": "KM",
    "CPV": "CV", "CRI": "CR", "CUB": "CU", "CYM": "KY", "CYP": "CY", "CZE": "CZ", "DEU": "DE",
    "DJI": "DJ", "DMA": "DM", "DNK": "DK", "DOM": "DO", "DZA": "DZ", "ECU": "EC", "EGY": "EG",
    "ERI": "ER", "ESH": "EH", "ESP": "ES", "EST": "EE", "ETH": "ET", "FIN": "FI", "FJI": "FJ",
    "FLK": "FK", "FRA": "FR", "FRO": "FO", "GAB": "GA", "GBR": "GB", "GEO": "GE", "GHA": "GH",
    "GIB": "GI", "GIN": "GN", "GLP": "GP", "GMB": "GM", "GNB": "GW", "GNQ": "GQ", "GRC": "GR",
    "GRD": "GD", "GRL": "GL", "GTM": "GT", "GUF": "GF", "GUM": "GU", "GUY": "GY", "HKG": "HK",
    "HND": "HN", "HRV": "HR", "HTI": "HT", "HUN": "HU", "IDN": "ID", "IND": "IN", "IRL": "IE",
    "IRN": "IR", "IRQ": "IQ", "ISL": "IS", "ISR": "IL", "ITA": "IT", "JAM": "JM", "JOR": "JO",
    "JPN": "JP", "KAZ": "KZ", "KEN": "KE", "KGZ": "KG", "KHM": "KH", "KIR": "KI", "KNA": "KN",
    "KOR": "KR", "KWT": "KW", "LAO": "LA", "LBN": "LB", "LBR": "LR", "LBY": "LY", "LCA": "LC",
    "LKA": "LK", "LSO": "LS", "LTU": "LT", "LUX": "LU", "LVA": "LV", "MAC": "MO", "MAR": "MA",
    "MDA": "MD", "MDG": "MG", "MDV": "MV", "MEX": "MX", "MKD": "MK", "MLI": "ML", "MLT": "MT",
    "MMR": "MM", "MNE": "ME", "MNG": "MN", "MOZ": "MZ", "MRT": "MR", "MSR": "MS", "MTQ": "MQ",
    "MUS": "MU", "MWI": "MW", "MYS": "MY", "NAM": "NA", "NCL": "NC", "NER": "NE", "NGA": "NG",
    "NIC": "NI", "NLD": "NL", "NOR": "NO", "NPL": "NP", "NRU": "NR", "NZL": "NZ", "OMN": "OM",
    "PAK": "PK", "PAN": "PA", "PER": "PE", "PHL": "PH", "PNG": "PG", "POL": "PL", "PRI": "PR",
    "PRK": "KP", "PRT": "PT", "PRY": "PY", "PSE": "PS", "PYF": "PF", "QAT": "QA", "REU": "RE",
    "ROU": "RO", "RUS": "RU", "RWA": "RW", "SAU": "SA", "SDN": "SD", "SEN": "SN", "SGP": "SG",
    "SHN": "SH", "SLB": "SB", "SLE": "SL", "SLV": "SV", "SOM": "SO", "SPM": "PM", "SRB": "RS",
    "SSD": "SS", "STP": "ST", "SUR": "SR", "SVK": "SK", "SVN": "SI", "SWE": "SE", "SWZ": "SZ",
    "SYC": "SC", "SYR": "SY", "TCA": "TC", "TCD": "TD", "TGO": "TG", "THA": "TH", "TJK": "TJ",
    "TKM": "TM", "TLS": "TL", "TON": "TO", "TTO": "TT", "TUN": "TN", "TUR": "TR", "TWN": "TW",
    "TZA": "TZ", "UGA": "UG", "UKR": "UA", "URY": "UY", "USA": "US", "UZB": "UZ", "VCT": "VC",
    "VEN": "VE", "VGB": "VG", "VIR": "VI", "VNM": "VN", "VUT": "VU", "WSM": "WS", "YEM": "YE",
    "ZAF": "ZA", "ZMB": "ZM", "ZWE": "ZW",
}
# fmt: on

# Green Algorithms uses CA-MT for Manitoba; ISO 3166-2 (and every other tool) says CA-MB.
ZONE_RENAMES = {"CA-MT": "CA-MB"}
# Spelling slips in the raw files, corrected so names can be searched.
NAME_FIXES = {"Mississip": "Mississippi", "Rasberry Pi 4": "Raspberry Pi 4"}

# Provider fleet PUE used by Cloud Carbon Footprint (packages/{aws,azure,gcp}/src/domain/
# *FootprintEstimationConstants.ts, commit b7a049c, as listed in shared/data/SOURCES.md).
FLEET_PUE = {"aws": 1.135, "azure": 1.185, "gcp": 1.1}
FLEET_PUE_REFERENCE = (
    "cloud-carbon-footprint packages/{aws,azure,gcp}/src/domain/*FootprintEstimationConstants.ts"
)

# Where a cloud region is (location, grid zone) when Green Algorithms' datacentre table does
# not say. Locations follow the providers' region pages and Cloud Carbon Footprint's
# methodology appendix (which names the country or city of every region it lists); an empty
# zone means the name is an Azure geography spanning several grids.
REGION_SITES: dict[tuple[str, str], tuple[str, str]] = {
    ("aws", "af-south-1"): ("Cape Town", "ZA"),
    ("aws", "ap-east-1"): ("Hong Kong", "HK"),
    ("aws", "ap-northeast-1"): ("Tokyo", "JP"),
    ("aws", "ap-northeast-2"): ("Seoul", "KR"),
    ("aws", "ap-northeast-3"): ("Osaka", "JP"),
    ("aws", "ap-south-1"): ("Mumbai", "IN"),
    ("aws", "ap-southeast-1"): ("Singapore", "SG"),
    ("aws", "ap-southeast-2"): ("Sydney", "AU-NSW"),
    ("aws", "ap-southeast-3"): ("Jakarta", "ID"),
    ("aws", "ca-central-1"): ("Montréal", "CA-QC"),
    ("aws", "cn-north-1"): ("Beijing", "CN"),
    ("aws", "cn-northwest-1"): ("Ningxia", "CN"),
    ("aws", "eu-central-1"): ("Frankfurt", "DE"),
    ("aws", "eu-north-1"): ("Stockholm", "SE-SE3"),
    ("aws", "eu-south-1"): ("Milan", "IT"),
    ("aws", "eu-west-1"): ("Ireland", "IE"),
    ("aws", "eu-west-2"): ("London", "GB"),
    ("aws", "eu-west-3"): ("Paris", "FR"),
    ("aws", "me-central-1"): ("United Arab Emirates", "AE"),
    ("aws", "me-south-1"): ("Bahrain", "BH"),
    ("aws", "sa-east-1"): ("São Paulo", "BR"),
    ("aws", "us-east-1"): ("N. Virginia", "US-VA"),
    ("aws", "us-east-2"): ("Ohio", "US-OH"),
    ("aws", "us-gov-east-1"): ("GovCloud (US-East)", "US"),
    ("aws", "us-gov-west-1"): ("GovCloud (US-West)", "US"),
    ("aws", "us-west-1"): ("N. California", "US-CA"),
    ("aws", "us-west-2"): ("Oregon", "US-OR"),
    ("azure", "apeast"): ("Hong Kong", "CN-HK"),
    ("azure", "apsoutheast"): ("Singapore", "SG"),
    ("azure", "asia"): ("Asia (geography)", ""),
    ("azure", "asiapacific"): ("Asia Pacific (geography)", ""),
    ("azure", "australia"): ("Australia (geography)", "AU"),
    ("azure", "brazil"): ("Brazil (geography)", "BR"),
    ("azure", "brazilsoutheast"): ("Rio de Janeiro", "BR"),
    ("azure", "canada"): ("Canada (geography)", "CA"),
    ("azure", "eastus3"): ("Georgia", "US-GA"),
    ("azure", "france"): ("France (geography)", "FR"),
    ("azure", "germany"): ("Germany (geography)", "DE"),
    ("azure", "india"): ("India (geography)", "IN"),
    ("azure", "japan"): ("Japan (geography)", "JP"),
    ("azure", "jioindiacentral"): ("Nagpur", "IN"),
    ("azure", "jioindiawest"): ("Jamnagar", "IN"),
    ("azure", "korea"): ("Korea (geography)", "KR"),
    ("azure", "norway"): ("Norway (geography)", "NO"),
    ("azure", "qatarcentral"): ("Doha", "QA"),
    ("azure", "southafrica"): ("South Africa (geography)", "ZA"),
    ("azure", "swedencentral"): ("Gävle and Sandviken", "SE-SE3"),
    ("azure", "switzerland"): ("Switzerland (geography)", "CH"),
    ("azure", "uae"): ("United Arab Emirates (geography)", "AE"),
    ("azure", "uk"): ("United Kingdom (geography)", "GB"),
    ("azure", "unitedstates"): ("United States (geography)", "US"),
    ("azure", "usnorth"): ("United States", "US"),
    ("gcp", "africa-south1"): ("Johannesburg", "ZA"),
    ("gcp", "asia-south2"): ("Delhi", "IN"),
    ("gcp", "australia-southeast2"): ("Melbourne", "AU-VIC"),
    ("gcp", "europe-central2"): ("Warsaw", "PL"),
    ("gcp", "europe-north2"): ("Stockholm", "SE-SE3"),
    ("gcp", "europe-southwest1"): ("Madrid", "ES"),
    ("gcp", "europe-west10"): ("Berlin", "DE"),
    ("gcp", "europe-west12"): ("Turin", "IT"),
    ("gcp", "europe-west8"): ("Milan", "IT"),
    ("gcp", "europe-west9"): ("Paris", "FR"),
    ("gcp", "me-central1"): ("Doha", "QA"),
    ("gcp", "me-central2"): ("Dammam", "SA"),
    ("gcp", "me-west1"): ("Tel Aviv", "IL"),
    ("gcp", "northamerica-northeast2"): ("Toronto", "CA-ON"),
    ("gcp", "northamerica-south1"): ("Querétaro", "MX"),
    ("gcp", "southamerica-west1"): ("Santiago", "CL"),
    ("gcp", "us-central2"): ("Oklahoma", "US-OK"),
    ("gcp", "us-east2"): ("Georgia", "US-GA"),
    ("gcp", "us-east5"): ("Columbus", "US-OH"),
    ("gcp", "us-south1"): ("Dallas", "US-TX"),
}
# Azure pre-release and staging rings ("eastusstage", "centraluseuap") sit in the same
# datacentres as the region they are named after.
AZURE_RING_SUFFIXES = ("stage", "euap")

# Everyday equivalences taken from Green Algorithms' referenceValues.csv: raw variable ->
# (key, label, unit). Each raw value is gCO2e per one unit, so factor = 1 / value. A label is
# a title for the comparison; the UI shows it next to "value unit".
EQUIVALENCES = {
    "passengerCar_EU_perkm": ("car_km_eu", "Driving an average European passenger car", "km"),
    "passengerCar_US_perkm": ("car_km_us", "Driving an average US passenger car", "km"),
    "train_perkm": ("train_km", "Travelling by train", "passenger-km"),
    "flight_economy_perkm": ("flight_km", "Flying economy class", "passenger-km"),
    "flight_PAR-LON": ("flight_paris_london", "Share of a Paris-London flight (one passenger)", "flights"),
    "flight_PAR-DUB": ("flight_paris_dublin", "Share of a Paris-Dublin flight (one passenger)", "flights"),
    "flight_NY-SF": (
        "flight_newyork_sanfrancisco",
        "Share of a New York-San Francisco flight (one passenger)",
        "flights",
    ),
    "flight_NYC-MEL": (
        "flight_newyork_melbourne",
        "Share of a New York-Melbourne flight (one passenger)",
        "flights",
    ),
    "streaming_netflix_perhour": ("streaming_hours", "Streaming video", "hours"),
    "treeYear": ("tree_years", "Time one tree needs to absorb it", "tree-years"),
    "tree_month": ("tree_months", "Time one tree needs to absorb it", "tree-months"),
}
# Rows of referenceValues.csv deliberately not shipped as equivalences, with the reason.
EQUIVALENCES_LEFT_OUT = {
    "memoryPower": "a power figure, shipped as MEMORY_WATTS_PER_GB in the loader",
    "google_search": "10 g per search (2009 blog estimate) is contradicted by Google's own 0.2 g",
}


@dataclass(frozen=True)
class ZoneCandidate:
    """One source's value for one zone, before the tie-break picks the value shipped."""

    zone: str
    name: str
    kind: str
    gco2e_per_kwh: float
    year: int | None
    dataset: str
    source: str
    reference: str


def num(value: float) -> str:
    """A float as the shortest text that reads back to it, without a trailing '.0'."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def read_csv_rows(path: Path, skip: int = 0) -> list[list[str]]:
    """All rows of a CSV file after ``skip`` leading rows (Green Algorithms has a units row)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    return rows[skip:]


def read_dicts(path: Path, skip: int = 0) -> list[dict[str, str]]:
    """Rows as dicts keyed by the header found after ``skip`` rows."""
    rows = read_csv_rows(path, skip)
    header = [cell.strip() for cell in rows[0]]
    return [dict(zip(header, (cell.strip() for cell in row), strict=False)) for row in rows[1:]]


def ga_year(*texts: str) -> int | None:
    """The data year that a Green Algorithms source/comment text states, if it states one."""
    joined = " ".join(texts)
    patterns = (
        r"data from (?:[A-Za-z]+ )?(\d{4})",  # "data from 2020", "Data from April 2022"
        r"(\d{4})(?:/\d{2})? data",  # "based on 2019 data", "using 2019/20 data"
    )
    for pattern in patterns:
        match = re.search(pattern, joined, flags=re.IGNORECASE)
        if match:
            return int(match.group(1))
    return None


def ga_origin(source_text: str) -> str:
    """A short name for where Green Algorithms took a value from (a host name or publisher)."""
    if source_text.lower().startswith("carbonfootprint"):
        return "carbonfootprint.com"
    host = urlparse(source_text.split()[0]).hostname or source_text
    return re.sub(r"^(www|app)\.", "", host)


def fix_name(name: str) -> str:
    """Apply the spelling fixes in NAME_FIXES."""
    return NAME_FIXES.get(name, name)


def green_algorithms_zones(shared: Path) -> list[ZoneCandidate]:
    """WORLD, countries and sub-national regions of Green Algorithms' CI_aggregated.csv."""
    kinds = {"World": "world", "Country": "country", "Region": "subnational"}
    out = []
    for row in read_dicts(shared / "green-algorithms" / "CI_aggregated.csv", skip=1):
        zone = ZONE_RENAMES.get(row["location"], row["location"])
        kind = kinds[row["Type"]]
        if kind == "world":
            name = "World"
        elif kind == "country":
            name = row["countryName"]
        else:
            name = f"{fix_name(row['regionName'])}, {row['countryName']}"
        origin = ga_origin(row["source"])
        out.append(
            ZoneCandidate(
                zone=zone,
                name=name,
                kind=kind,
                gco2e_per_kwh=float(row["carbonIntensity"]),
                year=ga_year(row["source"], row["comments"]),
                dataset=GA,
                source=f"{origin} via {GA}",
                reference=" ".join(part for part in (row["source"], row["comments"]) if part),
            )
        )
    return out


def codecarbon_countries(shared: Path) -> list[ZoneCandidate]:
    """Country intensities of CodeCarbon's global_energy_mix.json (Our World in Data / Ember)."""
    data = json.loads((shared / "codecarbon" / "global_energy_mix.json").read_text("utf-8"))
    out = []
    for iso3, row in data.items():
        if iso3 not in ISO3_TO_ISO2:
            raise SystemExit(f"global_energy_mix.json: no ISO alpha-2 code for {iso3!r}; add it")
        out.append(
            ZoneCandidate(
                zone=ISO3_TO_ISO2[iso3],
                name=row["country_name"],
                kind="country",
                gco2e_per_kwh=float(row["carbon_intensity"]),
                year=int(row["year"]),
                dataset=CC,
                source=f"Our World in Data/Ember via {CC}",
                reference="codecarbon/data/global_energy_mix.json",
            )
        )
    return out


def codecarbon_us_states(shared: Path) -> list[ZoneCandidate]:
    """US states of CodeCarbon's 2016_usa_emissions.json (EPA eGRID 2016, lbs/MWh)."""
    data = json.loads((shared / "codecarbon" / "2016_usa_emissions.json").read_text("utf-8"))
    unit = data.pop("_unit")["emissions"]
    if unit != "lbs/MWh":
        raise SystemExit(f"2016_usa_emissions.json: unexpected unit {unit!r}")
    out = []
    for state, row in data.items():
        if row["regionCode"] == "usa":
            continue  # the national total: a country figure, not a state
        out.append(
            ZoneCandidate(
                zone=f"US-{row['regionCode']}",
                name=f"{state.title()}, United States",
                kind="subnational",
                gco2e_per_kwh=round(row["emissions"] * G_PER_KWH_PER_LB_PER_MWH, 2),
                year=2016,
                dataset=CC,
                source=f"EPA eGRID 2016 via {CC}",
                reference="codecarbon/data/2016_usa_emissions.json (lbs/MWh x 0.45359237)",
            )
        )
    return out


def codecarbon_nordic(shared: Path) -> list[ZoneCandidate]:
    """Nordic bidding zones (SE1-4, NO1-5) and Finland of CodeCarbon's nordic_emissions.json."""
    data = json.loads((shared / "codecarbon" / "nordic_emissions.json").read_text("utf-8"))
    origin = data["metadata"]["source"]
    out = []
    for code, row in data["data"].items():
        if row["unit"] != "gCO2eq/kWh":
            raise SystemExit(f"nordic_emissions.json: unexpected unit {row['unit']!r} for {code}")
        is_country = len(code) == 2
        out.append(
            ZoneCandidate(
                zone=code if is_country else f"{code[:2]}-{code}",
                name=row["description"],
                kind="country" if is_country else "subnational",
                gco2e_per_kwh=float(row["emission_factor"]),
                year=int(row["year"]),
                dataset=CC,
                source=f"ENTSO-E averages via {CC}",
                reference=f"codecarbon/data/nordic_emissions.json ({origin})",
            )
        )
    return out


def pick_zone(candidates: Sequence[ZoneCandidate]) -> ZoneCandidate:
    """The rule for a zone covered by several sources: newest data year, then SOURCE_PRIORITY."""
    return min(
        candidates,
        key=lambda c: (-(c.year if c.year is not None else -1), SOURCE_PRIORITY[c.dataset]),
    )


def build_zones(shared: Path) -> list[ZoneCandidate]:
    """One chosen row per zone, sorted by zone code."""
    by_zone: dict[str, list[ZoneCandidate]] = {}
    for candidate in (
        *green_algorithms_zones(shared),
        *codecarbon_countries(shared),
        *codecarbon_us_states(shared),
        *codecarbon_nordic(shared),
    ):
        by_zone.setdefault(candidate.zone, []).append(candidate)
    chosen = [pick_zone(candidates) for _, candidates in sorted(by_zone.items())]
    undated = [c.zone for c in chosen if c.year is None]
    if undated:
        raise SystemExit(f"zones without a data year would ship: {undated}")
    return chosen


@dataclass(frozen=True)
class RegionRow:
    """One cloud region as written to cloud_regions.csv."""

    provider: str
    region: str
    location: str
    zone: str
    gco2e_per_kwh: float
    pue: float
    pue_source: str
    year: int | None
    source: str
    reference: str
    license: str


def azure_key(name: str) -> str:
    """Azure's programmatic region name: 'West Europe' / 'WestEurope' -> 'westeurope'."""
    name = name.replace("Northeastt", "Northeast")  # a typo in the Green Algorithms table
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\(.*?\)", "", name).lower())


def build_regions(shared: Path, zones: dict[str, ZoneCandidate]) -> list[RegionRow]:
    """AWS and Azure from Cloud Carbon Footprint, GCP from Google, gaps filled from the grid."""
    ga_sites: dict[tuple[str, str], dict[str, str]] = {}
    for row in read_dicts(shared / "green-algorithms" / "cloudProviders_datacenters.csv", skip=1):
        region = azure_key(row["Name"]) if row["provider"] == "azure" else row["Name"]
        ga_sites[(row["provider"], region)] = row

    def site(provider: str, region: str) -> tuple[str, str]:
        key = (provider, region)
        ga = ga_sites.get(key)
        if ga is not None and ga["location"]:
            if key in REGION_SITES:
                raise SystemExit(f"{key} is placed by Green Algorithms and REGION_SITES; drop one")
            return ga["location_freeForm"].strip(), ZONE_RENAMES.get(ga["location"], ga["location"])
        if key in REGION_SITES:
            return REGION_SITES[key]
        if provider == "azure":
            for suffix in AZURE_RING_SUFFIXES:
                if region.endswith(suffix) and region != suffix:
                    return site(provider, region[: -len(suffix)])
        raise SystemExit(f"no location for {key}: add it to REGION_SITES")

    def pue(provider: str, region: str) -> tuple[float, str]:
        ga = ga_sites.get((provider, region))
        if ga is not None and ga["PUE"]:
            return float(ga["PUE"]), f"{GA} datacentre PUE ({ga['source_PUE']})"
        return FLEET_PUE[provider], f"{CCF} {provider} fleet average"

    rows: dict[tuple[str, str], RegionRow] = {}

    ccf_path = shared / "cloud-carbon-footprint" / "cloud_region_factors.csv"
    for row in read_dicts(ccf_path):
        provider = row["provider"]
        if row["region"] == "Unknown":
            continue  # CCF's provider-wide fallback, not a region
        region = azure_key(row["region"]) if provider == "azure" else row["region"]
        location, zone = site(provider, region)
        factor_pue, pue_source = pue(provider, region)
        note = f" ({row['note']})" if row["note"] else ""
        rows[(provider, region)] = RegionRow(
            provider=provider,
            region=region,
            location=location,
            zone=zone,
            gco2e_per_kwh=float(row["gco2e_per_kwh"]),
            pue=factor_pue,
            pue_source=pue_source,
            year=None,
            source=CCF,
            reference=f"cloud-carbon-footprint {provider} emission factors{note}",
            license=LICENSES[CCF],
        )

    # One file per year, read oldest first, so each region keeps its newest year.
    newest: dict[str, tuple[int, dict[str, str]]] = {}
    for path in sorted(glob.glob(str(shared / "google-cloud-region-carbon" / "*.csv"))):
        year = int(Path(path).stem)
        for cells in read_csv_rows(Path(path), skip=1):
            newest[cells[0]] = (year, {"location": cells[1], "intensity": cells[3]})
    for region, (year, row) in newest.items():
        _, zone = site("gcp", region)
        factor_pue, pue_source = pue("gcp", region)
        rows[("gcp", region)] = RegionRow(
            provider="gcp",
            region=region,
            location=row["location"],
            zone=zone,
            gco2e_per_kwh=float(row["intensity"]),
            pue=factor_pue,
            pue_source=pue_source,
            year=year,
            source=GOOGLE,
            reference=f"region-carbon-info data/yearly/{year}.csv",
            license=LICENSES[GOOGLE],
        )

    # Regions that Green Algorithms places but no cloud dataset quantifies: use their grid zone.
    for provider, region in ga_sites:
        if (provider, region) in rows:
            continue
        location, zone = site(provider, region)
        grid = zones[zone]
        factor_pue, pue_source = pue(provider, region)
        rows[(provider, region)] = RegionRow(
            provider=provider,
            region=region,
            location=location,
            zone=zone,
            gco2e_per_kwh=grid.gco2e_per_kwh,
            pue=factor_pue,
            pue_source=pue_source,
            year=grid.year,
            source=f"{grid.source} (grid zone {zone})",
            reference=f"location from {GA} cloudProviders_datacenters.csv; {grid.reference}",
            license=f"{LICENSES[GA]} AND {LICENSES[grid.dataset]}",
        )

    unknown = sorted({r.zone for r in rows.values() if r.zone and r.zone not in zones})
    if unknown:
        raise SystemExit(f"cloud regions point at zones missing from the grid table: {unknown}")
    return [rows[key] for key in sorted(rows)]


@dataclass(frozen=True)
class TdpRow:
    """One processor as written to cpu_tdp.csv / gpu_tdp.csv."""

    model: str
    tdp_watts: float
    cores: int | None
    source: str
    reference: str
    license: str


def green_algorithms_tdp(path: Path, with_cores: bool) -> list[TdpRow]:
    """Rows of TDP_cpu.csv / TDP_gpu.csv with a TDP (the 'Any' per-core default has none).

    TDP_gpu.csv's core column is marked "TO BE CHECKED" upstream, hence ``with_cores``.
    """
    out = []
    for row in read_dicts(path, skip=1):
        if not row["TDP"]:
            continue
        cores = row.get("n_cores", "")
        out.append(
            TdpRow(
                model=fix_name(row["model"]),
                tdp_watts=float(row["TDP"]),
                cores=int(cores) if with_cores and cores else None,
                source=GA,
                reference=row["source"],
                license=LICENSES[GA],
            )
        )
    return out


def codecarbon_cpus(shared: Path) -> list[TdpRow]:
    """Rows of CodeCarbon's hardware_cpu_power.csv (name and TDP only).

    Rows whose TDP is not a positive number (a few old Celerons read '27.29.5', a garbled
    range; a microcontroller reads 0) are left out rather than guessed.
    """
    out = []
    for row in read_dicts(shared / "codecarbon" / "hardware_cpu_power.csv"):
        if not re.fullmatch(r"\d+(?:\.\d+)?", row["TDP"]) or float(row["TDP"]) <= 0:
            continue
        model = re.sub(r"[\u200b-\u200f\ufeff]", "", row["Name"]).strip()
        out.append(
            TdpRow(
                model=fix_name(model),
                tdp_watts=float(row["TDP"]),
                cores=None,
                source=CC,
                reference="codecarbon/data/hardware_cpu_power.csv",
                license=LICENSES[CC],
            )
        )
    return out


def dedupe_tdp(rows: Iterable[TdpRow], tokens: Callable[[str], tuple[str, ...]]) -> list[TdpRow]:
    """One row per normalised model name: Green Algorithms first, then the highest TDP.

    Green Algorithms wins because its rows carry a core count and a per-row citation; among
    CodeCarbon duplicates that disagree, the higher TDP is kept so a model never under-counts.
    """
    best: dict[frozenset[str], TdpRow] = {}
    for row in rows:
        key = frozenset(tokens(row.model))
        if not key:
            continue
        held = best.get(key)
        rank = (row.source == GA, row.tdp_watts, row.model)
        if held is None or rank > (held.source == GA, held.tdp_watts, held.model):
            best[key] = row
    return sorted(best.values(), key=lambda r: (r.model.lower(), r.model))


def build_equivalences(shared: Path) -> list[list[str]]:
    """Rows of equivalences.csv from Green Algorithms' referenceValues.csv."""
    out = []
    for row in read_dicts(shared / "green-algorithms" / "referenceValues.csv", skip=1):
        variable = row["variable"]
        if variable in EQUIVALENCES_LEFT_OUT:
            continue
        if variable not in EQUIVALENCES:
            raise SystemExit(f"referenceValues.csv: decide whether to ship {variable!r}")
        key, label, unit = EQUIVALENCES[variable]
        grams = float(row["value"])
        out.append([key, label, "gco2e", num(1.0 / grams), unit, num(grams), GA, row["source"], LICENSES[GA]])
    return sorted(out)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write a UTF-8 CSV with '\\n' line endings (the same bytes on every platform)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def build(shared: Path, out: Path) -> None:
    """Write every curated file of the package's data directory into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    zones = build_zones(shared)
    write_csv(
        out / "grid_intensity.csv",
        ["zone", "name", "kind", "gco2e_per_kwh", "year", "source", "reference", "license"],
        (
            [
                z.zone,
                z.name,
                z.kind,
                num(z.gco2e_per_kwh),
                str(z.year),
                z.source,
                z.reference,
                LICENSES[z.dataset],
            ]
            for z in zones
        ),
    )
    regions = build_regions(shared, {z.zone: z for z in zones})
    write_csv(
        out / "cloud_regions.csv",
        [
            "provider",
            "region",
            "location",
            "zone",
            "gco2e_per_kwh",
            "pue",
            "pue_source",
            "year",
            "source",
            "reference",
            "license",
        ],
        (
            [
                r.provider,
                r.region,
                r.location,
                r.zone,
                num(r.gco2e_per_kwh),
                num(r.pue),
                r.pue_source,
                "" if r.year is None else str(r.year),
                r.source,
                r.reference,
                r.license,
            ]
            for r in regions
        ),
    )
    write_csv(
        out / "cloud_provider_pue.csv",
        ["provider", "pue", "source", "reference", "license"],
        ([p, num(v), CCF, FLEET_PUE_REFERENCE, LICENSES[CCF]] for p, v in sorted(FLEET_PUE.items())),
    )
    write_csv(
        out / "equivalences.csv",
        ["key", "label", "per", "factor", "unit", "reference_value_gco2e", "source", "reference", "license"],
        build_equivalences(shared),
    )
    tdp_header = ["model", "tdp_watts", "cores", "source", "reference", "license"]
    cpus = dedupe_tdp(
        [*green_algorithms_tdp(shared / "green-algorithms" / "TDP_cpu.csv", True), *codecarbon_cpus(shared)],
        cpu_model_tokens,
    )
    gpus = dedupe_tdp(
        green_algorithms_tdp(shared / "green-algorithms" / "TDP_gpu.csv", False), gpu_model_tokens
    )
    for name, rows in (("cpu_tdp.csv", cpus), ("gpu_tdp.csv", gpus)):
        write_csv(
            out / name,
            tdp_header,
            (
                [
                    r.model,
                    num(r.tdp_watts),
                    "" if r.cores is None else str(r.cores),
                    r.source,
                    r.reference,
                    r.license,
                ]
                for r in rows
            ),
        )
    licenses = out / "licenses"
    licenses.mkdir(exist_ok=True)
    for source, target in LICENSE_FILES.items():
        shutil.copyfile(shared / source, licenses / target)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="raw reference data")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the files go")
    args = parser.parse_args(argv)
    build(args.shared.resolve(), args.out.resolve())


if __name__ == "__main__":
    main()
