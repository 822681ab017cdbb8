"""The exploration notebook executes from top to bottom (so it never rots), every plot cell
shows its figure as an image, and progress bars draw without warnings."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "explore.ipynb"
PLOT_CALLS = (".plot(", "compare_plot(", ".plot.bar(")


def execute(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel in ``folder``; returns it with its outputs."""
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return notebook


def plot_cells_without_image(notebook: nbformat.NotebookNode) -> list[str]:
    """The source of every code cell that draws a plot but shows no PNG."""
    missing = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or not any(call in cell.source for call in PLOT_CALLS):
            continue
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        if not images:
            missing.append(cell.source)
    return missing


def warnings_shown(notebook: nbformat.NotebookNode) -> list[str]:
    """Text written to stderr that reads as a warning."""
    return [
        o.text
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == "stream" and o.name == "stderr" and "warn" in o.text.lower()
    ]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_explore_notebook_executes_and_shows_its_plots(tmp_path):
    notebook = execute(nbformat.read(NOTEBOOK, as_version=4), tmp_path)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the comparison table was produced, with both variants
    texts = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "doubao supply +30bn" in texts
    assert "sprint_race" in texts
    # figures returned by the API display as images, not as "<Figure size ...>"
    assert not plot_cells_without_image(notebook)
    as_text = [
        o
        for o in outputs
        if "<Figure size" in str(o.get("data", {}).get("text/plain", ""))
        and "image/png" not in o.get("data", {})
    ]
    assert not as_text
    # the ensembles' progress bars are notebook widgets, drawn without warnings
    widgets = [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets
    assert not warnings_shown(notebook)


def test_a_figure_cell_without_an_image_is_caught():
    """The check above can fail: a plot cell whose output is text is reported."""
    cell = nbformat.v4.new_code_cell("result.plot('kill_line')")
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "<Figure size 1>"})]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    assert plot_cells_without_image(notebook) == ["result.plot('kill_line')"]
