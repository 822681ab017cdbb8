"""The claims notebook executes from top to bottom: it rebuilds a scorecard from a check's
folder and reruns one claim with a changed assumption."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "claims.ipynb"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_claims_notebook_executes(tmp_path):
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
    texts = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    texts += "".join(str(o.get("text", "")) for o in outputs)
    assert "C9" in texts and "b_social halved" in texts
    assert "# The article's claims: scorecard" in texts
    assert list((tmp_path / "results" / "claims").iterdir())
