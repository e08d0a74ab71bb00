"""Shared by the printing tests: hold every value the notes show against the derivation."""

from __future__ import annotations

from sympy import Add, Integer, expand

from symcnn.printing.nodes import At, Omitted, Product, to_sympy, walk
from symcnn.printing.steps import lookup


def traced(notes) -> list[At]:
    """Every value of the notes that names where in the derivation it came from."""
    return [
        node
        for step in notes.steps
        for math in step.math()
        for node in walk(math)
        if isinstance(node, At)
    ]


def check_traced(notes) -> int:
    """Assert each traced value equals the derivation's (abridged sums: shown terms belong).

    Returns how many values were checked.
    """
    example = getattr(notes, "example", None)
    nodes = traced(notes)
    for node in nodes:
        truth = lookup(notes.derivation, node.source, node.index, example)
        shown = node.value
        omitted = [n for n in walk(shown) if isinstance(n, Omitted)]
        if not omitted:
            value = to_sympy(shown)
            assert value == truth or expand(value - truth) == 0, (node.source, node.index)
            continue
        (gap,) = omitted
        terms = shown.args[1].args if isinstance(shown, Product) else shown.args
        coefficient = shown.args[0] if isinstance(shown, Product) else Integer(1)
        visible = [coefficient * to_sympy(t) for t in terms if not isinstance(t, Omitted)]
        truth_terms = set(Add.make_args(expand(truth)))
        assert all(expand(t) in truth_terms for t in visible), (node.source, node.index)
        assert len(visible) + gap.count == len(truth_terms)
    return len(nodes)
