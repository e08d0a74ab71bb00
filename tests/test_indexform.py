"""The general formulas: derived from the forward formula, tight, and equal to every entry."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import sympy
from conv_grid import CONV_GRID, make_spec, spec_id
from sympy.core.function import AppliedUndef

import symcnn
from symcnn import AvgPool2d, Conv2d, MaxPool2d, MinPool2d, derive, jsonio
from symcnn.indexform import derivation as general_derivation
from symcnn.indexform import general
from symcnn.indexform.algebra import Formula, Part, bounds_of, index_symbol, shifted
from symcnn.indexform.derivation import as_sympy
from symcnn.indexform.instantiate import (
    CompiledPart,
    NotTight,
    instantiate,
    monomials,
    prove,
    prove_extremes,
)
from symcnn.pooling import real_window_cells

#: Every stride, padding, dilation and groups value of the brief, on two shape profiles.
FULL_GRID = [
    make_spec(stride, padding, dilation, groups, profile)
    for stride, padding, dilation, groups, profile in itertools.product(
        (1, 2, 3), (0, 1, 2), (1, 2), (1, 2), (0, 3)
    )
]


def _present_everywhere(formula: Formula, arrays) -> None:
    """No summation value inside its bounds is absent at every free index (the bounds are tight).

    For each part and each summation variable, every value the bounds allow at some free index
    must give a term present (conditions true, reads inside) at some free index.
    """
    for part in formula.parts:
        compiled = CompiledPart(part, formula.variables)
        allowed: dict[int, set] = {d: set() for d in range(len(part.sums))}
        present: dict[int, set] = {d: set() for d in range(len(part.sums))}
        free_count = len(formula.variables)
        for at in itertools.product(*(range(lim.low, lim.high + 1) for lim in formula.free)):
            for values in compiled._points(at, 0):
                sums = values[free_count:]
                for depth, value in enumerate(sums):
                    allowed[depth].add(value)
                if all(condition(*values) for condition in compiled.conditions):
                    for depth, value in enumerate(sums):
                        present[depth].add(value)
        assert allowed == present, f"{formula.tensor}: a summation value is never present"


@pytest.mark.parametrize("spec", FULL_GRID + CONV_GRID, ids=spec_id)
def test_every_entry_equals_the_derivation(spec: Conv2d) -> None:
    derivation = derive(spec)
    found = general(derivation)
    # general() proves as it derives; prove again here so that the test states it
    arrays = dict(vars(derivation.tensors))
    assert prove(found.forward, arrays, derivation.output) == derivation.output.size
    for name, exact in derivation.grads.items():
        assert prove(found.grads[name], arrays, exact) == exact.size
        _present_everywhere(found.grads[name], arrays)
    _present_everywhere(found.forward, arrays)


def test_the_brief_layer_has_the_textbook_form() -> None:
    spec = Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    found = general(derive(spec))
    grad_x = found.grads["X"]
    (part,) = grad_x.parts
    assert [s.var.name for s in part.sums] == ["p", "q"]  # over the kernel taps
    assert len(part.conditions) == 2  # the stride's divisibility, one per axis
    assert all(isinstance(c, sympy.Eq) for c in part.conditions)
    (part,) = found.grads["W"].parts
    assert [s.var.name for s in part.sums] == ["i", "j"]  # the batch of one is substituted


def test_a_wide_bound_is_caught() -> None:
    spec = Conv2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), padding=(1, 1), bias=False)
    derivation = derive(spec)
    found = general(derivation)
    (part,) = found.grads["W"].parts
    wide = Part(
        part.coefficient,
        part.reads,
        tuple(type(s)(s.var, sympy.S.Zero, sympy.S(spec.output_shape[2] - 1)) for s in part.sums),
        part.conditions,
    )
    formula = Formula("W", found.grads["W"].free, (wide,))
    with pytest.raises(NotTight):
        instantiate(formula, dict(vars(derivation.tensors)), (0, 0, 0, 0))


def test_a_wrong_formula_fails_the_proof() -> None:
    spec = Conv2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), stride=(2, 2), bias=False)
    derivation = derive(spec)
    found = general(derivation)
    (part,) = found.grads["W"].parts
    reads = (part.reads[0], part.reads[0])  # dL/dO squared: not the gradient
    formula = Formula("W", found.grads["W"].free, (Part(part.coefficient, reads, part.sums),))
    with pytest.raises(ValueError, match="wrong at"):
        prove(formula, dict(vars(derivation.tensors)), derivation.grads["W"])


def test_bounds_of_a_strided_read() -> None:
    i, p = index_symbol("i"), index_symbol("p")
    low, high = bounds_of(0, 2 * i - 1 + p, 4, i)
    for p_value in range(3):
        inside = [v for v in range(-5, 6) if 0 <= 2 * v - 1 + p_value <= 4]
        lo, hi = (int(b.subs(p, p_value)) for b in (low, high))
        assert list(range(lo, hi + 1)) == inside


def test_the_sympy_form_reads_back() -> None:
    spec = Conv2d(input_shape=(2, 2, 4, 4), kernel=(2, 2), stride=(2, 2), groups=2, out_channels=2)
    found = general(derive(spec))
    for formula in (found.forward, *found.grads.values()):
        expr = as_sympy(formula)
        # the index symbols are integers; the string reads back as plain symbols of those names
        plain = expr.xreplace({s: sympy.Symbol(s.name) for s in expr.atoms(sympy.Symbol)})
        assert sympy.sympify(str(expr)) == plain


@pytest.mark.parametrize(
    "spec",
    [
        Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1)),
        Conv2d(input_shape=(2, 2, 4, 4), kernel=(2, 2), dilation=(2, 1), groups=2, out_channels=2),
        Conv2d(input_shape=(2, 1, 3, 4), kernel=(2, 2), stride=(1, 2), reduction="mean"),
        AvgPool2d(
            input_shape=(1, 2, 5, 5),
            kernel=(3, 3),
            stride=(2, 2),
            padding=(1, 1),
            count_include_pad=False,
        ),
    ],
    ids=lambda spec: spec.describe(),
)
def test_the_json_formula_evaluated_by_sympy_is_every_entry(spec) -> None:
    """An independent instantiation: SymPy's own ``Sum.doit`` on the string read back."""
    derivation = derive(spec)
    data = jsonio.to_dict(derivation)
    arrays = {name: a for name, a in vars(derivation.tensors).items() if a is not None}
    for name, exact in derivation.grads.items():
        entry = data["general"][name]
        expr = sympy.sympify(entry["formula"])
        names = [sympy.Symbol(index[0]) for index in entry["indices"]]
        assert [(i[1], i[2]) for i in entry["indices"]] == [(0, s - 1) for s in exact.shape]
        for at in itertools.product(*(range(size) for size in exact.shape)):
            value = expr.subs(dict(zip(names, at, strict=True))).doit()
            value = value.replace(
                lambda e: isinstance(e, AppliedUndef),
                lambda e: arrays[type(e).__name__][tuple(int(i) for i in e.args)],
            )
            assert sympy.expand(value - exact[at]) == 0, (name, at)


AVERAGE_GRID = [
    AvgPool2d(
        input_shape=(2, 2, 5, 6),
        kernel=kernel,
        stride=stride,
        padding=padding,
        count_include_pad=include,
    )
    for kernel, stride, padding, include in itertools.product(
        ((2, 2), (3, 2)), ((1, 1), (2, 2), (3, 1)), ((0, 0), (1, 1)), (True, False)
    )
]


@pytest.mark.parametrize("spec", AVERAGE_GRID, ids=lambda s: s.describe())
def test_average_pool_formula_equals_every_entry(spec: AvgPool2d) -> None:
    """The divisor per window is an index expression; the gradient's follows by elimination."""
    derivation = derive(spec)
    found = general(derivation)
    arrays = dict(vars(derivation.tensors))
    assert prove(found.grads["X"], arrays, derivation.grads["X"]) == derivation.grads["X"].size
    _present_everywhere(found.grads["X"], arrays)
    _present_everywhere(found.forward, arrays)


EXTREME_GRID = [
    kind(
        input_shape=(2, 2, 5, 6),
        kernel=kernel,
        stride=stride,
        padding=padding,
        ties=ties,
    )
    for kind, kernel, stride, padding, ties in itertools.product(
        (MaxPool2d, MinPool2d),
        ((2, 2), (3, 2)),
        ((1, 1), (2, 2), (3, 1)),
        ((0, 0), (1, 1)),
        ("first", "split", "all"),
    )
]


@pytest.mark.parametrize("spec", EXTREME_GRID, ids=lambda s: f"{s.type}-{s.describe()}")
def test_extreme_pool_formula_equals_every_entry(spec) -> None:
    """The window's extreme and the tie rule's share: every entry, compared symbolically."""
    derivation = derive(spec)
    found = general(derivation)
    arrays = dict(vars(derivation.tensors))
    share = symcnn.layers.entry("general", spec.type).share
    exact = derivation.grads["X"]
    assert prove_extremes(found.grads["X"], arrays, exact, share) == exact.size
    assert prove_extremes(found.forward, arrays, derivation.output, share) == derivation.output.size
    (part,) = found.grads["X"].parts
    assert [s.var.name for s in part.sums] == ["i", "j"]  # over the windows holding the cell
    assert len(part.shares) == 1 and part.shares[0].rule.ties == spec.ties
    _present_everywhere(found.grads["X"], arrays)
    _present_everywhere(found.forward, arrays)


def test_a_wrong_winner_fails_the_proof() -> None:
    """The proof sees the tie rule: a formula with another rule's share is wrong somewhere."""
    spec = MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), stride=(1, 1), ties="first")
    derivation = derive(spec)
    found = general(derivation)
    (part,) = found.grads["X"].parts
    (share,) = part.shares
    other = dataclasses.replace(share, rule=dataclasses.replace(share.rule, ties="split"))
    formula = Formula("X", found.grads["X"].free, (dataclasses.replace(part, shares=(other,)),))
    share_value = symcnn.layers.entry("general", spec.type).share
    with pytest.raises(ValueError, match="wrong at"):
        prove_extremes(formula, dict(vars(derivation.tensors)), derivation.grads["X"], share_value)


def _share_value(name: str, args, values: np.ndarray) -> sympy.Rational:
    """The JSON's ``FirstMax(cell, window, (p, a, b), (q, c, d))`` etc., by its documented words.

    Written here from the docs, not from the package: the first cell in row-major order at the
    extreme value (first), 1/t of it to each of t tied cells (split), or all of it to each (all).
    """
    cell, window, *limits = args
    (p, a, b), (q, c, d) = limits
    cells = [
        tuple(int(e.subs({p: u, q: v})) for e in window.args)
        for u in range(int(a), int(b) + 1)
        for v in range(int(c), int(d) + 1)
    ]
    here = tuple(int(e) for e in cell.args)
    assert here in cells  # the formula's bounds put the cell in its window
    taken = [values[index] for index in cells]
    extreme = max(taken) if name.endswith("Max") else min(taken)
    tied = [index for index in cells if values[index] == extreme]
    if values[here] != extreme:
        return sympy.S.Zero
    if name.startswith("First"):
        return sympy.S.One if tied[0] == here else sympy.S.Zero
    if name.startswith("Split"):
        return sympy.Rational(1, len(tied))
    return sympy.S.One


@pytest.mark.parametrize(
    "spec",
    [
        kind(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1), ties=ties)
        for kind in (MaxPool2d, MinPool2d)
        for ties in ("first", "split", "all")
    ]
    + [MaxPool2d(input_shape=(2, 1, 3, 5), kernel=(2, 3), stride=(1, 2), ties="split")],
    ids=lambda s: f"{s.type}-{s.describe()}",
)
def test_the_json_extreme_formula_on_random_tied_numbers_is_every_entry(spec) -> None:
    """An independent instantiation on numbers: the JSON string read back by SymPy, its share
    functions evaluated by their documented meaning, against the exact entries on the same
    random rationals, drawn from few values so that windows tie."""
    derivation = derive(spec)
    entry = jsonio.to_dict(derivation)["general"]["X"]
    expr = sympy.sympify(entry["formula"])
    names = [sympy.Symbol(index[0]) for index in entry["indices"]]
    exact = derivation.grads["X"]
    rng = np.random.default_rng(13)
    ties_seen = 0
    for _ in range(3):
        x = np.empty(derivation.tensors.X.shape, dtype=object)
        for index in np.ndindex(x.shape):
            x[index] = sympy.Rational(int(rng.integers(-2, 3)), 2)
        g = np.empty(derivation.tensors.G.shape, dtype=object)
        for index in np.ndindex(g.shape):
            g[index] = sympy.Rational(int(rng.integers(-9, 10)), int(rng.integers(1, 5)))
        numbers = {s: v for a, b in ((derivation.tensors.X, x), (derivation.tensors.G, g))
                   for s, v in zip(a.flat, b.flat, strict=True)}  # fmt: skip
        for n, c, i, j in np.ndindex(derivation.output.shape):
            cells = [x[n, c, r, q] for r, q in real_window_cells(spec, i, j)]
            extreme = max(cells) if isinstance(spec, MaxPool2d) else min(cells)
            ties_seen += cells.count(extreme) > 1
        for at in np.ndindex(exact.shape):
            value = expr.subs(dict(zip(names, at, strict=True))).doit()
            value = value.replace(
                lambda e: isinstance(e, AppliedUndef) and type(e).__name__ not in ("X", "G"),
                lambda e, x=x: _share_value(type(e).__name__, e.args, x),
            )
            value = value.replace(
                lambda e: isinstance(e, AppliedUndef),
                lambda e, x=x, g=g: {"X": x, "G": g}[type(e).__name__][
                    tuple(int(i) for i in e.args)
                ],
            )
            assert value == exact[at].xreplace(numbers), (at, value)
    assert ties_seen > 0  # the inputs hold ties, so the tie rule was put to the test


def test_an_extreme_pool_option_without_a_formula_is_refused() -> None:
    dilated = MaxPool2d(input_shape=(1, 1, 5, 5), kernel=(2, 2), stride=(1, 1), dilation=(2, 2))
    assert "with dilation" in general_derivation.unavailable(dilated)
    overhang = MinPool2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), ceil_mode=True)
    assert "with ceil_mode" in general_derivation.unavailable(overhang)
    with pytest.raises(ValueError, match="with ceil_mode"):
        general(derive(overhang))
    assert "general" not in jsonio.to_dict(derive(overhang))


@pytest.mark.parametrize("ties", ["first", "split", "all"])
def test_the_notes_state_the_tie_rule_as_a_condition(ties: str) -> None:
    spec = MaxPool2d(
        input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1), ties=ties
    )
    notes = symcnn.notes(derive(spec))
    text = notes.text()
    assert "max[p=max(1,4-2i)..min(3,8-2i), q=max(1,4-2j)..min(3,8-2j)] X_{p+2i-3,q+2j-3}" in text
    assert "Σ[i=ceil(h/2)..floor((h+2)/2)] Σ[j=ceil(w/2)..floor((w+2)/2)]" in text
    condition = {
        "first": "if h = p*+2i-3 and w = q*+2j-3",
        "split": "·(1/t_{ij}) if X_{hw} = Oᵢⱼ",
        "all": "if X_{hw} = Oᵢⱼ",
    }[ties]
    assert condition in text
    assert ("With a tie this is not a gradient" in text) == (ties == "all")
    latex = notes.latex()
    assert r"\max_{max(1,4-2i) \le p \le min(3,8-2i)" in latex
    if ties == "first":
        assert r"h = p^{\ast}+2i-3" in latex


@pytest.mark.parametrize("spec", FULL_GRID[::5], ids=spec_id)
def test_the_printed_one_based_formula_is_every_entry(spec: Conv2d) -> None:
    """The notes print ``shifted(formula, 1)``: at index ``at + 1`` it is the entry ``at``."""
    derivation = derive(spec)
    found = general(derivation)
    arrays = {}
    for name, array in vars(derivation.tensors).items():
        if array is None:
            continue
        one_based = np.full(tuple(s + 1 for s in array.shape), sympy.Symbol("unused"), object)
        one_based[tuple(slice(1, None) for _ in array.shape)] = array
        arrays[name] = one_based
    for name, exact in derivation.grads.items():
        printed = shifted(found.grads[name], 1)
        for at in itertools.product(*(range(size) for size in exact.shape)):
            got = instantiate(printed, arrays, tuple(a + 1 for a in at))
            assert got == monomials(exact[at]), (name, at)


def test_the_notes_print_the_general_step_one_based_in_either_notation() -> None:
    spec = Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    derivation = derive(spec)
    one = symcnn.notes(derivation)
    zero = symcnn.notes(derivation, zero_based=True)
    step = one["general"]
    lines = [one.math_text(side) for eq in step.equations() for side in eq.sides]
    assert "∂L/∂X_{hw}" in lines
    assert any("2 | p+1-h" in line and "(h+3-p)/2" in line for line in lines)
    zero_lines = [zero.math_text(side) for eq in step.equations() for side in eq.sides]
    assert zero_lines == lines  # the general formula is 1-based under --zero-based too


def test_a_layer_above_the_proof_limit_says_so(monkeypatch) -> None:
    spec = Conv2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), bias=False)
    monkeypatch.setattr(general_derivation, "PROVEN_UP_TO", spec.multiply_terms - 1)
    derivation = derive(spec)
    assert "general" not in jsonio.to_dict(derivation)
    step = symcnn.notes(derivation)["general"]
    assert f"only up to {spec.multiply_terms - 1}" in step.blocks[0].parts[0]
    monkeypatch.setattr(general_derivation, "PROVEN_UP_TO", spec.multiply_terms)
    assert "general" in jsonio.to_dict(derivation)


def test_a_pool_option_without_a_formula_is_refused_with_its_reason() -> None:
    """A ceil_mode that adds an overhanging window has no formula: said, not derived."""
    from symcnn.layers.pool.general import refuse

    assert refuse(AvgPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2))) is None
    same = AvgPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ceil_mode=True)
    assert refuse(same) is None  # ceil_mode that changes nothing keeps the formulas
    overhang = AvgPool2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), ceil_mode=True)
    assert "with ceil_mode" in general_derivation.unavailable(overhang)
    maxpool = MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2))
    assert general_derivation.unavailable(maxpool) is None
    assert (
        general_derivation.unavailable(AvgPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2))) is None
    )


def test_zero_based_notes_print_the_general_formula_counted_from_zero() -> None:
    """Under --zero-based the step counts from 0, and the checker reads it back that way."""
    from symcnn.check import check_text

    spec = Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    zero = symcnn.notes(derive(spec), zero_based=True)
    step = zero["general"]
    lines = [zero.math_text(side) for eq in step.equations() for side in eq.sides]
    assert any("(h+1-p)/2" in line and "max(0,h-3)" in line for line in lines)
    assert "Indices count from 0." in zero.text()
    report = check_text(zero.text(), spec, zero_based=True)
    general_claims = [r for r in report.records if r.kind == "general"]
    assert len({(r.tensor, r.index) for r in general_claims}) == 9 + 1 + 25  # W, B, X
    assert {r.status for r in general_claims} == {"correct"}
