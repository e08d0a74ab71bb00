"""The steps of the notes: every value shown comes from the derivation, large layers are elided."""

from __future__ import annotations

import numpy as np
import pytest
from printing_helpers import check_traced, traced
from sympy import Integer, Symbol

import symcnn
from symcnn import Conv2d, derive
from symcnn.printing import Options, notes
from symcnn.printing.model import Display, Paragraph
from symcnn.printing.nodes import At, Omitted, Product, Terms, to_sympy, walk
from symcnn.printing.steps import abridge, build_steps, display
from symcnn.tensors import parse_symbol

#: Conv layers whose notes are checked value by value: stride, padding, dilation, channels,
#: groups, batch with mean reduction, no bias, and one large enough to be elided.
LAYERS = [
    Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)),
    Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2)),
    Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2), padding=(1, 1)),
    Conv2d(input_shape=(1, 2, 3, 3), kernel=(2, 2), out_channels=2),
    Conv2d(input_shape=(2, 1, 3, 3), kernel=(2, 2), reduction="mean"),
    Conv2d(input_shape=(1, 2, 4, 3), kernel=(2, 1), out_channels=2, groups=2, bias=False),
    Conv2d(input_shape=(1, 1, 5, 5), kernel=(2, 2), dilation=(2, 2), stride=(1, 2)),
    Conv2d(input_shape=(1, 1, 12, 12), kernel=(3, 3)),
]


def _ids(spec) -> str:
    return "-".join(str(v) for v in spec.to_dict().values())


@pytest.mark.parametrize("spec", LAYERS, ids=_ids)
def test_every_traced_value_is_the_derivations(spec):
    """The printer cannot invent an entry: each value shown equals the one it names."""
    printed = notes(derive(spec))
    assert check_traced(printed) > 0
    sources = {node.source.partition(":")[0] for node in traced(printed)}
    assert {"output", "grad", "tensor", "partial"} <= sources


@pytest.mark.parametrize("spec", LAYERS[:6], ids=_ids)
def test_every_gradient_entry_of_a_small_layer_is_shown(spec):
    derivation = derive(spec)
    shown = {(n.source, n.index) for n in traced(notes(derivation)) if n.source.startswith("grad:")}
    for name, grad in derivation.grads.items():
        for index in np.ndindex(*grad.shape):
            assert (f"grad:{name}", index) in shown


def test_a_large_layer_is_elided_and_says_so():
    derivation = derive(Conv2d(input_shape=(1, 1, 28, 28), kernel=(5, 5)))
    steps = build_steps(derivation)
    displays = [b for step in steps for b in step.blocks if isinstance(b, Display)]
    elided = [d.elision for d in displays if d.elision is not None]
    assert elided and all(e.shown < e.total for e in elided)
    assert max(len(d.equations) for d in displays) <= 32 * 4
    longest = max(
        len(m.value.args)
        for step in steps
        for eq in step.equations()
        for s in eq.sides
        for m in walk(s)
        if isinstance(m, At) and isinstance(m.value, Terms)
    )
    assert longest <= 32  # 576-term sums show their first four and last two terms
    omitted = [m for step in steps for m in step.math() for m in walk(m) if isinstance(m, Omitted)]
    assert max(o.count for o in omitted if not o.brief) == 576 - 6
    assert max(o.count for o in omitted if o.brief) == 576 - 2


def test_all_entries_shows_everything():
    derivation = derive(Conv2d(input_shape=(1, 1, 6, 6), kernel=(2, 2)))
    everything = build_steps(derivation, options=Options.everything())
    displays = [b for s in everything for b in s.blocks if isinstance(b, Display)]
    assert all(d.elision is None for d in displays)
    default = build_steps(derivation, options=Options(max_entries=4))
    assert any(b.elision for s in default for b in s.blocks if isinstance(b, Display))


def test_display_orders_terms_like_the_notes_and_keeps_the_value():
    d = derive(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)))
    shown = display(d.output[0, 0, 0, 1])
    assert isinstance(shown, Terms)
    first = shown.args[0]
    assert [parse_symbol(f)[0] for f in first.args] == ["X", "W"]
    assert parse_symbol(shown.args[-1])[0] == "B"
    assert to_sympy(shown) == d.output[0, 0, 0, 1]
    grad = display(d.grads["X"][0, 0, 1, 1])
    assert [parse_symbol(t.args[0])[1] for t in grad.args] == sorted(
        parse_symbol(t.args[0])[1] for t in grad.args
    )


def test_a_shared_coefficient_is_taken_out():
    d = derive(Conv2d(input_shape=(2, 1, 2, 2), kernel=(1, 1), reduction="mean", bias=False))
    shown = display(d.grads["W"][0, 0, 0, 0])
    assert isinstance(shown, Product) and shown.args[0] == Integer(1) / 2
    assert to_sympy(shown) == d.grads["W"][0, 0, 0, 0]


def test_abridge_keeps_short_sums():
    terms = Terms(*(Symbol(f"a{i}") for i in range(6)))
    assert abridge(terms, 4) == terms
    assert abridge(terms, None) == terms


def test_notes_steps_are_reachable_from_python():
    n = symcnn.notes(derive(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))))
    assert n.keys() == ["setup", "general", "forward", "local", "chain", "results", "identities"]
    chain = n["chain"]
    equation = next(chain.equations())
    assert n.math_text(equation.lhs) == "∂L/∂Wᵢ"
    assert "\\sum" in n.math_latex(equation.rhs[0])
    with pytest.raises(KeyError, match="no step 'nope'"):
        n["nope"]


def test_identities_are_marked_verified():
    n = notes(derive(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2))))
    paragraphs = [b for b in n["identities"].blocks if isinstance(b, Paragraph)]
    verdicts = [p for p in paragraphs if "Verified for this layer" in "".join(map(str, p.parts))]
    assert len(verdicts) == len(n.identities) == 3
    assert all(identity.holds for identity in n.identities)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="max_entries=0 is not valid"):
        Options(max_entries=0)
    with pytest.raises(ValueError, match="letters='QQQ' is not valid"):
        notes(derive(Conv2d(input_shape=(1, 1, 2, 2), kernel=(1, 1))), letters="QQQ")


def test_the_core_never_imports_a_printer():
    import ast
    from pathlib import Path

    core = Path(symcnn.__file__).parent
    for module in ("derive", "identities", "rules", "spec", "tensors", "canonical", "pooling"):
        tree = ast.parse((core / f"{module}.py").read_text())
        imported = [
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        ] + [
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        ]
        assert not any("printing" in name or "jinja2" in name for name in imported), module


def test_every_layer_type_has_printed_notes():
    from symcnn import layers

    assert set(layers.table("notes")) == set(layers.layer_types())


def test_a_layer_type_without_printed_notes_is_refused_by_name():
    from symcnn.printing.kind import kind_notes

    class Elementwise:
        type = "elementwise"

    with pytest.raises(ValueError, match="printed notes is not available for elementwise: it is"):
        kind_notes(Elementwise())


def test_the_steps_and_the_identities_are_the_kinds():
    from symcnn.printing.kind import KindNotes, kind_notes

    spec = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
    kind = kind_notes(spec)
    assert isinstance(kind, KindNotes)
    assert len(build_steps(derive(spec))) == len(kind.steps)
    assert set(kind.identities) == {"weight_correlation", "input_full_convolution", "bias_sum"}


def test_a_new_kind_brings_its_own_steps(monkeypatch):
    """A kind with no window (an elementwise activation) plugs in through its notes entry."""
    from types import SimpleNamespace

    from symcnn import layers
    from symcnn.printing.kind import KindNotes, no_prose
    from symcnn.printing.model import Step

    def gradient_step(ctx):
        return Step("gradient", "The exact gradient", (Paragraph((ctx.spec.type,)),))

    kind = KindNotes("Backpropagation through ReLU", no_prose, steps=(gradient_step,))
    monkeypatch.setitem(layers.table("notes"), "elementwise", kind)
    derivation = SimpleNamespace(spec=SimpleNamespace(type="elementwise", window=None))
    (step,) = build_steps(derivation, identities=[])
    assert (step.key, step.blocks[0].parts) == ("gradient", ("elementwise",))
