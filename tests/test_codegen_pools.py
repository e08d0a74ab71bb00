"""Generated pool kernels: the structure read from the derivation, ties, random pools, layout."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from codegen_helpers import compare_exactly, compare_with_runtime, other_batches, random_fractions
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import Integer, Piecewise, Symbol

from symcnn.codegen import structure as structure_module
from symcnn.codegen.catalog import CATALOG
from symcnn.codegen.generate import generate, load
from symcnn.codegen.printer import INDENT, bare_call, list_call, statement
from symcnn.codegen.strategies import applicable, unrolled_terms
from symcnn.codegen.structure import StructureError, prove
from symcnn.derive import derive
from symcnn.identities import weak_orderings
from symcnn.layers.pool.codegen_reading import (
    Routing,
    extreme_maps,
    read_extreme,
    recover_routing,
)
from symcnn.layers.pool.spec import AvgPool2d, MaxPool2d, MinPool2d

ROOT = Path(__file__).resolve().parents[1]
EXTREMES = (MaxPool2d, MinPool2d)
TIES = ("first", "all", "split")


def _kernels(spec, strategy, dtype="float64"):
    return load(generate(spec, dtype=dtype, strategy=strategy, structure=prove(spec)))


def _exact(values, shape) -> np.ndarray:
    return np.array([Fraction(v) for v in np.ravel(values)], dtype=object).reshape(shape)


# -- the structure read back from the derivation ---------------------------------------------------


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("layer", EXTREMES)
def test_routing_is_read_from_the_partials(layer, ties):
    spec = layer(input_shape=(2, 2, 5, 5), kernel=3, stride=2, padding=1, ties=ties)
    structure = prove(spec)
    extreme = "max" if layer is MaxPool2d else "min"
    row_major = tuple(itertools.product(range(3), range(3)))
    assert structure.rule == Routing(extreme, ties, row_major)
    assert [(tap.p, tap.q) for tap in structure.taps] == list(row_major)


def test_windows_of_one_cell_have_no_extreme():
    structure = prove(MaxPool2d(input_shape=(1, 1, 2, 2), kernel=2, padding=1))
    assert structure.rule.extreme is None  # every window holds one real cell


def test_divisors_are_read_from_the_coefficients():
    spec = AvgPool2d(input_shape=(1, 1, 7, 7), kernel=3, stride=2, padding=1)
    assert prove(spec).rule.table == ((9,) * 4,) * 4  # padding counts: kh * kw everywhere
    uncounted = prove(dataclasses.replace(spec, count_include_pad=False)).rule
    # windows start at -1, 1, 3, 5: 2, 3, 3 and 2 real rows (and columns); checked by hand
    assert uncounted.table == ((4, 6, 6, 4), (6, 9, 9, 6), (6, 9, 9, 6), (4, 6, 6, 4))
    assert [d for _, _, d in uncounted.blocks()] == [4, 6, 4, 6, 9, 6, 4, 6, 4]


def test_a_different_routing_does_not_rebuild_the_derivation():
    spec = MaxPool2d(input_shape=(1, 1, 4, 4), kernel=2)
    maps = read_extreme(derive(spec))
    taps, routing = recover_routing(spec, maps)
    assert extreme_maps(spec, taps, routing) == maps
    for wrong in (
        dataclasses.replace(routing, order=routing.order[::-1]),
        dataclasses.replace(routing, ties="all"),
        dataclasses.replace(routing, extreme="min"),
    ):
        assert extreme_maps(spec, taps, wrong) != maps


def _share_of_two(entry):
    """``g * Piecewise((1, cond), (0, True))`` -> ``g * Piecewise((2, cond), (0, True))``."""
    g, indicator = sorted(entry.args, key=lambda factor: isinstance(factor, Piecewise))
    condition = indicator.args[0].cond
    return g * Piecewise((2, condition), (0, True))


def _weak_against_the_earlier_cell(entry):
    """Cell (0, 1) made to hold against cell (0, 0) weakly, as ``all`` would have it."""
    return entry.replace(lambda n: n.is_Relational and n.rel_op == "<", lambda n: n.lhs <= n.rhs)


@pytest.mark.parametrize(
    "tamper, message",
    [
        (_share_of_two, "neither 1 nor"),  # no tie rule pays 2
        (_weak_against_the_earlier_cell, r"dL/dX at \[0, 0, 0, 1\]"),  # an `all` window in `first`
        (lambda entry: Integer(0), r"dL/dX at \[0, 0, 0, 1\]"),  # a routing term dropped
        (lambda entry: entry + Symbol("x_0_0_0_0") * Symbol("g_0_0_0_0"), "not c \\* g"),
    ],
)
def test_the_proof_refuses_a_tampered_derivation(monkeypatch, tamper, message):
    spec = MaxPool2d(input_shape=(1, 1, 4, 4), kernel=2)
    derivation = derive(spec)
    grad = derivation.grads["X"].copy()
    grad[0, 0, 0, 1] = tamper(grad[0, 0, 0, 1])
    assert grad[0, 0, 0, 1] != derivation.grads["X"][0, 0, 0, 1]
    structure_module._prove(spec)  # the untouched derivation proves
    monkeypatch.setattr(
        structure_module,
        "derive",
        lambda reduced, **limit: dataclasses.replace(derivation, grads={"X": grad}),
    )
    with pytest.raises(StructureError, match=message):
        structure_module._prove(spec)


def test_a_convolution_is_not_read_as_a_pool():
    from symcnn.layers.conv2d.spec import Conv2d

    with pytest.raises(StructureError, match="not an input cell"):
        read_extreme(derive(Conv2d(input_shape=(1, 1, 2, 2), kernel=2)))


# -- ties: the generated kernels equal the derivation on exact rationals ---------------------------


def _every_weak_ordering_of_2x2_windows() -> np.ndarray:
    """A 2 x 150 input whose 75 2x2 windows hold every weak ordering of four cells once."""
    orderings = list(weak_orderings(4))
    assert len(orderings) == 75  # the ordered Bell number: every tie pattern of 4 cells
    x = np.empty((1, 1, 2, 2 * len(orderings)), dtype=object)
    for k, ranks in enumerate(orderings):
        x[0, 0, :, 2 * k : 2 * k + 2] = np.array(ranks).reshape(2, 2)
    return _exact(x, x.shape)


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("layer", EXTREMES)
def test_every_tie_pattern_of_a_2x2_window_routes_as_derived(layer, ties):
    x = _every_weak_ordering_of_2x2_windows()
    spec = layer(input_shape=x.shape, kernel=2, ties=ties)
    rng = np.random.default_rng(3)
    grad_out = random_fractions(rng, spec.output_shape)
    structure = prove(spec)
    assert [s.name for s in applicable(structure)] == ["unrolled", "taps"]
    for strategy in ("unrolled", "taps"):
        kernels = _kernels(spec, strategy)
        compare_exactly(kernels, spec, arrays={"x": x, "grad_out": grad_out})


def _tied_input(rng, shape, levels: int) -> np.ndarray:
    """Values drawn from ``levels`` distinct fractions: 2-, 3-, 4-way (and wider) ties abound."""
    choices = [Fraction(k, 3) - 1 for k in range(levels)]
    return _exact(rng.choice(np.array(choices, dtype=object), size=shape), shape)


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("layer", EXTREMES)
def test_overlapping_3x3_windows_with_many_ties_route_as_derived(layer, ties):
    spec = layer(
        input_shape=(2, 1, 5, 4), kernel=3, stride=1, padding=1, ties=ties, reduction="mean"
    )
    assert [s.name for s in applicable(prove(spec))] == ["unrolled", "taps"]
    rng = np.random.default_rng(7)
    counts = set()
    for levels in (2, 3):
        x = _tied_input(rng, spec.input_shape, levels)
        grad_out = random_fractions(rng, spec.output_shape)
        extreme = derive(spec).output  # the windows, to count how many cells tie at the top
        for strategy in ("unrolled", "taps"):
            compare_exactly(_kernels(spec, strategy), spec, arrays={"x": x, "grad_out": grad_out})
        for window in extreme.flat:
            cells = [x[tuple(int(i) for i in s.name.split("_")[1:])] for s in window.free_symbols]
            best = max(cells) if layer is MaxPool2d else min(cells)
            counts.add(sum(c == best for c in cells))
    assert {2, 3, 4} <= counts  # the inputs did hold 2-, 3- and 4-way ties


def test_the_notes_example_pools_as_read_by_hand():
    kernels = _kernels(MaxPool2d(input_shape=(1, 1, 4, 4), kernel=2), "unrolled")
    x = np.array([[4, 8, 3, 9], [16, 10, 0, 7], [6, 12, 13, 8], [67, 18, 3, 7]], dtype=float)
    x = x.reshape(1, 1, 4, 4)
    assert kernels.forward(x).tolist() == [[[[16.0, 9.0], [67.0, 13.0]]]]
    grad = kernels.backward(x, np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    expected = np.zeros((4, 4))
    expected[1, 0], expected[0, 3], expected[3, 0], expected[2, 2] = 1, 2, 3, 4
    assert (grad[0, 0] == expected).all()


def test_unrolled_max_pool_reads_like_the_derivation():
    text = generate(MaxPool2d(input_shape=(1, 1, 4, 4), kernel=2), strategy="unrolled").text
    # reviewed by hand: cell (0, 1) takes window (0, 0)'s gradient when it beats the earlier
    # cell (0, 0) strictly and holds against the later cells (ties: first, row-major)
    assert (
        "    x_0_0_1_wins_0_0_0 = (x_0_0_1 > x_0_0_0) & (x_0_0_1 >= x_0_1_0)"
        " & (x_0_0_1 >= x_0_1_1)\n"
        "    grad_x[:, 0, 0, 1] = g_0_0_0 * x_0_0_1_wins_0_0_0\n"
    ) in text
    assert "    out[:, 0, 1, 0] = np.maximum.reduce([x_0_2_0, x_0_2_1, x_0_3_0, x_0_3_1])\n" in text


# -- random pools: generate, import, compare -------------------------------------------------------


@st.composite
def pool_specs(draw, channels: int = 2):
    """Random pools: every kind, kernel up to 3x3, strides below the kernel too (overlapping),
    padding up to half the kernel, every tie rule, either divisor, either reduction."""
    kind = draw(st.sampled_from(["maxpool2d", "minpool2d", "avgpool2d"]))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = [
        draw(st.integers(max(1, k - 2 * p), k + 3)) for k, p in zip(kernel, padding, strict=True)
    ]
    options = {
        "input_shape": (draw(st.integers(1, 2)), draw(st.integers(1, channels)), *size),
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "reduction": draw(st.sampled_from(["sum", "mean"])),
    }
    if kind == "avgpool2d":
        return AvgPool2d(**options, count_include_pad=draw(st.booleans()))
    layer = MaxPool2d if kind == "maxpool2d" else MinPool2d
    return layer(**options, ties=draw(st.sampled_from(TIES)))


@given(spec=pool_specs(), dtype=st.sampled_from(["float64", "float32"]))
def test_generated_pools_match_the_runtime(spec, dtype):
    structure = prove(spec)
    for strategy in applicable(structure):
        module = generate(spec, dtype=dtype, strategy=strategy.name, structure=structure)
        kernels = load(module)
        compare_with_runtime(kernels, spec, dtype, seed=1)
        compare_with_runtime(kernels, spec, dtype, seed=1, batch=other_batches(spec)[-1])


@settings(max_examples=12)
@given(spec=pool_specs(channels=1), seed=st.integers(0, 2**16))
def test_generated_pools_equal_the_derivation_exactly(spec, seed):
    structure = prove(spec)
    rng = np.random.default_rng(seed)
    arrays = {"x": _tied_input(rng, spec.input_shape, 3)}  # ties in most windows
    arrays["grad_out"] = random_fractions(rng, spec.output_shape)
    for strategy in applicable(structure):
        module = generate(spec, strategy=strategy.name, structure=structure)
        kernels = load(module)
        compare_exactly(kernels, spec, arrays=arrays)
        compare_exactly(kernels, spec, seed=seed, batch=other_batches(spec)[0])


# -- layout and strategies -------------------------------------------------------------------------

POOL_LAYOUT_SPECS = [
    MaxPool2d(input_shape=(1, 1, 12, 12), kernel=3, ties="split"),  # two-digit unrolled names
    MinPool2d(input_shape=(2, 3, 7, 6), kernel=(3, 2), stride=(2, 1), padding=1, ties="first",
              reduction="mean"),
    MaxPool2d(input_shape=(1, 2, 5, 5), kernel=3, stride=1, padding=1, ties="all"),
    AvgPool2d(input_shape=(1, 2, 7, 7), kernel=3, stride=2, padding=1, count_include_pad=False),
    AvgPool2d(input_shape=(3, 1, 12, 12), kernel=(3, 1), stride=(3, 1), reduction="mean"),
]  # fmt: skip


def test_generated_pool_modules_are_ruff_clean(tmp_path):
    for spec in POOL_LAYOUT_SPECS:
        structure = prove(spec)
        for strategy in applicable(structure):
            module = generate(spec, strategy=strategy.name, structure=structure)
            (tmp_path / f"{strategy.name}_{module.filename}").write_text(module.text)
    assert len(list(tmp_path.iterdir())) >= 2 * len(POOL_LAYOUT_SPECS)
    (tmp_path / "layout_helpers.py").write_text(_layout_cases())
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--config", str(ROOT / "pyproject.toml"), "."],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def _layout_cases() -> str:
    """Statements from the layout helpers at every width they wrap at, as one module."""
    lines = [
        "# ruff: noqa: F821, F841",
        "import numpy as np",
        "",
        "",
        "def cases(out, x, extreme):",
    ]
    for width in (3, 8, 9, 12, 20):
        items = [f"x_{k}_{width}_{width}" for k in range(width)]
        lines.append(list_call(INDENT, "out[:, 0, 10, 10]", "np.maximum.reduce", items))
        region = f"extreme[:, :, {width}:{width * 111}:2, 1:{width * 111}]"
        arguments = [region, region.replace("extreme", "x"), f"out={region}"]
        lines.append(bare_call(INDENT, "np.maximum", arguments))
        operands = [f"(x_{k}_{width} >= x_{k + 1}_{width})" for k in range(width)]
        lines.append(statement(INDENT, f"wins_{width}", "=", operands, " & "))
    return "\n".join(lines) + "\n"


def test_unrolled_pool_term_count_matches_the_printed_terms():
    for spec in POOL_LAYOUT_SPECS:
        structure = prove(spec)
        maps = structure.sample_maps()
        if spec.type == "avgpool2d":
            printed = sum(len(terms) for terms in maps.forward.values())
            printed += sum(len(terms) for terms in maps.grads["X"].values())
        else:
            printed = sum(len(window.cells) for window in maps.forward.values())
            printed += sum(
                1 + len(partial.relations) + len(partial.ties_with or ())
                for partials in maps.grads["X"].values()
                for partial in partials
            )
        assert unrolled_terms(structure) == printed


def test_separable_needs_the_taps_to_be_a_product():
    assert "separable" in [s.name for s in applicable(prove(POOL_LAYOUT_SPECS[3]))]
    assert "separable" not in [s.name for s in applicable(prove(POOL_LAYOUT_SPECS[2]))]


def test_auto_times_every_pool_strategy():
    module = generate(AvgPool2d(input_shape=(2, 1, 4, 4), kernel=2), strategy="auto")
    assert sorted(module.timings) == ["separable", "taps", "unrolled"]
    assert f"--strategy auto chose {module.strategy}" in module.text


def test_catalog_covers_lenets_pools_an_overlapping_average_and_a_min_pool():
    specs = [entry.spec for entry in CATALOG]
    assert MaxPool2d(input_shape=(64, 6, 24, 24), kernel=2) in specs
    assert MaxPool2d(input_shape=(64, 16, 8, 8), kernel=2) in specs
    assert MaxPool2d(input_shape=(1, 1, 4, 4), kernel=2) in specs
    assert any(s.type == "minpool2d" for s in specs)
    assert any(s.type == "avgpool2d" and s.stride < s.kernel for s in specs)


# -- argument checks -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool_kernels():
    return _kernels(MaxPool2d(input_shape=(1, 1, 4, 4), kernel=2), "taps")


def test_pool_module_refuses_wrong_shapes_and_dtypes(pool_kernels):
    with pytest.raises(ValueError, match=r"x has shape \(1, 1, 4, 5\): expected \(N, 1, 4, 4\)"):
        pool_kernels.forward(np.zeros((1, 1, 4, 5)))
    with pytest.raises(ValueError, match=r"x has shape \(0, 1, 4, 4\): .* for a batch N >= 1"):
        pool_kernels.forward(np.zeros((0, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"grad_out has shape \(1, 1, 2, 2\): expected \(3, 1"):
        pool_kernels.backward(np.zeros((3, 1, 4, 4)), np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="x has dtype float32: expected float64"):
        pool_kernels.forward(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"grad_out has shape \(1, 1, 4, 4\): expected"):
        pool_kernels.backward(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="grad_x must be a C-contiguous array"):
        pool_kernels.backward(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), out=[[0]])
