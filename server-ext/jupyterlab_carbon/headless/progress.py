"""What a headless run prints while it goes: a bar on a terminal, a line per cell in a log."""

from __future__ import annotations

from typing import TextIO

from ..units import carbon_text, duration_text, energy_text

BAR_WIDTH = 24


class Progress:
    """Cells done and energy so far; redraws one line on a TTY, appends lines otherwise (CI logs)."""

    def __init__(self, name: str, total_cells: int, stream: TextIO) -> None:
        self._name = name
        self._total = max(total_cells, 1)
        self._stream = stream
        self._tty = stream.isatty()
        self._done = 0

    def cell_done(self, label: str, status: str, duration_s: float, energy_so_far_j: float) -> None:
        self._done += 1
        if self._tty:
            filled = round(BAR_WIDTH * self._done / self._total)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            line = f"\r{self._name} [{bar}] {self._done}/{self._total} cells, {energy_text(energy_so_far_j)} so far"
            self._stream.write(line.ljust(100))
        else:
            self._stream.write(
                f"{self._name}: {self._done}/{self._total} {label} {status} in {duration_text(duration_s)}; "
                f"{energy_text(energy_so_far_j)} so far\n"
            )
        self._stream.flush()

    def finish(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()


def summary_table(rows: list[tuple[str, str, float, float, float | None]]) -> str:
    """The table printed at the end: cell, status, duration, energy, CO2e, with a total line."""
    header = ("cell", "status", "duration", "energy", "CO2e")
    body = [(label, status, duration_text(d), energy_text(e), carbon_text(g)) for label, status, d, e, g in rows]
    grams = [g for *_, g in rows if g is not None]
    total = (
        "total",
        f"{len(rows)} cells",
        duration_text(sum(r[2] for r in rows)),
        energy_text(sum(r[3] for r in rows)),
        carbon_text(sum(grams) if grams else None),
    )
    table = [header, *body, total]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in table]
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])
