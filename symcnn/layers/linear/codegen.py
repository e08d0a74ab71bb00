"""How the generator reads and writes linear: matrix products, proven term by term.

A linear layer has no window and no taps: its structure is three matrix products and a sum,
:class:`Products`. The reading is the polynomial one (every derived entry read into its terms,
:meth:`~symcnn.codegen.terms.IndexMaps.of`); :func:`products_maps` builds every term of a layer
of any shape from the products alone (``O[n, k] = sum_c X[n, c] W[k, c] + B[k]``, each gradient
the same sum read from the other side, times dL/dO's scale), and the proof of
:mod:`symcnn.codegen.structure` compares the two term by term. The ``matmul`` strategy writes
each product as one NumPy ``@`` (BLAS), the bias gradient as the sum over the batch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ...codegen.bodies import KernelCode
from ...codegen.kinds import CatalogModule, KindCodegen, Legend, Strategy
from ...codegen.printer import INDENT, KernelPrinter
from ...codegen.structure import Reading, Structure
from ...codegen.terms import ONE, IndexMaps, Term, empty_maps, expression, sort_entries
from .spec import Linear


@dataclass(frozen=True)
class Products:
    """A linear layer's rule: the forward map and its gradients as matrix products."""

    def describe(self) -> list[str]:
        """Docstring lines: the products every entry was rebuilt from (G is dL/dO)."""
        return [
            "Every entry is one entry of these products (s: 1, or 1/N for reduction mean):",
            "",
            "    O = X W^T + B",
            "    dL/dX = s G W",
            "    dL/dW = s G^T X",
            "    dL/dB = s (G summed over the batch)",
        ]


def reduce(spec: Linear) -> Linear:
    """At most 2 samples, 2 input and 2 output features: every index relation is visible
    (which sample, which feature a term pairs), and each product is regular beyond."""
    batch, features = spec.input_shape
    return dataclasses.replace(
        spec, input_shape=(min(batch, 2), min(features, 2)), out_features=min(spec.out_features, 2)
    )


def read(derivation) -> IndexMaps:
    """Every derived entry as its sorted terms."""
    return sort_entries(IndexMaps.of(derivation))


def recover(spec: Linear, maps: IndexMaps) -> tuple[tuple, Products]:
    """No taps; the rule is the products, which the proof holds against every term."""
    return (), Products()


def products_maps(spec: Linear, taps: tuple = (), rule: Products | None = None) -> IndexMaps:
    """Every term of ``spec`` from the products alone."""
    batch, features = spec.input_shape
    scale = Fraction(1, batch) if spec.reduction == "mean" else ONE
    shapes = {"X": spec.input_shape, "W": spec.weight_shape}
    if spec.bias:
        shapes["B"] = (spec.out_features,)
    maps = empty_maps(spec, shapes)
    for n, k in np.ndindex(spec.output_shape):
        out = ("G", (n, k))
        for c in range(features):
            cell, weight = ("X", (n, c)), ("W", (k, c))
            maps.forward[(n, k)].append(Term(ONE, (weight, cell)))
            maps.grads["X"][(n, c)].append(Term(scale, (out, weight)))
            maps.grads["W"][(k, c)].append(Term(scale, (out, cell)))
        if spec.bias:
            maps.forward[(n, k)].append(Term(ONE, (("B", (k,)),)))
            maps.grads["B"][(k,)].append(Term(scale, (out,)))
    return sort_entries(maps)


def matmul(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """``out = x @ w.T + b``; ``grad_x = G @ w``, ``grad_w = G.T @ x``, ``grad_b`` G's sum."""
    spec = structure.spec
    forward = [f"{INDENT}np.matmul(x, w.T, out=out)"]
    if spec.bias:
        forward.append(f"{INDENT}out += b")
    backward = []
    if spec.reduction == "mean":
        backward.append(f"{INDENT}grad_out = grad_out / batch  # dL/dO = G / N")
    backward += [
        f"{INDENT}np.matmul(grad_out, w, out=grad_x)",
        f"{INDENT}np.matmul(grad_out.T, x, out=grad_w)",
    ]
    if spec.bias:
        backward.append(f"{INDENT}grad_b[...] = grad_out.sum(axis=0)")
    return KernelCode(forward, backward)


def legend(spec: Linear) -> Legend:
    """How a linear module's docstring names the derived layer and its symbols."""
    return Legend(
        f", out_features {spec.out_features}",
        "x_n_c input, w_k_c weight, b_k bias, g_n_k dL/dO",
        "none",
    )


MATMUL = Strategy(
    "matmul", "one matrix product per pass (BLAS), the bias gradient summed", lambda s: None
)

TABLE = {
    Linear.type: KindCodegen(
        reading=Reading(reduce, read, recover, products_maps, expression),
        strategies={"matmul": matmul},
        template="linear.py.jinja",
        legend=legend,
        forward_arguments=("x", "w", "b"),
        backward_arguments=("x", "w", "grad_out"),
        own_strategies=(MATMUL,),
    )
}

#: linear's modules in the catalog of ``generated/``.
CATALOG = (
    CatalogModule(
        Linear(input_shape=(64, 256), out_features=120),
        "matmul",
        ("float32", "float64"),
        why="LeNet-5's F5 on 28x28 digits (S4's 16x4x4 flattened, to 120) at batch 64",
    ),
)
