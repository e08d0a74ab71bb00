"""PyTorch's ``ceil_mode`` and ``dilation`` for the pools, held to PyTorch's semantics.

The expected numbers are PyTorch's, written out by hand from its definitions (ATen's
``pooling_output_shape``: ``(H + 2P - D(K-1) - 1 + (S-1 if ceil_mode)) // S + 1``, less one when
the last window would start on the right padding; ``avg_pool2d``'s divisor ``pool_size``, the
window clipped to the padded input, with ``count_include_pad``), and the published ones of
torchvision's GoogLeNet (its 3x3 stride-2 ``ceil_mode`` pools take 112 to 56, 56 to 28, 28 to 14
and 14 to 7). Every case is then computed three ways that must agree: the exact derivation, the
generic runtime and a generated module.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symcnn
from symcnn import AvgPool2d, MaxPool2d, MinPool2d, derive, runtime
from symcnn.cli import main
from symcnn.codegen.generate import generate, load
from symcnn.codegen.strategies import applicable
from symcnn.codegen.structure import prove
from symcnn.evaluate import bind, evaluate
from symcnn.identities import verify
from symcnn.indexform.derivation import available, general
from symcnn.layers import layer_from_dict
from symcnn.layers.pool.spec import pool_output_size
from symcnn.pooling import real_window_cells
from symcnn.printing.figure import panels

sys.path.insert(0, str(Path(__file__).parent))
from codegen_helpers import compare_exactly, compare_with_runtime, random_fractions


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation", "floor", "ceil"),
    [
        (112, 3, 2, 0, 1, 55, 56),  # torchvision's GoogLeNet
        (56, 3, 2, 0, 1, 27, 28),
        (28, 3, 2, 0, 1, 13, 14),
        (14, 3, 2, 0, 1, 6, 7),
        (5, 2, 2, 0, 1, 2, 3),
        (5, 2, 3, 1, 1, 2, 2),  # a third window would start on the right padding: dropped
        (4, 3, 2, 1, 1, 2, 3),
        (5, 2, 1, 0, 2, 3, 3),
        (32, 3, 1, 0, 2, 28, 28),
        (7, 3, 2, 1, 2, 3, 3),
        (8, 3, 3, 1, 2, 2, 3),
    ],
)
def test_output_sizes_are_pytorchs(size, kernel, stride, padding, dilation, floor, ceil):
    assert pool_output_size(size, kernel, stride, padding, dilation, False) == floor
    assert pool_output_size(size, kernel, stride, padding, dilation, True) == ceil
    spec = MaxPool2d(
        input_shape=(size, size),
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=True,
    )
    assert spec.output_shape == (1, 1, ceil, ceil)


def _three_ways(spec, x, upstream):
    """Forward and dL/dX from the exact derivation, the runtime and every generated strategy."""
    d = derive(spec)
    values = {**bind(d.tensors.X, x), **bind(d.tensors.G, upstream)}
    exact = (evaluate(d.output, values), evaluate(d.grads["X"], values))
    found = [exact, (runtime.forward(spec, x), runtime.backward(spec, x, upstream)["X"])]
    structure = prove(spec)
    for strategy in applicable(structure):
        kernels = load(generate(spec, strategy=strategy.name, structure=structure))
        as_float = x.astype(np.float64)
        found.append(
            (kernels.forward(as_float), kernels.backward(as_float, upstream.astype(np.float64)))
        )
    return found


def _fractions(values) -> np.ndarray:
    return np.vectorize(Fraction, otypes=[object])(np.asarray(values))


PYTORCH_CASES = [
    # max_pool2d(arange(25).view(5, 5), 2, ceil_mode=True): the third windows overhang
    (
        MaxPool2d(input_shape=(5, 5), kernel=2, ceil_mode=True),
        np.arange(25).reshape(5, 5),
        [[6, 8, 9], [16, 18, 19], [21, 23, 24]],
    ),
    # max_pool2d(arange(16).view(4, 4), 2, stride=1, dilation=2): taps two cells apart
    (
        MaxPool2d(input_shape=(4, 4), kernel=2, stride=1, dilation=2),
        np.arange(16).reshape(4, 4),
        [[10, 11], [14, 15]],
    ),
    # avg_pool2d(arange(1, 10).view(3, 3), 2, ceil_mode=True): overhanging windows divide by
    # their cells inside the (unpadded) input
    (
        AvgPool2d(input_shape=(3, 3), kernel=2, ceil_mode=True),
        np.arange(1, 10).reshape(3, 3),
        [[3, Fraction(9, 2)], [Fraction(15, 2), 9]],
    ),
    # avg_pool2d(ones(4, 4), 3, 2, 1, ceil_mode=True): count_include_pad counts the padding but
    # not what the last window overhangs past it
    (
        AvgPool2d(input_shape=(4, 4), kernel=3, stride=2, padding=1, ceil_mode=True),
        np.ones((4, 4), dtype=int),
        [
            [Fraction(4, 9), Fraction(2, 3), Fraction(1, 3)],
            [Fraction(2, 3), 1, Fraction(1, 2)],
            [Fraction(1, 3), Fraction(1, 2), Fraction(1, 4)],
        ],
    ),
    (
        AvgPool2d(
            input_shape=(4, 4),
            kernel=3,
            stride=2,
            padding=1,
            ceil_mode=True,
            count_include_pad=False,
        ),
        np.ones((4, 4), dtype=int),
        np.ones((3, 3), dtype=int),
    ),
]


@pytest.mark.parametrize(("spec", "x", "expected"), PYTORCH_CASES)
def test_forward_values_are_pytorchs(spec, x, expected):
    x = _fractions(x).reshape(spec.input_shape)
    upstream = random_fractions(np.random.default_rng(0), spec.output_shape)
    expected = _fractions(expected).reshape(spec.output_shape)
    exact, *computed = _three_ways(spec, x, upstream)
    assert np.array_equal(exact[0], expected)  # the derivation, exactly
    assert np.array_equal(computed[0][0], expected)  # the runtime on fractions, exactly
    for forward, _ in computed[1:]:  # the generated modules, in float64
        assert np.allclose(forward, expected.astype(float), rtol=0, atol=1e-12)


def test_backward_values_by_hand():
    # avg_pool2d(x, 2, ceil_mode=True) on 3x3, dL/dO = ones: the corner window of one cell
    # gives it all; the edge windows of two cells give each half
    spec = AvgPool2d(input_shape=(3, 3), kernel=2, ceil_mode=True)
    x = _fractions(np.arange(9)).reshape(spec.input_shape)
    q, h = Fraction(1, 4), Fraction(1, 2)
    expected = _fractions([[q, q, h], [q, q, h], [h, h, 1]]).reshape(spec.input_shape)
    # max pooling with dilation 2 sends each window's dL/dO to its largest tap
    dilated = MaxPool2d(input_shape=(4, 4), kernel=2, stride=1, dilation=2)
    y = _fractions(np.arange(16)).reshape(dilated.input_shape)
    to_max = np.zeros((4, 4), dtype=int)
    to_max[2:, 2:] = 1
    for layer, data, wanted in ((spec, x, expected), (dilated, y, to_max)):
        ones = _fractions(np.ones(layer.output_shape, dtype=int))
        for _, grad in _three_ways(layer, data, ones):
            assert np.allclose(grad.astype(float), np.asarray(wanted, dtype=float).reshape(
                layer.input_shape), rtol=0, atol=1e-12)  # fmt: skip
        exact = _three_ways(layer, data, ones)[0][1]
        assert np.array_equal(exact, _fractions(wanted).reshape(layer.input_shape))


@pytest.mark.parametrize(
    "spec",
    [
        MaxPool2d(input_shape=(2, 2, 7, 6), kernel=3, stride=2, padding=1, dilation=2,
                  ceil_mode=True, ties="split"),
        MinPool2d(input_shape=(1, 2, 6, 5), kernel=(2, 3), stride=1, dilation=(2, 1), ties="all"),
        AvgPool2d(input_shape=(2, 1, 5, 5), kernel=3, stride=2, padding=1, ceil_mode=True),
    ],
)  # fmt: skip
def test_the_identities_hold(spec):
    assert all(identity.holds for identity in verify(derive(spec)))


@st.composite
def optioned_pools(draw):
    """Random pools with dilation (max, min) and ceil_mode; options PyTorch refuses are skipped."""
    kind = draw(st.sampled_from([MaxPool2d, MinPool2d, AvgPool2d]))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    options = {
        "input_shape": (draw(st.integers(1, 2)), 1, *(draw(st.integers(1, 7)) for _ in "hw")),
        "kernel": kernel,
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "padding": tuple(draw(st.integers(0, k // 2)) for k in kernel),
        "ceil_mode": draw(st.booleans()),
    }  # fmt: skip
    if kind is AvgPool2d:
        options["count_include_pad"] = draw(st.booleans())
    else:
        options["dilation"] = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        options["ties"] = draw(st.sampled_from(["first", "all", "split"]))
    try:
        return kind(**options)
    except ValueError:
        assume(False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(spec=optioned_pools(), seed=st.integers(0, 2**16))
def test_generated_modules_equal_the_derivation_and_the_runtime(spec, seed):
    structure = prove(spec)
    rng = np.random.default_rng(seed)
    arrays = {
        "x": random_fractions(rng, spec.input_shape),
        "grad_out": random_fractions(rng, spec.output_shape),
    }
    for strategy in applicable(structure):
        kernels = load(generate(spec, strategy=strategy.name, structure=structure))
        compare_exactly(kernels, spec, arrays=arrays)
        compare_with_runtime(kernels, spec, "float64", seed=seed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(spec=optioned_pools())
def test_windows_hold_the_taps_pytorch_reads(spec):
    """Each window's cells are the taps ``i*S - P + p*D`` inside the input, and none is empty."""
    window = spec.window
    _, _, height, width = spec.input_shape
    for i, j in np.ndindex(*spec.output_shape[2:]):
        rows = [
            i * window.stride[0] - window.padding[0] + p * window.dilation[0]
            for p in range(window.kernel[0])
        ]
        cols = [j * window.stride[1] - window.padding[1] + q * window.dilation[1]
                for q in range(window.kernel[1])]  # fmt: skip
        cells = [(r, c) for r in rows for c in cols if 0 <= r < height and 0 <= c < width]
        assert real_window_cells(spec, i, j) == cells and cells


def test_refusals_name_the_option():
    with pytest.raises(
        ValueError, match=r"dilation=\[3, 3\] is not valid for .*taps on the padding"
    ):
        MaxPool2d(input_shape=(1, 1), kernel=2, padding=1, dilation=3, ceil_mode=True)
    with pytest.raises(ValueError, match=r"ceil_mode=1 is not valid: expected True or False"):
        AvgPool2d(input_shape=(3, 3), kernel=2, ceil_mode=1)
    with pytest.raises(ValueError, match=r"dilation=0 is not valid"):
        MaxPool2d(input_shape=(3, 3), kernel=2, dilation=0)
    with pytest.raises(ValueError, match=r"the dilated kernel spans 5"):
        MaxPool2d(input_shape=(4, 4), kernel=3, dilation=2)
    # ceil_mode keeps a window bigger than the input, as PyTorch does
    assert MaxPool2d(input_shape=(3, 3), kernel=4, ceil_mode=True).output_shape == (1, 1, 1, 1)


def test_the_json_layer_round_trips():
    spec = MaxPool2d(input_shape=(5, 5), kernel=2, stride=1, dilation=(2, 1), ceil_mode=True)
    data = spec.to_dict()
    assert data["dilation"] == [2, 1] and data["ceil_mode"] is True
    assert layer_from_dict(json.loads(json.dumps(data))) == spec
    assert "dilation" not in AvgPool2d(input_shape=(3, 3), kernel=2).to_dict()


def test_the_command_line(capsys, tmp_path):
    assert main(["derive", "maxpool2d", "--input", "5x5", "--kernel", "2", "--ceil-mode",
                 "--dilation", "2", "--stride", "1", "--format", "json"]) == 0  # fmt: skip
    layer = json.loads(capsys.readouterr().out)["layer"]
    assert layer["ceil_mode"] is True and layer["dilation"] == [2, 2]
    assert main(["derive", "avgpool2d", "--input", "3x3", "--kernel", "2", "--dilation", "2"]) == 2
    assert "--dilation does not apply to avgpool2d" in capsys.readouterr().err
    assert main(["generate", "avgpool2d", "--input", "3x3", "--kernel", "2", "--ceil-mode",
                 "-o", str(tmp_path)]) == 0  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["avgpool2d_1x1x3x3_k2x2_ceil_float64.py"]


def test_notes_say_ceil_mode_and_print_true_sizes():
    text = symcnn.notes(derive(AvgPool2d(input_shape=(3, 3), kernel=2, ceil_mode=True))).text()
    assert "ceil mode" in text and "⌈(3 − 2 + 2·0)/2⌉ + 1 = 2" in text
    dropped = derive(MaxPool2d(input_shape=(5, 5), kernel=2, stride=3, padding=1, ceil_mode=True))
    lines = symcnn.notes(dropped).text().splitlines()
    assert "  H_out = 2" in lines  # rounding up would give 3: shown without the formula
    command = symcnn.notes(dropped).command()
    assert command.endswith("--kernel 2x2 --stride 3x3 --padding 1x1 --ceil-mode")


def test_general_formulas_refuse_what_they_cannot_prove():
    dilated = derive(MaxPool2d(input_shape=(4, 4), kernel=2, stride=1, dilation=2))
    overhang = derive(AvgPool2d(input_shape=(3, 3), kernel=2, ceil_mode=True))
    for d, what in ((overhang, "ceil_mode"),):
        assert not available(d.spec)
        with pytest.raises(ValueError, match=f"not available for {d.spec.type} with {what}"):
            general(d)
    assert not available(dilated.spec)
    # ceil_mode that changes nothing keeps the proven formulas
    same = derive(AvgPool2d(input_shape=(4, 4), kernel=2, ceil_mode=True))
    assert available(same.spec) and general(same).proven["X"] == 16


def test_check_code_refuses_dilation_and_ceil_mode(tmp_path, capsys):
    source = Path(__file__).parents[1] / "examples" / "cs231n_layers_buggy.py"
    for flags in (["--dilation", "2"], ["--ceil-mode"]):
        code = main(["check-code", str(source), "maxpool2d", "--input", "2x1x5x5", "--kernel",
                     "2", *flags])  # fmt: skip
        assert code == 2
        assert "not available for maxpool2d with" in capsys.readouterr().err


def test_the_figure_reads_the_dilated_windows_off_the_derivation():
    spec = MaxPool2d(input_shape=(5, 5), kernel=2, stride=1, dilation=2)
    footprints = panels(derive(spec))[0].data["footprints"]
    assert footprints[0][1] == [(0, 0), (0, 2), (2, 0), (2, 2)]
