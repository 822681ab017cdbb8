"""The README's Python examples run as written: as one script (worker processes and all)
and as the cells of a notebook, in a fresh folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_notebook import execute, plot_cells_without_image

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[str]:
    """The ```python blocks of a markdown text, in order."""
    return BLOCK.findall(text)


def test_the_readme_has_python_examples():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    assert python_blocks("text\n```python\nx = 1\n```\n") == ["x = 1\n"]


@pytest.mark.parametrize("index", [0, 1])
def test_each_readme_example_runs_as_a_script(tmp_path, index):
    block = python_blocks(README.read_text(encoding="utf-8"))[index]
    script = tmp_path / "example.py"
    script.write_text(block)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((tmp_path / "results" / "sprint_race").glob("*/report.html"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_readme_examples_run_in_a_notebook(tmp_path):
    cells = [nbformat.v4.new_code_cell(block) for block in python_blocks(README.read_text())]
    notebook = execute(nbformat.v4.new_notebook(cells=cells), tmp_path)
    errors = [o for cell in notebook.cells for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    # the first block's last line saves a folder; its plot call is not the last line, so the
    # notebook shows no image for it: the check covers cells that end in a plot
    assert (tmp_path / "results" / "sprint_race").is_dir()
    assert plot_cells_without_image(notebook) in ([], [cells[0].source, cells[1].source])
