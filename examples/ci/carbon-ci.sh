#!/usr/bin/env bash
# Run notebooks measured, write the reports, append the Markdown one to the job summary, and
# exit as `jupyter carbon run` does (0 ok, 1 over budget or baseline, 2 a cell failed, 3 usage).
#
#   carbon-ci.sh OUT_DIR NOTEBOOK...
#
# Environment: CARBON_BUDGET (e.g. 50Wh or 20g), CARBON_BASELINE (a report JSON; skipped when
# the file is absent, as on the first run), CARBON_MAX_INCREASE (default 10%),
# GITHUB_STEP_SUMMARY (set by GitHub Actions).
set -u
out=$1
shift
mkdir -p "$out"
args=(-o "$out/executed" --report "$out/carbon-report.json" --report "$out/carbon-report.md" --report "$out/carbon-report.html")
if [ -n "${CARBON_BUDGET:-}" ]; then
    args+=(--budget "$CARBON_BUDGET")
fi
if [ -n "${CARBON_BASELINE:-}" ] && [ -f "$CARBON_BASELINE" ]; then
    args+=(--baseline "$CARBON_BASELINE" --max-increase "${CARBON_MAX_INCREASE:-10%}")
fi
status=0
jupyter carbon run "$@" "${args[@]}" || status=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/carbon-report.md" ]; then
    # A job summary shows no image from a file: the charts' lines give way to a pointer to the artifact.
    {
        grep -v '^!\[.*\](carbon-report\.[a-z]*\.svg)$' "$out/carbon-report.md"
        echo
        echo "_Charts: in carbon-report.html (one self-contained file) among the job's artifacts._"
    } >> "$GITHUB_STEP_SUMMARY"
fi
exit "$status"
