"""How the generator reads and writes mean squared error: the losses' reading, no rows.

The derived loss times M (every entry, as ``nn.MSELoss()``) is cut into one cell term each,
``(X - T)**2``, and every gradient entry times M is one form over its cell, ``2*G*(X - T)``
(:mod:`symcnn.layers.softmax_cross_entropy.codegen_reading`); the kernel divides by
``x.size`` at run time, so that any batch runs. Exact on object arrays of rationals.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...codegen.kinds import KindCodegen, Legend
from ...codegen.structure import Reading
from ...spec import prod
from ..relu.codegen import ELEMENTWISE
from ..softmax_cross_entropy.codegen_reading import (
    CELL,
    G,
    LossKernel,
    LossReading,
    loss_builder,
    make_reading,
    no_entry,
)
from .spec import MSE


def reduce(spec: MSE) -> MSE:
    """At most 2 entries along every axis: the cells and samples are visible, and the count
    the mean divides by is read from the spec at any size."""
    return dataclasses.replace(spec, input_shape=tuple(min(size, 2) for size in spec.input_shape))


def legend(spec) -> Legend:
    """How an MSE module's docstring names its symbols."""
    return Legend("", "x_... prediction, t_... target, g_0 dL/dL", "none")


def random_target(spec, rng: np.random.Generator, dtype: str) -> np.ndarray:
    """A standard-normal target of the prediction's shape."""
    return rng.standard_normal(spec.target_shape).astype(dtype)


READING = LossReading(
    count=lambda spec: prod(spec.input_shape), count_name="x.size", rows=lambda tensors, n: {}
)
KERNEL = LossKernel(arrays={CELL["X"]: "x", CELL["T"]: "target", G: "grad_out"})

read, recover, rebuild = make_reading(READING)

TABLE = {
    MSE.type: KindCodegen(
        reading=Reading(reduce, read, recover, rebuild, no_entry),
        strategies={"elementwise": loss_builder(KERNEL)},
        template="loss.py.jinja",
        legend=legend,
        forward_arguments=("x", "target"),
        backward_arguments=("x", "target", "grad_out"),
        own_strategies=(ELEMENTWISE,),
        random_target=random_target,
    )
}
