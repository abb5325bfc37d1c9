"""Papermill-style parameters: a cell of assignments injected after the cell tagged ``parameters``."""

from __future__ import annotations

import ast
from typing import Any

import nbformat

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def parse_value(text: str) -> Any:
    """A command-line value as papermill reads it: a Python literal (number, bool, None, list...), else text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def inject_parameters(notebook: nbformat.NotebookNode, parameters: dict[str, Any]) -> None:
    """Insert (or replace) the injected cell: after the ``parameters`` cell, else first.

    Names are checked to be identifiers: the cell is code the kernel runs.
    """
    if not parameters:
        return
    bad = [name for name in parameters if not name.isidentifier()]
    if bad:
        raise ValueError(f"parameter names must be Python identifiers, not {', '.join(map(repr, bad))}")
    source = "# Parameters\n" + "".join(f"{name} = {value!r}\n" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})  # type: ignore[no-untyped-call]
    cells = notebook.cells
    cells[:] = [c for c in cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    tagged = [i for i, c in enumerate(cells) if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    cells.insert(tagged[0] + 1 if tagged else 0, cell)
