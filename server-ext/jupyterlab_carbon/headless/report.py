"""The sustainability report: built from ledger runs as JSON, written as Markdown or one HTML file.

The JSON is the source: the Markdown and HTML are views of it, the grade is recomputable from it
(:mod:`.grade`), and a later run compares itself with it as its baseline.
"""

from __future__ import annotations

import html
import statistics
import time
from collections import defaultdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..ledger import RunQuery
from ..records import RunRecord
from ..units import MISSING, carbon_text, duration_text, energy_text
from .charts import INSTALL_HINT, render_svg, report_specs
from .grade import GradeInputs, grade
from .statement import carbon_statement

if TYPE_CHECKING:
    from ..ledger import Ledger

REPORT_VERSION = 1
TOP_CELLS = 5
HISTORY_SESSIONS = 5  # earlier sessions of the experiment whose median is the reference
MEASURED_METHODS = ("measured-counter", "measured-power", "remote")
FORMATS = ("md", "html", "json")


def tool_version() -> str:
    try:
        return version("jupyterlab-carbon")
    except PackageNotFoundError:
        return "unknown"


def _label(record: RunRecord) -> str:
    index = record.extra.get("cell_index")
    count = f" [{record.execution_count}]" if record.execution_count is not None else ""
    return f"cell {index + 1}{count}" if isinstance(index, int) else f"run {record.run_id[:8]}{count}"


def _gco2e(record: RunRecord) -> float | None:
    return None if record.impact is None else float(record.impact["gco2e"])


def _cells(records: list[RunRecord], total_j: float) -> list[dict[str, Any]]:
    several = len({r.notebook_path for r in records}) > 1
    return [
        {
            "run_id": r.run_id,
            "label": (f"{r.notebook_path}: " if several else "") + _label(r),
            "notebook_path": r.notebook_path,
            "execution_count": r.execution_count,
            "code_hash": r.code_hash,
            "code_preview": r.code_preview,
            "status": r.status,
            "started_at": r.started_at,
            "duration_s": r.duration_s,
            "energy_j": r.attributed_j,
            "idle_j": r.idle_j,
            "share": r.attributed_j / total_j if total_j > 0 else 0.0,
            "gco2e": _gco2e(r),
            "methods": r.methods,
            "flags": r.flags,
        }
        for r in records
    ]


def _devices(records: list[RunRecord]) -> list[dict[str, Any]]:
    energy: dict[str, float] = defaultdict(float)
    meta: dict[str, tuple[str, str]] = {}
    for record in records:
        for channel in record.channels:
            energy[channel.label] += channel.attributed_j
            meta[channel.label] = (channel.domain, channel.method)
    total = sum(energy.values())
    return [
        {
            "label": label,
            "domain": meta[label][0],
            "method": meta[label][1],
            "energy_j": joules,
            "share": joules / total if total > 0 else 0.0,
        }
        for label, joules in sorted(energy.items(), key=lambda item: item[1], reverse=True)
    ]


def _methods(records: list[RunRecord]) -> list[dict[str, Any]]:
    energy: dict[str, float] = defaultdict(float)
    for record in records:
        for channel in record.channels:
            energy[channel.method] += channel.attributed_j
    total = sum(energy.values())
    return [
        {"method": method, "energy_j": joules, "share": joules / total if total > 0 else 0.0}
        for method, joules in sorted(energy.items(), key=lambda item: item[1], reverse=True)
    ]


def _intensity(records: list[RunRecord]) -> dict[str, Any] | None:
    """The intensity and PUE of the latest run (with how many distinct ones the runs used)."""
    impacts = [r.impact for r in records if r.impact is not None]
    if not impacts:
        return None
    latest = impacts[-1]["intensity"]
    keys = ("gco2e_per_kwh", "method", "zone", "zone_name", "source", "year", "is_assumption", "pue", "pue_source")
    distinct = {(i["intensity"]["gco2e_per_kwh"], i["intensity"]["pue"]) for i in impacts}
    return {**{key: latest.get(key) for key in keys}, "distinct_values": len(distinct)}


def _equivalents(records: list[RunRecord]) -> list[dict[str, Any]]:
    summed: dict[str, dict[str, Any]] = {}
    for record in records:
        for equivalent in (record.impact or {}).get("equivalents", []):
            entry = summed.setdefault(equivalent["key"], {**equivalent, "value": 0.0})
            entry["value"] += equivalent["value"]
    return list(summed.values())


def compare_with_baseline(report: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """This report's energy against a baseline report's, in total and per cell (matched by code, then label)."""
    by_code = {c["code_hash"]: c for c in baseline["cells"] if c.get("code_hash")}
    by_label = {c["label"]: c for c in baseline["cells"]}
    cells = []
    for cell in report["cells"]:
        before = by_code.get(cell["code_hash"]) or by_label.get(cell["label"])
        before_j = before["energy_j"] if before else None
        change = (cell["energy_j"] - before_j) / before_j if before_j else None
        cells.append(
            {
                "label": cell["label"],
                "energy_j": cell["energy_j"],
                "baseline_energy_j": before_j,
                "change": change,
                "same_code": bool(before and before.get("code_hash") == cell["code_hash"]),
            }
        )
    now_j, then_j = report["totals"]["energy_j"], baseline["totals"]["energy_j"]
    compared = [c for c in cells if c["baseline_energy_j"] is not None]
    grown = max(compared, key=lambda c: c["energy_j"] - c["baseline_energy_j"], default=None)
    largest = (
        {"label": grown["label"], "change": grown["change"], "added_j": grown["energy_j"] - grown["baseline_energy_j"]}
        if grown is not None and grown["change"] is not None and grown["energy_j"] > grown["baseline_energy_j"]
        else None
    )
    return {
        "generated_at": baseline.get("generated_at"),
        "energy_j": now_j,
        "baseline_energy_j": then_j,
        "energy_change": (now_j - then_j) / then_j if then_j > 0 else None,
        "largest_increase": largest,
        "cells": cells,
    }


def history_reference(ledger: Ledger, experiment: str, before: float) -> list[float]:
    """The energy of the experiment's latest earlier sessions (one per kernel), newest first."""
    groups = ledger.groups(RunQuery(experiment=experiment, until=before), "kernel")["groups"]
    return [float(g["attributed_j"]) for g in groups[:HISTORY_SESSIONS]]


def build_report(
    records: list[RunRecord],
    title: str,
    scope: dict[str, Any],
    baseline: dict[str, Any] | None = None,
    history_j: list[float] | None = None,
) -> dict[str, Any]:
    """The report's JSON for ``records`` (any order), compared with ``baseline`` or the history."""
    if not records:
        raise ValueError(f"no runs in the ledger match {scope}: nothing to report")
    records = sorted(records, key=lambda r: r.started_at)
    energy_j = sum(r.attributed_j for r in records)
    grams = [g for g in (_gco2e(r) for r in records) if g is not None]
    costs = [r.impact["cost"] for r in records if r.impact is not None and r.impact.get("cost") is not None]
    statuses: dict[str, int] = defaultdict(int)
    for record in records:
        statuses[record.status] += 1
    cells = _cells(records, energy_j)
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "title": title,
        "generated_at": time.time(),
        "tool": {"name": "jupyterlab-carbon", "version": tool_version()},
        "scope": scope,
        "hosts": sorted({r.host for r in records}),
        "experiments": sorted({r.experiment for r in records}),
        "totals": {
            "runs": len(records),
            "duration_s": sum(r.duration_s for r in records),
            "wall_s": records[-1].ended_at - records[0].started_at,
            "energy_j": energy_j,
            "node_j": sum(r.node_j for r in records),
            "idle_j": sum(r.idle_j for r in records),
            "active_j": sum(r.active_j for r in records),
            "gco2e": sum(grams) if grams else None,
            "cost": sum(costs) if costs else None,
            "currency": next((r.impact["currency"] for r in records if r.impact and r.impact.get("currency")), None),
            "statuses": dict(statuses),
        },
        "cells": cells,
        "top_cells": [c["label"] for c in sorted(cells, key=lambda c: c["energy_j"], reverse=True)[:TOP_CELLS]],
        "devices": _devices(records),
        "methods": _methods(records),
        "intensity": _intensity(records),
        "equivalents": _equivalents(records),
        "baseline": None,
    }
    if baseline is not None:
        report["baseline"] = compare_with_baseline(report, baseline)
    report["grade"] = grade(_grade_inputs(report, history_j or []))
    report["statement"] = carbon_statement(report)
    return report


def _grade_inputs(report: dict[str, Any], history_j: list[float]) -> GradeInputs:
    totals = report["totals"]
    energy = totals["energy_j"]
    change: float | None = None
    reference: str | None = None
    if report["baseline"] is not None and report["baseline"]["energy_change"] is not None:
        change, reference = report["baseline"]["energy_change"], "baseline"
    elif history_j:
        median = statistics.median(history_j)
        if median > 0:
            change = (energy - median) / median
            reference = f"median of {len(history_j)} earlier session(s) of the experiment"
    measured = sum(m["energy_j"] for m in report["methods"] if m["method"] in MEASURED_METHODS)
    intensity = report["intensity"]
    return GradeInputs(
        energy_change=change,
        reference=reference,
        idle_share=totals["idle_j"] / energy if energy > 0 else None,
        intensity=None if intensity is None else intensity["gco2e_per_kwh"],
        measured_share=measured / energy if energy > 0 else None,
    )


# -- views ------------------------------------------------------------------------------------


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return MISSING
    return f"{value * 100:+.0f} %" if signed else f"{value * 100:.0f} %"


def _criterion_value(key: str, value: float | None) -> str:
    if value is None:
        return "not known"
    if key == "intensity":
        return f"{value:.0f} gCO2e/kWh"
    return _percent(value, signed=key == "energy_change")


def _intensity_line(intensity: dict[str, Any] | None) -> str:
    if intensity is None:
        return "No intensity: the runs carry no impact."
    year = f", {intensity['year']}" if intensity.get("year") else ""
    where = intensity.get("zone_name") or intensity.get("zone") or "your setting"
    assumed = " (assumed: set your zone)" if intensity.get("is_assumption") else ""
    several = (
        f"; the runs used {intensity['distinct_values']} different values, the latest shown"
        if intensity["distinct_values"] > 1
        else ""
    )
    return (
        f"{intensity['gco2e_per_kwh']:.0f} gCO2e/kWh, {where} ({intensity['source']}{year}){assumed}; "
        f"PUE {intensity['pue']:g} ({intensity['pue_source']}){several}"
    )


def _headline(report: dict[str, Any]) -> list[tuple[str, str]]:
    totals = report["totals"]
    rows = [
        ("Energy", energy_text(totals["energy_j"])),
        ("Emissions", carbon_text(totals["gco2e"])),
        ("Cell time", duration_text(totals["duration_s"])),
        ("Cells run", f"{totals['runs']} ({', '.join(f'{n} {s}' for s, n in sorted(totals['statuses'].items()))})"),
        ("Idle share", _percent(totals["idle_j"] / totals["energy_j"] if totals["energy_j"] > 0 else None)),
        ("Intensity", _intensity_line(report["intensity"])),
        ("Methods", ", ".join(f"{m['method']} {_percent(m['share'])}" for m in report["methods"]) or "no meter"),
    ]
    if totals["cost"] is not None:
        rows.insert(2, ("Cost", f"{totals['cost']:.4g} {totals['currency'] or ''}".strip()))
    baseline = report["baseline"]
    if baseline is not None:
        rows.append(("Against baseline", _baseline_line(baseline)))
    return rows


def _baseline_line(baseline: dict[str, Any]) -> str:
    text = f"{_percent(baseline['energy_change'], signed=True)} energy"
    worst = baseline["largest_increase"]
    if worst is not None:
        text += f"; largest increase {worst['label']} ({_percent(worst['change'], signed=True)})"
    return text


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("<", "&lt;").replace("\n", " ")


def to_markdown(report: dict[str, Any], chart_files: dict[str, str] | None = None) -> str:
    """GitHub-flavoured Markdown (a CI job summary); charts as links to SVG files written beside it."""
    grade_ = report["grade"]
    letter = grade_["letter"] or MISSING
    lines = [f"# {_md_escape(report['title'])}", "", f"**Grade {letter}** (rubric v{grade_['rubric_version']})", ""]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {_md_escape(v)} |" for k, v in _headline(report)]
    lines += ["", "## Top cells by energy", ""]
    by_label = {c["label"]: c for c in report["cells"]}
    for label in report["top_cells"]:
        cell = by_label[label]
        lines.append(f"1. **{_md_escape(label)}** {energy_text(cell['energy_j'])} ({_percent(cell['share'])})")
    for name, path in (chart_files or {}).items():
        lines += ["", f"![{name} chart]({path})"]
    lines += ["", "## Cells", "", "| cell | status | duration | energy | CO₂e | methods | code |", "|---" * 7 + "|"]
    for cell in report["cells"]:
        lines.append(
            f"| {_md_escape(cell['label'])} | {cell['status']} | {duration_text(cell['duration_s'])} | "
            f"{energy_text(cell['energy_j'])} | {carbon_text(cell['gco2e'])} | {', '.join(cell['methods'])} | "
            f"{_md_escape(cell['code_preview'] or '')} |"
        )
    lines += ["", "## Devices", "", "| device | method | energy | share |", "|---|---|---|---|"]
    lines += [
        f"| {_md_escape(d['label'])} | {d['method']} | {energy_text(d['energy_j'])} | {_percent(d['share'])} |"
        for d in report["devices"]
    ]
    if report["baseline"] is not None:
        lines += ["", "## Against the baseline", "", "| cell | baseline | now | change |", "|---|---|---|---|"]
        lines += [
            f"| {_md_escape(c['label'])} | {energy_text(c['baseline_energy_j'])} | {energy_text(c['energy_j'])} | "
            f"{_percent(c['change'], signed=True)} |"
            for c in report["baseline"]["cells"]
        ]
    lines += ["", "## Grade", "", "| criterion | value | points (0-4) | how to improve |", "|---|---|---|---|"]
    for c in grade_["criteria"]:
        points = "not graded" if c["points"] is None else str(c["points"])
        lines.append(f"| {c['title']} | {_criterion_value(c['key'], c['value'])} | {points} | {c['advice']} |")
    if grade_["inputs"]["reference"]:
        lines.append(f"\nEnergy compared with the {grade_['inputs']['reference']}.")
    if report["equivalents"]:
        lines += ["", "## Equivalents", ""]
        lines += [f"- {e['value']:.3g} {e['unit']} {e['label']} ({e['source']})" for e in report["equivalents"]]
    lines += ["", "## Carbon statement", "", f"> {report['statement']}", ""]
    return "\n".join(lines)


_CSS = """
body{font:14px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;background:#fff}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.grade{font-size:2.5rem;font-weight:700}
code{font-size:12px}blockquote{border-left:4px solid #2e7d32;margin:0;padding:.5rem 1rem;background:#f3f7f3}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto}
@media (prefers-color-scheme:dark){body{color:#e8e8e8;background:#161616}th,td{border-color:#555}
blockquote{background:#1f2a1f}figure svg{background:#fff}}
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: dict[str, Any]) -> str:
    """One self-contained page: inline CSS and inline SVG charts, no script, no request."""
    e = html.escape
    grade_ = report["grade"]
    parts = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(report["title"])}</title>',
        f'<meta name="viewport" content="width=device-width"><style>{_CSS}</style></head><body>',
        f"<h1>{e(report['title'])}</h1>",
        f'<p><span class="grade" aria-label="grade">{e(grade_["letter"] or MISSING)}</span> '
        f"grade (rubric v{grade_['rubric_version']})</p>",
        _table(["", ""], [[k, v] for k, v in _headline(report)]),
        "<h2>Charts</h2>",
    ]
    for name, spec in report_specs(report).items():
        svg = render_svg(spec)
        if svg is None:
            parts.append(f"<p>{e(INSTALL_HINT)}</p>")
            break
        parts.append(f'<figure role="img" aria-label="{e(spec["title"])}" data-chart="{e(name)}">{svg}</figure>')
    parts += [
        "<h2>Cells</h2>",
        _table(
            ["cell", "status", "duration", "energy", "CO₂e", "methods", "flags", "code"],
            [
                [
                    c["label"],
                    c["status"],
                    duration_text(c["duration_s"]),
                    energy_text(c["energy_j"]),
                    carbon_text(c["gco2e"]),
                    ", ".join(c["methods"]),
                    ", ".join(c["flags"]),
                    c["code_preview"] or "",
                ]
                for c in report["cells"]
            ],
        ),
        "<h2>Devices</h2>",
        _table(
            ["device", "method", "energy", "share"],
            [[d["label"], d["method"], energy_text(d["energy_j"]), _percent(d["share"])] for d in report["devices"]],
        ),
    ]
    if report["baseline"] is not None:
        parts += [
            "<h2>Against the baseline</h2>",
            _table(
                ["cell", "baseline", "now", "change"],
                [
                    [
                        c["label"],
                        energy_text(c["baseline_energy_j"]),
                        energy_text(c["energy_j"]),
                        _percent(c["change"], signed=True),
                    ]
                    for c in report["baseline"]["cells"]
                ],
            ),
        ]
    parts += [
        "<h2>Grade</h2>",
        _table(
            ["criterion", "value", "points (0-4)", "how to improve"],
            [
                [
                    c["title"],
                    _criterion_value(c["key"], c["value"]),
                    "not graded" if c["points"] is None else str(c["points"]),
                    c["advice"],
                ]
                for c in grade_["criteria"]
            ],
        ),
    ]
    if report["equivalents"]:
        items = "".join(
            f"<li>{q['value']:.3g} {e(q['unit'])} {e(q['label'])} ({e(q['source'])})</li>"
            for q in report["equivalents"]
        )
        parts.append(f"<h2>Equivalents</h2><ul>{items}</ul>")
    parts += ["<h2>Carbon statement</h2>", f"<blockquote>{e(report['statement'])}</blockquote>", "</body></html>"]
    return "\n".join(parts)


def write_report(report: dict[str, Any], target: Path, report_format: str | None = None) -> Path:
    """Write the report in the format its suffix names (or ``report_format``); Markdown gets SVG files beside it."""
    import json

    fmt = report_format or target.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the report format of {target}: name it .md, .html or .json")
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        target.write_text(json.dumps(report, indent=1, allow_nan=False))
    elif fmt == "html":
        target.write_text(to_html(report))
    else:
        target.write_text(to_markdown(report, write_chart_files(report, target)))
    return target


def write_chart_files(report: dict[str, Any], target: Path) -> dict[str, str]:
    """The charts as SVG files next to a Markdown report, by name -> relative path (none without vl-convert)."""
    files: dict[str, str] = {}
    for name, spec in report_specs(report).items():
        svg = render_svg(spec)
        if svg is None:
            return {}
        path = target.with_name(f"{target.stem}.{name}.svg")
        path.write_text(svg)
        files[name] = path.name
    return files
