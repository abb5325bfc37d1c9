"""A carbon statement to paste into a paper, from a report's JSON.

It follows what Green Algorithms (Lannelongue et al., 2021) and the ML CO2 Impact calculator
(Lacoste et al., 2019) ask authors to state: runtime, hardware, energy, location and its carbon
intensity with the source, PUE, the emissions, and the tool (with its version) that estimated them.
Unlike those calculators, the energy here is measured where a meter could be read, and the
statement says how much of it was.
"""

from __future__ import annotations

from typing import Any

from ..units import carbon_text, duration_text, energy_text

METHOD_WORDS = {
    "measured-counter": "hardware energy counters",
    "measured-power": "hardware power readings",
    "modeled": "a utilisation x TDP model",
    "remote": "a remote meter",
}


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def carbon_statement(report: dict[str, Any]) -> str:
    """One paragraph: what ran, on what, how much energy and CO2e, under which intensity and PUE, by what means."""
    totals = report["totals"]
    intensity = report.get("intensity")
    tool = report["tool"]
    hardware = [device["label"] for device in report["devices"]] or ["hardware with no readable meter"]
    methods = [
        f"{METHOD_WORDS.get(m['method'], m['method'])} ({m['share'] * 100:.0f} %)" for m in report["methods"]
    ] or ["no meter"]
    hosts = report.get("hosts", [])
    on_hosts = f" on {len(hosts)} host(s)" if len(hosts) > 1 else ""
    sentences = [
        f"The computations reported here ran for {duration_text(totals['duration_s'])} "
        f"({totals['runs']} notebook cell executions{on_hosts}) on {_join(hardware)}, "
        f"and drew {energy_text(totals['energy_j'])} of electricity.",
    ]
    if intensity is not None and totals.get("gco2e") is not None:
        where = intensity.get("zone_name") or intensity.get("zone") or "an unspecified region"
        year = f", {intensity['year']}" if intensity.get("year") else ""
        assumed = " (assumed: the region was not configured)" if intensity.get("is_assumption") else ""
        sentences.append(
            f"With a power usage effectiveness (PUE) of {intensity['pue']:g} ({intensity['pue_source']}) and the "
            f"carbon intensity of {where}, {intensity['gco2e_per_kwh']:.0f} gCO2e/kWh "
            f"({intensity['source']}{year}){assumed}, this corresponds to {carbon_text(totals['gco2e'])}."
        )
    sentences.append(
        f"The energy figures come from {_join(methods)}, attributed to the notebook's kernel by its share of "
        f"CPU time and GPU use, as computed by {tool['name']} {tool['version']}."
    )
    return " ".join(sentences)
