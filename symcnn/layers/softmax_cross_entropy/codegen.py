"""How the generator reads and writes softmax cross-entropy: the loss's forms, shifted.

The reading is the losses' (:mod:`.codegen_reading`): the derived loss times N is cut into
its row terms (``log(S)``, S the row's ``sum_c exp(X[n, c])``) and cell terms (``-T*X``), and
every gradient entry times N is one form over its cell and row (``G*(exp(X)/S - T)``); the
proof rebuilds them all. The kernel evaluates the forms at ``S = exp(M) * S'``, M the row's
maximum and ``S' = sum_c exp(X[n, c] - M)``, the same number, so that no ``exp`` overflows:
:func:`shift` rewrites each form and proves the rewritten form equal to the derived one
(substituting back gives it exactly). T is the one-hot rows of the class indices, the target
the module takes (as PyTorch).
"""

from __future__ import annotations

import numpy as np
from sympy import Add, Basic, Symbol, exp, expand_log, powsimp, simplify

from ...codegen.kinds import CatalogModule, KindCodegen, Legend
from ...codegen.structure import Reading
from ...codegen.terms import StructureError
from ..relu.codegen import ELEMENTWISE
from .codegen_reading import (
    CELL,
    G,
    LossKernel,
    LossReading,
    batch_cut,
    loss_builder,
    make_reading,
    no_entry,
)
from .spec import SoftmaxCrossEntropy

#: The row placeholder: the row's sum of exponentials.
S = Symbol("S")
#: What the kernel evaluates instead: the row's maximum M and its shifted sum S'.
M, SHIFTED = Symbol("M"), Symbol("S_shifted")


def rows(tensors, n: int) -> dict:
    """Row ``n``'s sum of exponentials, as it stands in the derivation, named S."""
    return {Add(*(exp(x) for x in tensors.X[n])): S}


def shift(form: Basic) -> Basic:
    """``form`` at ``S = exp(M) * S'``, simplified so that only shifted exponentials remain;
    a StructureError unless substituting ``S' = S * exp(-M)`` back gives ``form``."""
    # force: log(exp(M) * S') = M + log(S') holds for M real and S' > 0, which a row maximum
    # and a sum of exponentials are
    shifted = powsimp(expand_log(form.xreplace({S: exp(M) * SHIFTED}), force=True))
    back = expand_log(shifted.xreplace({SHIFTED: S * exp(-M)}) - form, force=True)
    if S in shifted.free_symbols or simplify(back) != 0:
        raise StructureError(f"the shift of {form} by the row maximum does not hold")
    return shifted


def legend(spec) -> Legend:
    """How a cross-entropy module's docstring names its symbols."""
    return Legend("", "x_n_c logits, t_n_c one-hot target, g_0 dL/dL", "none")


def random_target(spec, rng: np.random.Generator, dtype: str) -> np.ndarray:
    """Class indices, one per sample."""
    return rng.integers(0, spec.classes, size=spec.batch)


READING = LossReading(count=lambda spec: spec.batch, count_name="batch", rows=rows)
KERNEL = LossKernel(
    arrays={CELL["X"]: "x", CELL["T"]: "onehot", G: "grad_out", M: "top", SHIFTED: "total"},
    indices=True,
    setup=(
        "onehot = np.zeros(input_shape, dtype=x.dtype)",
        "onehot[np.arange(batch), target] = 1",
        "top = x.max(axis=1, keepdims=True)  # the row maximum: no exp overflows",
        "total = np.exp(x - top).sum(axis=1, keepdims=True)",
    ),
    rewrite=shift,
    notes=(
        "Evaluated at S = exp(M) * sum(exp(X - M)), M the row maximum, so that no exp",
        "overflows: the same S, a rewrite proven equal to the derived forms.",
    ),
)

read, recover, rebuild = make_reading(READING)

TABLE = {
    SoftmaxCrossEntropy.type: KindCodegen(
        reading=Reading(batch_cut, read, recover, rebuild, no_entry),
        strategies={"elementwise": loss_builder(KERNEL)},
        template="loss.py.jinja",
        legend=legend,
        forward_arguments=("x", "target"),
        backward_arguments=("x", "target", "grad_out"),
        own_strategies=(ELEMENTWISE,),
        exact=False,
        random_target=random_target,
    )
}

#: softmax cross-entropy's modules in the catalog of ``generated/``.
CATALOG = (
    CatalogModule(
        SoftmaxCrossEntropy(input_shape=(64, 10)),
        "elementwise",
        ("float32", "float64"),
        why="the loss on LeNet-5's ten digit classes at batch 64",
    ),
)
