"""``jupyter carbon run`` and ``jupyter carbon report`` end to end, through the CI recipe's script.

The kernel runs for real; the CPU meter is a fake RAPL tree advancing in real time (20 W package,
3 W DRAM), so the figures are measured counters and the grade's inputs are known.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyterlab_carbon.headless.grade import grade_from_report
from jupyterlab_carbon.ledger import Ledger, RunQuery

from .fakesysfs import FakePowercap

REPO = Path(__file__).resolve().parents[2]
CI_SCRIPT = REPO / "examples" / "ci" / "carbon-ci.sh"
SUMMARY_TS = REPO / "src" / "badges" / "summary.ts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def small_notebook(path: Path, extra: list[str] = ()) -> Path:  # type: ignore[assignment]
    """A parameters cell, a busy cell, a %%carbon cell naming an experiment, then ``extra`` cells."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A small notebook"),
        nbformat.v4.new_code_cell("seconds = 0.1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import time\nend = time.time() + seconds\nwhile time.time() < end:\n    pass"),
        nbformat.v4.new_code_cell("%load_ext jupyterlab_carbon"),
        nbformat.v4.new_code_cell("%%carbon --experiment headless-test --tag ci\nsum(range(10**5))"),
        *[nbformat.v4.new_code_cell(code) for code in extra],
    ]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def env(tmp_path: Path, live_powercap: FakePowercap) -> dict[str, str]:
    """The command's environment: this checkout's CLI on PATH, a fresh ledger and config, the fake meter."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "jupyter-carbon"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m jupyterlab_carbon.cli "$@"\n')
    shim.chmod(0o755)
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    server_config = {"CarbonConfig": {"zone": "FR", "use_nvml": False, "use_amdsmi": False, "sample_period_s": 0.1}}
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(server_config))
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_CONFIG_PATH": "",
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTERLAB_CARBON_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "JUPYTERLAB_CARBON_POWERCAP_ROOT": str(live_powercap.root),
        "JUPYTERLAB_CARBON_HWMON_ROOT": str(tmp_path / "no-hwmon"),
    }


def carbon(env: dict[str, str], cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["jupyter", "carbon", *map(str, args)], env=env, cwd=cwd, capture_output=True, text=True, timeout=240
    )


def ci_script(
    env: dict[str, str], cwd: Path, out: str, *notebooks: Path, **variables: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(CI_SCRIPT), out, *map(str, notebooks)],
        env={**env, **variables},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def first_run(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.CompletedProcess[str], Path]]:
    """The CI recipe's first run (no baseline yet) on the small notebook, with a parameter through -p."""
    small_notebook(tmp_path / "small.ipynb")
    summary = tmp_path / "summary.md"
    result = ci_script(
        env, tmp_path, "out", Path("small.ipynb"), CARBON_BUDGET="1kWh", GITHUB_STEP_SUMMARY=str(summary)
    )
    yield result, summary


def summary_fields() -> set[str]:
    """The fields of ICarbonSummary in the frontend's source (what the badges read)."""
    body = re.search(r"export interface ICarbonSummary \{(.*?)\n\}", SUMMARY_TS.read_text(), re.S)
    assert body is not None
    return set(re.findall(r"^\s+(\w+)\??:", body.group(1), re.M))


def test_run_measures_each_cell_records_and_reports(first_run: Any, tmp_path: Path, env: dict[str, str]) -> None:
    result, summary = first_run
    assert result.returncode == 0, result.stderr
    assert "4/4 cell 5 [4] ok" in result.stdout  # the progress, one line per cell off a TTY
    assert re.search(r"^total\s+4 cells", result.stdout, re.M)  # the summary table
    # Each progress line counts the cell it reports: the last one's energy so far is the total.
    so_far = re.findall(r"^small\.ipynb: \d/4 .+?; (.+) so far$", result.stdout, re.M)
    total = re.search(r"^total\s+4 cells\s+\S+ \S+\s+(\S+ \S+)", result.stdout, re.M)
    assert len(so_far) == 4 and total is not None and so_far[-1] == total.group(1), result.stdout
    assert "grade " in result.stdout

    executed = nbformat.read(tmp_path / "out" / "executed" / "small.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    summaries = [c.metadata["jupyterlab-carbon"] for c in code]
    optional = {"prediction"}  # written by the prediction gate only
    assert all(set(s) == summary_fields() - optional for s in summaries)
    assert all(s["methods"] == ["measured-counter"] for s in summaries)
    # The fake counter steps every 10 ms (RealTimeDriver): a shorter window (the parameters cell,
    # ~8 ms) may see it not move at all. Then it says so; it is never negative.
    tick_s = 0.01
    assert all(
        s["energy_j"] > 0 or (s["energy_j"] == 0 and s["duration_s"] < 2 * tick_s and "below-resolution" in s["flags"])
        for s in summaries
    ), summaries
    assert sum(s["energy_j"] > 0 for s in summaries) >= 3  # the 0.1 s loop, the magics
    assert summaries[0]["intensity"]["zone"] == "FR"  # the server's config was read

    book = Ledger(env["JUPYTERLAB_CARBON_LEDGER_URL"])
    _, runs = book.search(RunQuery(), order="asc", limit=50)
    assert [r.source for r in runs] == ["headless"] * 4  # the magic did not record a second, in-kernel run
    assert all("headless" in r.flags for r in runs)
    annotated = runs[-1]
    assert (annotated.experiment, annotated.tags) == ("headless-test", ["ci"])
    assert runs[0].experiment == "small.ipynb"
    assert {r.kernel_id for r in runs} == {runs[0].kernel_id}

    report = json.loads((tmp_path / "out" / "carbon-report.json").read_text())
    assert report["totals"]["runs"] == 4
    assert report["totals"]["energy_j"] == pytest.approx(sum(r.attributed_j for r in runs))
    assert report["grade"] == grade_from_report(report)
    assert report["grade"]["inputs"]["measured_share"] == pytest.approx(1.0)
    markdown = summary.read_text()
    assert markdown.startswith("# Carbon report: small.ipynb") and "## Carbon statement" in markdown
    # The job summary cannot show the report's SVG files: it names the HTML report instead.
    assert "](carbon-report.cells.svg)" in (tmp_path / "out" / "carbon-report.md").read_text()
    assert ".svg)" not in markdown and "Charts: in carbon-report.html" in markdown
    assert (tmp_path / "out" / "carbon-report.cells.svg").read_text().startswith("<svg")


def test_parameters_are_injected_after_the_tagged_cell(tmp_path: Path, env: dict[str, str]) -> None:
    small_notebook(tmp_path / "p.ipynb", extra=["print(f'seconds={seconds}')"])
    result = carbon(env, tmp_path, "run", "p.ipynb", "-p", "seconds", "0.2", "-o", "p.out.ipynb")
    assert result.returncode == 0, result.stderr
    cells = nbformat.read(tmp_path / "p.out.ipynb", as_version=4).cells
    assert cells[2].metadata["tags"] == ["injected-parameters"] and "seconds = 0.2" in cells[2].source
    assert cells[-1].outputs[0]["text"] == "seconds=0.2\n"
    assert cells[3].metadata["jupyterlab-carbon"]["duration_s"] >= 0.2


def test_a_kernel_that_dies_while_starting_is_replaced_then_reported(tmp_path: Path, env: dict[str, str]) -> None:
    """What a port taken from under a starting kernel does, every time: the kernel exits before it
    answers. The run starts another, twice, then stops saying so, without a traceback."""
    spec = tmp_path / "data" / "kernels" / "dies"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", "import sys; sys.exit(3)", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "dies", "language": "python"}))
    small_notebook(tmp_path / "n.ipynb")
    result = carbon(env, tmp_path, "run", "n.ipynb", "--kernel", "dies")
    assert result.returncode == 2, result.stderr
    assert result.stdout.count("the kernel died while starting") == 2, result.stdout
    assert "n.ipynb stopped: the kernel died while starting, 3 times" in result.stderr
    assert "Traceback" not in result.stderr.split("Exception ignored in atexit")[0]


def test_failing_cell_stops_the_run_and_the_report_still_comes_out(tmp_path: Path, env: dict[str, str]) -> None:
    small_notebook(tmp_path / "fails.ipynb", extra=["1 / 0", "print('never')"])
    result = carbon(env, tmp_path, "run", "fails.ipynb", "--report", "r.json", "--report", "r.html")
    assert result.returncode == 2, result.stderr
    assert "cell 6 [5]: ZeroDivisionError: division by zero" in result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["totals"]["statuses"] == {"ok": 4, "error": 1}
    assert report["cells"][-1]["status"] == "error" and "errored" in report["cells"][-1]["flags"]
    executed = nbformat.read(tmp_path / "fails.carbon.ipynb", as_version=4)
    assert executed.cells[-1].outputs == [] and "jupyterlab-carbon" not in executed.cells[-1].metadata
    assert executed.cells[-2].metadata["jupyterlab-carbon"]["status"] == "error"


def test_budget_and_baseline_gates(first_run: Any, tmp_path: Path, env: dict[str, str]) -> None:
    assert first_run[0].returncode == 0
    # A baseline where every cell cost a tenth: this run is ~+900 % against it.
    baseline = json.loads((tmp_path / "out" / "carbon-report.json").read_text())
    baseline["totals"]["energy_j"] /= 10
    for cell in baseline["cells"]:
        cell["energy_j"] /= 10
    (tmp_path / "baseline.json").write_text(json.dumps(baseline))
    result = ci_script(env, tmp_path, "again", Path("small.ipynb"), CARBON_BUDGET="1J", CARBON_BASELINE="baseline.json")
    assert result.returncode == 1, result.stderr
    assert re.search(r"Over budget: the run used .+, the budget is 1J \(\+\d+ %\)\.", result.stderr)
    assert re.search(
        r"Energy \+\d+ % against the baseline .+ more than the allowed \+10 %; largest increase: cell", result.stderr
    )
    report = json.loads((tmp_path / "again" / "carbon-report.json").read_text())
    # The change is this run's energy against the baseline's; how much this run used depends on the
    # machine's load (a clean-clone run used half the first run's), so only its relation is fixed.
    change = report["totals"]["energy_j"] / baseline["totals"]["energy_j"] - 1
    assert report["baseline"]["energy_change"] == pytest.approx(change) and change > 0.10
    assert report["grade"]["inputs"]["reference"] == "baseline"
    assert (tmp_path / "again" / "carbon-report.md").read_text().count("## Against the baseline") == 1


def test_report_from_the_ledger_in_three_formats(first_run: Any, tmp_path: Path, env: dict[str, str]) -> None:
    assert first_run[0].returncode == 0
    markdown = carbon(env, tmp_path, "report", "small.ipynb", "--format", "md")
    assert markdown.returncode == 0, markdown.stderr
    assert "| Energy |" in markdown.stdout and "## Top cells by energy" in markdown.stdout
    as_json = carbon(env, tmp_path, "report", "--experiment", "headless-test", "--format", "json")
    assert json.loads(as_json.stdout)["totals"]["runs"] == 1
    since = carbon(env, tmp_path, "report", "--since", "2000-01-01", "--format", "html", "-o", "all.html")
    assert since.returncode == 0, since.stderr
    page = (tmp_path / "all.html").read_text()
    assert not re.search(r"<script|\b(?:src|href)=\"?https?:", page)  # self-contained
    # Chromium, with every request sent to a closed port: the page renders from the file alone.
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",
            "--dump-dom",
            (tmp_path / "all.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert dom.returncode == 0, dom.stderr
    assert dom.stdout.count("<svg") >= 2 and "Carbon statement" in dom.stdout and 'aria-label="grade"' in dom.stdout
    usage = carbon(env, tmp_path, "report", "--format", "md")
    assert usage.returncode == 3 and "name a NOTEBOOK, an --experiment or a --since date" in usage.stderr


def test_usage_errors_exit_3(tmp_path: Path, env: dict[str, str]) -> None:
    small_notebook(tmp_path / "u.ipynb")
    cases = {
        ("run", "missing.ipynb"): "no such notebook: missing.ipynb",
        ("run", "u.ipynb", "--budget", "lots"): "cannot read the budget 'lots'",
        ("run", "u.ipynb", "--report", "r.pdf"): "name the file .md, .html or .json",
        ("run", "u.ipynb", "--baseline", "none.json"): "cannot read the baseline none.json",
        ("run", "--kernel"): "expected one argument",
        # Opened while the kernel starts, refused before any cell runs.
        ("run", "u.ipynb", "--ledger", "postgresql://nobody@127.0.0.1:1/none"): "Cannot open the ledger at",
    }
    for args, message in cases.items():
        result = carbon(env, tmp_path, *args)
        assert (result.returncode, message in result.stderr) == (3, True), (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
    assert not (tmp_path / "u.carbon.ipynb").exists()  # the refused ledger stopped the run before any cell


def test_usage_errors_exit_3_when_run_as_a_module(tmp_path: Path, env: dict[str, str]) -> None:
    """``python -m jupyterlab_carbon.cli`` (the module as ``__main__``) reports usage errors as ``jupyter carbon``."""
    result = subprocess.run(
        [sys.executable, "-m", "jupyterlab_carbon.cli", "run", "missing.ipynb"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3, result.stderr
    assert "no such notebook: missing.ipynb" in result.stderr and "Traceback" not in result.stderr


def test_a_headless_run_does_not_import_the_ledger_before_its_kernel_starts() -> None:
    """SQLAlchemy (~0.3 s) is imported on the opener thread, beside the kernel's start, not on the way to it."""
    code = (
        "import sys, jupyterlab_carbon.headless.cli_run, jupyterlab_carbon.ledger.annotations;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'"
        " or m == 'jupyterlab_carbon.ledger.store'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_the_demo_runs_measured(tmp_path: Path, env: dict[str, str]) -> None:
    """examples/demo.ipynb as a user would run it headless (a 5 s busy cell, a PyTorch cell)."""
    demo = REPO / "examples" / "demo.ipynb"
    result = carbon(env, tmp_path, "run", demo, "-o", "demo.ipynb", "--report", "demo.md")
    assert result.returncode == 0, result.stderr
    executed = nbformat.read(tmp_path / "demo.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code and all(c.metadata["jupyterlab-carbon"]["energy_j"] > 0 for c in code)
    busy = code[1].metadata["jupyterlab-carbon"]
    assert busy["duration_s"] >= 5 and busy["status"] == "ok"
    assert "## Top cells by energy" in (tmp_path / "demo.md").read_text()
