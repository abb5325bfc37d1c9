"""The report's charts: vega-lite specs built by pure functions, rendered to SVG offline.

``vl-convert-python`` renders without a browser or network (the ``report`` extra). Without it the
report says how to get the charts instead of failing: the figures and tables are all there.
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
WIDTH = 560
MAX_BARS = 40  # a longer notebook is charted by its costliest cells
INSTALL_HINT = "Charts need vl-convert-python: pip install 'jupyterlab-carbon[report]'."


def _base(title: str, values: list[dict[str, Any]], height: int) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": WIDTH,
        "height": height,
        "data": {"values": values},
        "config": {"font": "sans-serif", "view": {"stroke": None}},
    }


def cells_spec(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Energy per cell (Wh), in notebook order, coloured by status."""
    shown = sorted(cells, key=lambda c: c["energy_j"], reverse=True)[:MAX_BARS]
    order = [c["label"] for c in cells if c in shown]
    values = [{"cell": c["label"], "Wh": c["energy_j"] / 3600.0, "status": c["status"]} for c in shown]
    spec = _base("Energy per cell", values, max(60, 18 * len(values)))
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "y": {"field": "cell", "type": "nominal", "sort": order, "title": None},
        "x": {"field": "Wh", "type": "quantitative", "title": "energy (Wh)"},
        "color": {
            "field": "status",
            "type": "nominal",
            "scale": {"domain": ["ok", "error", "interrupted"], "range": ["#2e7d32", "#c62828", "#ef6c00"]},
        },
    }
    return spec


def devices_spec(devices: list[dict[str, Any]]) -> dict[str, Any]:
    """Energy per device (channel), with its measurement method."""
    values = [{"device": d["label"], "Wh": d["energy_j"] / 3600.0, "method": d["method"]} for d in devices]
    spec = _base("Energy by device", values, max(60, 24 * len(values)))
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "y": {"field": "device", "type": "nominal", "sort": "-x", "title": None},
        "x": {"field": "Wh", "type": "quantitative", "title": "energy (Wh)"},
        "color": {"field": "method", "type": "nominal"},
    }
    return spec


def baseline_spec(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Each compared cell's energy now and in the baseline, side by side."""
    values = []
    for cell in sorted(cells, key=lambda c: max(c["energy_j"], c["baseline_energy_j"] or 0.0), reverse=True)[:MAX_BARS]:
        values.append({"cell": cell["label"], "run": "now", "Wh": cell["energy_j"] / 3600.0})
        if cell["baseline_energy_j"] is not None:
            values.append({"cell": cell["label"], "run": "baseline", "Wh": cell["baseline_energy_j"] / 3600.0})
    spec = _base("Against the baseline", values, max(60, 24 * len({v["cell"] for v in values})))
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "y": {"field": "cell", "type": "nominal", "title": None},
        "yOffset": {"field": "run"},
        "x": {"field": "Wh", "type": "quantitative", "title": "energy (Wh)"},
        "color": {"field": "run", "type": "nominal", "scale": {"range": ["#9e9e9e", "#1565c0"]}},
    }
    return spec


def report_specs(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The charts of a report, by name."""
    specs = {"cells": cells_spec(report["cells"]), "devices": devices_spec(report["devices"])}
    if report.get("baseline"):
        specs["baseline"] = baseline_spec(report["baseline"]["cells"])
    return specs


def render_svg(spec: dict[str, Any]) -> str | None:
    """The chart as an SVG document, or None when vl-convert is not installed."""
    try:
        import vl_convert
    except ImportError:
        return None
    svg: str = vl_convert.vegalite_to_svg(json.dumps(spec))
    return svg
