"""The backward sweep of a network as lecture-note steps, and the staged derivation as JSON.

The text names the tensors as the notes do: ``A0`` is the network's input and ``Ap`` the input
of layer p (the output of layer p-1); ``dL/dAp`` its gradient, the delta the sweep passes down;
``Wp``, ``Bp`` the parameters of layer p (PyTorch's ``"p.weight"``, ``"p.bias"``); ``T`` the
target. One step per layer, from the loss down: its delta in terms of the next one's, the
identities verified for it, then its parameter gradients.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sympy import Add, Basic, Symbol, latex

from .. import identities
from ..jsonio import nested
from ..printing.document import render
from ..tensors import parse_symbol, symbol_namespace
from .derive import NetworkDerivation
from .params import NAMES, parameter_shapes

#: Entries shown per tensor in the text (the JSON has every one).
SHOWN = 4


def _stage_symbols(expr: Basic) -> Iterator[tuple[Symbol, str, tuple[int, ...], int]]:
    """Each symbol of ``expr`` that belongs to a stage: (symbol, tensor, index, position)."""
    for symbol in expr.free_symbols:
        parsed, space = parse_symbol(symbol), symbol_namespace(symbol)
        if parsed is not None and space:
            tensor, index = parsed
            yield symbol, tensor, index, int(space[1:])


def _readable(expr: Basic, last: int) -> Basic:
    """The stage symbols renamed as the notes name the tensors (A2[0,1], dL/dA3[0,1], W2[...])."""
    names = {}
    for symbol, tensor, index, position in _stage_symbols(expr):
        where = "[" + ",".join(map(str, index)) + "]"
        label = {
            "X": f"A{position}",
            "G": "dL/dL" if position == last else f"dL/dA{position + 1}",
            "W": f"W{position}",
            "B": f"B{position}",
            "T": "T",
        }[tensor]
        names[symbol] = Symbol(label if label == "dL/dL" else label + where)
    return expr.xreplace(names)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


@dataclass(frozen=True)
class Group:
    """Entries of one gradient in a step: its heading (a parameter's name), its label, them."""

    heading: str | None
    tensor: str  # "A" (the delta), "W" or "B"
    position: int
    array: np.ndarray


@dataclass(frozen=True)
class SweepStep:
    """One step of the backward sweep: a layer (or the loss) from the loss down."""

    number: int
    title: str
    layer_type: str
    loss: Basic | None
    identities: tuple[str, ...]
    groups: tuple[Group, ...]


def sweep_steps(staged: NetworkDerivation) -> list[SweepStep]:
    """The backward sweep, one step per layer from the loss down, as every format prints it."""
    last = len(staged.stages) - 1
    steps = []
    for number, position in enumerate(reversed(range(len(staged.stages))), start=1):
        stage = staged.stages[position]
        title = "loss" if position == last else f"layer {position}"
        held = tuple(found.statement for found in identities.verify(stage) if found.holds)
        groups = [Group(None, "A", position, stage.grads["X"])]
        for tensor, name in NAMES.items():
            if tensor in stage.grads:
                groups.append(Group(f"{position}.{name}", tensor, position, stage.grads[tensor]))
        loss = stage.output[0] if position == last else None
        steps.append(SweepStep(number, title, stage.spec.type, loss, held, tuple(groups)))
    return steps


def _forward_lines(staged: NetworkDerivation) -> list[tuple[str, str]]:
    """Each layer's line of the forward chain: (what, its map), in the text's words."""
    net, last = staged.net, len(staged.stages) - 1
    lines = [
        (
            f"layer {position} ({spec.type})",
            f"A{position} {_shape(spec.input_shape)}"
            f" -> A{position + 1} {_shape(spec.output_shape)}",
        )
        for position, spec in enumerate(net.layers)
    ]
    return [*lines, (f"loss ({net.loss.type})", f"L of A{last} against the target T")]


def _title(staged: NetworkDerivation) -> str:
    net = staged.net
    return (
        f"Backpropagation through a network of {len(net.layers)} layers and a {net.loss.type} loss"
    )


def _shown(array: np.ndarray):
    """The entries a step prints (the first SHOWN), and whether some are left out."""
    entries = list(itertools.islice(np.ndenumerate(array), SHOWN))
    return entries, array.size > SHOWN


def text(staged: NetworkDerivation) -> str:
    """The forward chain and the backward sweep, one step per layer from the loss down."""
    last = len(staged.stages) - 1
    lines = [_title(staged), "", "Forward: A0 is the input; layer p maps Ap to A(p+1)."]
    lines += [f"  {what}: {mapping}" for what, mapping in _forward_lines(staged)]
    lines += [
        "",
        "Backward: each layer's delta dL/dAp in terms of the next one's, dL/dA(p+1);"
        " the loss starts it with dL/dL = 1.",
    ]
    for step in sweep_steps(staged):
        lines += ["", f"Step {step.number}. {step.title} ({step.layer_type})"]
        if step.loss is not None:
            lines.append(f"    L = {_readable(step.loss, last)}")
        lines += [f"  identity verified: {statement}" for statement in step.identities]
        for group in step.groups:
            if group.heading is not None:
                lines.append(f"  {group.heading}:")
            label = f"dL/d{group.tensor}{group.position}"
            entries, more = _shown(group.array)
            for index, expr in entries:
                lines.append(f"    {label}[{','.join(map(str, index))}] = {_readable(expr, last)}")
            if more:
                lines.append(
                    f"    ... ({group.array.size} entries in all; --format json gives every one)"
                )
    return "\n".join(lines) + "\n"


# -- LaTeX and Markdown: the same sweep, the math through SymPy's LaTeX printer -------------------


def _latex_names(expr: Basic, last: int) -> dict[Symbol, str]:
    """Each stage symbol's LaTeX: A^{(p)}_{i,j}, the deltas as fractions, W^{(p)}, B^{(p)}, T."""
    names = {}
    for symbol, tensor, index, position in _stage_symbols(expr):
        where = "{" + ",".join(map(str, index)) + "}"
        if tensor == "G":
            below = "L" if position == last else f"A^{{({position + 1})}}_{where}"
            names[symbol] = rf"\frac{{\partial L}}{{\partial {below}}}"
            continue
        letter = {"X": "A", "W": "W", "B": "B", "T": "T"}[tensor]
        stage = "" if tensor == "T" else f"^{{({position})}}"
        names[symbol] = f"{letter}{stage}_{where}"
    return names


#: Terms per printed line of a long sum in LaTeX and Markdown, and lines before it is cut.
TERMS_PER_LINE, MAX_LINES = 3, 6


def _latex_lines(expr: Basic, last: int) -> list[str]:
    """``expr`` in LaTeX as lines of at most TERMS_PER_LINE terms (a display has a width);
    past MAX_LINES lines the sum is cut, saying how many terms it has."""
    names = _latex_names(expr, last)
    terms = [latex(term, symbol_names=names) for term in Add.make_args(expr)]
    shown = terms[: TERMS_PER_LINE * MAX_LINES]
    lines = []
    for start in range(0, len(shown), TERMS_PER_LINE):
        line = " + ".join(shown[start : start + TERMS_PER_LINE]).replace("+ -", "- ")
        lines.append(line if start == 0 or line.startswith("-") else "+ " + line)
    if len(terms) > len(shown):
        lines.append(rf"+ \dots \text{{ ({len(terms)} terms in all)}}")
    return lines


def _equation(lhs: str, expr: Basic, last: int) -> list[str]:
    """``lhs = expr`` as align rows: the first terms, then the rest indented below."""
    first, *rest = _latex_lines(expr, last)
    return [f"& {lhs} = {first}", *(rf"& \qquad {line}" for line in rest)]


def _latex_lhs(tensor: str, position: int, index: tuple[int, ...]) -> str:
    where = "{" + ",".join(map(str, index)) + "}"
    return rf"\frac{{\partial L}}{{\partial {tensor}^{{({position})}}_{where}}}"


def _math_steps(staged: NetworkDerivation) -> Iterator[tuple[str, list[str], list[str]]]:
    """Each step's heading, the identities it states, and its align rows in LaTeX."""
    last = len(staged.stages) - 1
    for step in sweep_steps(staged):
        equations = []
        if step.loss is not None:
            equations += _equation("L", step.loss, last)
        for group in step.groups:
            entries, more = _shown(group.array)
            for index, expr in entries:
                equations += _equation(_latex_lhs(group.tensor, group.position, index), expr, last)
            if more:
                equations.append(rf"& \text{{\dots\ ({group.array.size} entries in all)}}")
        yield (
            f"Step {step.number}. {step.title} ({step.layer_type})",
            list(step.identities),
            equations,
        )


_INTRO = (
    "{A0} is the input and {Ap} the input of layer p (the output of layer p-1); each layer's"
    " delta {dAp} is written in terms of the next one's, from the loss down, which starts it"
    " with dL/dL = 1. Indices are 0-based, as in the JSON; the JSON (--format json) gives"
    " every entry."
)


def _escape(text: str) -> str:
    """Plain words for LaTeX's text mode."""
    for plain, escaped in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("&", r"\&"), ("%", r"\%")):
        text = text.replace(plain, escaped)
    for plain, escaped in (("#", r"\#"), ("^", r"\^{}"), ("$", r"\$"), ("~", r"\~{}")):
        text = text.replace(plain, escaped)
    text = text.replace("->", r"\ensuremath{\to}")
    return text.replace("<", r"\textless{}").replace(">", r"\textgreater{}")


def latex_document(staged: NetworkDerivation) -> str:
    """The sweep as a standalone LaTeX document (pdflatex compiles it)."""
    body = [
        _INTRO.format(A0="$A^{(0)}$", Ap="$A^{(p)}$", dAp=r"$\partial L/\partial A^{(p)}$"),
        "",
        r"\paragraph{Forward.}",
        r"\begin{itemize}",
    ]
    body += [
        rf"\item {_escape(what)}: {_escape(mapping)}" for what, mapping in _forward_lines(staged)
    ]
    body.append(r"\end{itemize}")
    for heading, stated, equations in _math_steps(staged):
        body += ["", rf"\section*{{{_escape(heading)}}}"]
        body += [rf"Identity verified: {_escape(statement)}\par" for statement in stated]
        body.append(r"{\small\begin{align*}")
        body.append(" \\\\\n".join(equations))
        body.append(r"\end{align*}}")
    return render("network.tex.j2", title=_escape(_title(staged)), body="\n".join(body))


def markdown(staged: NetworkDerivation) -> str:
    """The sweep as Markdown, the math as LaTeX between $$ (Jupyter, mkdocs with MathJax)."""
    body = [
        _INTRO.format(A0="$A^{(0)}$", Ap="$A^{(p)}$", dAp=r"$\partial L/\partial A^{(p)}$"),
        "",
        "**Forward.**",
        "",
    ]
    body += [f"- {what}: `{mapping}`" for what, mapping in _forward_lines(staged)]
    for heading, stated, equations in _math_steps(staged):
        body += ["", f"## {heading}", ""]
        body += [f"- identity verified: {statement}" for statement in stated]
        if stated:
            body.append("")
        rows = " \\\\\n".join(equations)
        body += ["$$", r"\begin{aligned}", rows, r"\end{aligned}", "$$"]
    return render("network.md.j2", title=_title(staged), body="\n".join(body))


def to_dict(staged: NetworkDerivation) -> dict[str, Any]:
    """Every stage's exact expressions over its own symbols, and how the stages link."""
    net = staged.net
    return {
        "network": net.to_dict(),
        "parameters": {name: list(shape) for name, shape in parameter_shapes(net).items()},
        "links": {
            "forward": "l<p+1>_x_... is the output entry of stage p at the same index",
            "backward": "l<p>_g_... is grads.X of stage p+1 at the same index;"
            " the loss stage's g_0 is 1",
        },
        "stages": [
            {
                "position": position,
                "namespace": f"l{position}",
                "layer": stage.spec.to_dict(),
                "output_shape": list(stage.spec.output_shape),
                "forward": nested(stage.output),
                "grads": {name: nested(grad) for name, grad in stage.grads.items()},
            }
            for position, stage in enumerate(staged.stages)
        ],
    }


def dumps(staged: NetworkDerivation) -> str:
    """The staged derivation as a compact JSON document."""
    return json.dumps(to_dict(staged), separators=(",", ":")) + "\n"
