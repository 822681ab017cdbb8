"""The exploration notebook executes from top to bottom (so it never rots)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "explore.ipynb"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_explore_notebook_executes(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the comparison table was produced, with both variants
    texts = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "doubao supply +30bn" in texts
    assert "sprint_race" in texts
