"""A Derivation's display: a short repr, and its gradients as matrices in the notes' letters."""

from sympy import Matrix, symbols

import symcnn
from symcnn.printing.display import MAX_SHOWN, markdown, matrices


def test_the_repr_is_a_short_summary():
    d = symcnn.derive(symcnn.Conv2d(input_shape=(2, 1, 3, 3), kernel=2, out_channels=2))
    assert repr(d) == (
        "<Derivation of conv2d on a 2x1x3x3 input, out channels 2: output 2x2x2x2;"
        " gradients X 2x1x3x3, W 2x1x2x2, B 2>"
    )


def test_matrices_are_the_first_sample_and_channel():
    d = symcnn.derive(symcnn.Conv2d(input_shape=(2, 1, 3, 3), kernel=2))
    shown = matrices(d)
    assert shown["X"] == Matrix(d.grads["X"][0, 0].tolist())
    assert shown["W"].shape == (2, 2) and shown["B"].shape == (1, 1)
    g = symbols("g_0_0_0_0 g_0_0_0_1 g_0_0_1_0 g_0_0_1_1 g_1_0_0_0 g_1_0_0_1 g_1_0_1_0 g_1_0_1_1")
    assert shown["B"][0] == sum(g)  # both samples' upstream gradients


def test_markdown_writes_the_notes_letters_and_abridges_large_gradients():
    small = markdown(symcnn.derive(symcnn.Conv2d(input_shape=(3, 3), kernel=2)), letters="xwo")
    assert r"$$\frac{\partial E}{\partial w} = \left[\begin{matrix}" in small
    assert r"\frac{\partial E}{\partial o_{11}} x_{11}" in small
    assert "first sample" not in small  # one sample, one channel: everything is shown
    side = 9
    assert side * side > MAX_SHOWN
    large = markdown(symcnn.derive(symcnn.AvgPool2d(input_shape=(side, side), kernel=3)))
    assert f"∂L/∂X: {side}×{side}, too large to show here" in large
