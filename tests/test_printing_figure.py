"""Figures: every mark agrees with the derivation, read independently of the figure's code."""

import numpy as np
import pytest
from sympy import Rational

import symcnn
from symcnn import AvgPool2d, Conv2d, MaxPool2d, derive
from symcnn.cli import main
from symcnn.printing.figure import MAX_SIDE, panels, reach, render, sample_values
from symcnn.tensors import is_upstream


def upstream_terms(expr) -> int:
    """How many dL/dO factors a gradient entry holds: the outputs that reach that cell."""
    return sum(1 for symbol in expr.free_symbols if is_upstream(symbol))


@pytest.mark.parametrize(
    "spec",
    [
        Conv2d(input_shape=(5, 5), kernel=2),
        Conv2d(input_shape=(5, 5), kernel=2, stride=3),  # stride gaps: row and column 2
        Conv2d(input_shape=(7, 7), kernel=3, dilation=2, padding=1),
        AvgPool2d(input_shape=(4, 4), kernel=2, stride=1),  # overlap counts 1, 2, 4
        MaxPool2d(input_shape=(5, 5), kernel=3, stride=2, padding=1),
    ],
    ids=str,
)
def test_reach_counts_the_outputs_in_each_input_gradient(spec):
    d = derive(spec)
    counts = reach(d)
    expected = np.vectorize(upstream_terms)(d.grads["X"][0, 0])
    assert counts.tolist() == expected.tolist()


def test_stride_gaps_get_no_gradient():
    d = derive(Conv2d(input_shape=(5, 5), kernel=2, stride=3))
    counts = reach(d)
    assert counts[2].tolist() == [0] * 5 and counts[:, 2].tolist() == [0] * 5
    assert all(entry == 0 for entry in d.grads["X"][0, 0, 2])


def test_average_pool_overlap_counts():
    counts = reach(derive(AvgPool2d(input_shape=(4, 4), kernel=2, stride=1)))
    assert counts.tolist() == [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]


def test_footprints_are_the_cells_each_window_reads_on_the_padded_grid():
    d = derive(Conv2d(input_shape=(4, 4), kernel=2, stride=2, padding=1, dilation=1))
    (footprints, *_) = panels(d)
    assert footprints.data["padding"] == (1, 1)
    (first, cells_first), (second, cells_second) = footprints.data["footprints"]
    assert (first, second) == ("O₁₁", "O₁₂")
    assert cells_first == [(0, 0)]  # three of its four taps fall on the padding
    assert cells_second == [(0, 1), (0, 2)]


def test_max_pool_routing_goes_to_each_windows_maximum():
    d = derive(MaxPool2d(input_shape=(4, 4), kernel=2))
    routing = next(panel for panel in panels(d) if panel.kind == "routing")
    values = np.array([[sample_values(d)[x] for x in row] for row in d.tensors.X[0, 0]])
    shares = routing.data["shares"]
    assert len(shares) == 4 and set(shares.values()) == {1}
    for (output, (row, column)), _ in shares.items():
        i, j = output
        window = values[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
        assert values[row, column] == window.max()


def test_split_ties_share_the_gradient_at_a_given_input():
    d = derive(MaxPool2d(input_shape=(2, 2), kernel=2, ties="split"))
    x = d.tensors.X[0, 0]
    values = {x[0, 0]: 3, x[0, 1]: 3, x[1, 0]: 1, x[1, 1]: 0}
    routing = next(panel for panel in panels(d, values) if panel.kind == "routing")
    assert routing.title == "routing at the given input"
    assert routing.data["shares"] == {
        ((0, 0), (0, 0)): Rational(1, 2),
        ((0, 0), (0, 1)): Rational(1, 2),
    }


def test_the_full_convolution_view_rotates_the_kernel():
    d = derive(Conv2d(input_shape=(3, 3), kernel=(2, 3)))
    kernel = next(panel for panel in panels(d) if panel.kind == "kernel")
    assert kernel.data["kernel"] == [["W₁₁", "W₁₂", "W₁₃"], ["W₂₁", "W₂₂", "W₂₃"]]
    assert kernel.data["rotated"] == [["W₂₃", "W₂₂", "W₂₁"], ["W₁₃", "W₁₂", "W₁₁"]]


def test_figure_formats_and_determinism():
    d = derive(Conv2d(input_shape=(3, 3), kernel=2))
    assert render(d, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    svg = render(d, "svg")
    assert svg.startswith("<?xml") and svg == render(d, "svg")
    assert len(symcnn.figure(d).axes) == 3
    with pytest.raises(ValueError, match=r"format='gif' is not valid: expected one of png, svg"):
        render(d, "gif")


def test_an_oversized_figure_is_refused():
    side = MAX_SIDE + 1
    d = derive(AvgPool2d(input_shape=(side, side), kernel=side))
    with pytest.raises(ValueError, match=rf"its height {side} is more than {MAX_SIDE} cells"):
        render(d, "svg")


def test_the_command_line_draws_figures(tmp_path, capsys):
    target = tmp_path / "pool.png"
    command = ["derive", "maxpool2d", "--input", "4x4", "--kernel", "2"]
    assert main([*command, "--format", "png", "-o", str(target)]) == 0
    assert target.read_bytes()[:4] == b"\x89PNG"
    assert main([*command, "--format", "png"]) == 2
    assert "--format png writes a binary file: pass -o FILE.png" in capsys.readouterr().err
    assert main([*command, "--format", "svg"]) == 0
    assert "<svg" in capsys.readouterr().out


def test_a_latex_handout_includes_its_figure_and_compiles(tmp_path, capsys):
    import shutil
    import subprocess

    target = tmp_path / "conv.tex"
    command = ["derive", "conv2d", "--input", "4x4", "--kernel", "2", "--stride", "2"]
    assert main([*command, "-o", str(target), "--figure"]) == 0
    figure = tmp_path / "conv-figure.png"
    assert figure.read_bytes()[:4] == b"\x89PNG"
    assert r"{conv-figure.png}" in target.read_text()
    assert f"wrote {figure} (its figure)" in capsys.readouterr().err
    assert shutil.which("pdflatex"), "pdflatex is installed in CI"
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", target.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert "conv-figure.png" in run.stdout  # pdflatex read the figure
    # the figure is a file the user did not name: never replaced without --force
    target.unlink()
    assert main([*command, "-o", str(target), "--figure"]) == 2
    assert "conv-figure.png exists; pass --force" in capsys.readouterr().err
    assert not target.exists()
    assert main([*command, "-o", str(target), "--figure", "--force"]) == 0


def test_a_figure_needs_a_latex_file_beside_it(tmp_path, capsys):
    command = ["derive", "conv2d", "--input", "3x3", "--kernel", "2", "--figure"]
    assert main(command) == 2
    assert "pass --format latex and -o FILE.tex" in capsys.readouterr().err
    assert main([*command, "-o", str(tmp_path / "notes.md")]) == 2
    assert main([*command, "-o", str(tmp_path / "my notes.tex")]) == 2
    assert "letters, digits, '_' and '-' only" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _load_script(path):
    import importlib.util

    loaded = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module


def test_the_plots_share_the_figures_style(tmp_path):
    """The benchmark plot and the digits loss curve are drawn by the figures' own helpers: the
    same text sizes and colours, the same saving (same input, same bytes)."""
    from pathlib import Path

    import matplotlib

    from symcnn.printing import figure as figure_module

    root = Path(__file__).parents[1]
    digits = _load_script(root / "examples" / "digits.py")
    bench = _load_script(root / "benchmarks" / "bench_kernels.py")
    drawn = []
    original = figure_module.styled_figure

    def recording(figsize):
        made = original(figsize)
        drawn.append(made)
        return made

    figure_module.styled_figure = recording
    try:
        losses = list(np.linspace(2.0, 0.1, 60))
        for name in ("a.png", "b.png"):
            digits.plot(losses, tmp_path / name, "python examples/digits.py")
        rows = [
            {"layer": f"conv2d {k}", "dtype": "float32", "direction": "forward+backward",
             "generated_s": t, "pytorch_s": 1.0}
            for k, t in (("3x3", 0.7), ("5x5 stride 2", 1.2))
        ]  # fmt: skip
        bench.draw([{"threads": 1, "rows": rows}, {"threads": None, "rows": rows}],
                   tmp_path / "bench.png")  # fmt: skip
    finally:
        figure_module.styled_figure = original
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"
    assert len(drawn) == 3
    for made in drawn:
        axes = made.axes[0]
        assert axes.title.get_fontsize() == figure_module.STYLE["axes.titlesize"]
        assert axes.xaxis.label.get_fontsize() == figure_module.STYLE["axes.labelsize"]
    curve = drawn[0].axes[0].lines
    assert matplotlib.colors.to_hex(curve[1].get_color()) == figure_module.BLUE
    bars = drawn[2].axes[0].patches
    assert matplotlib.colors.to_hex(bars[0].get_facecolor()) == figure_module.BLUE
    assert matplotlib.colors.to_hex(bars[-1].get_facecolor()) == figure_module.RED
