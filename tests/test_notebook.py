"""examples/tour.ipynb runs from top to bottom, and shows what its text says it shows."""

import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "tour.ipynb"


def test_the_tour_runs_and_shows_derivations_figures_and_a_diagnosis(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()  # raises CellExecutionError on any error
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    shown = json.dumps([out.get("data", {}) for out in outputs])
    text = "".join(out.get("text", "") for out in outputs)
    # The derivation's own display: its summary and its gradients in the notes' letters.
    assert "Derivation of conv2d on a 1x1x3x3 input" in shown
    assert r"\\frac{\\partial L}{\\partial W} = \\left[\\begin{matrix}" in shown
    # Two figures, drawn as images.
    assert shown.count("image/png") == 2
    # The notes in x, w, o, and the checker's verdict.
    assert "∂E/∂w" in text
    assert "'wrong': 9" in text and "['kernel_not_rotated']" in text
