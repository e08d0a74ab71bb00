"""Strategies: how a proven structure becomes the body of a generated kernel.

A strategy is one row of :data:`STRATEGIES`: a name, a test of whether it suits a layer, and per
layer type a builder that turns the :class:`~symcnn.codegen.structure.Structure` into the lines of
``forward`` and ``backward`` (:class:`KernelCode`). The printer writes every expression and
region; the builders only order the statements.

- ``unrolled``: straight-line code, one statement per output and gradient entry, printed from the
  derived expressions of one sample (every sample runs at once as a row). Reads like the hand
  derivation; fastest for tiny layers; refused past :data:`UNROLLED_TERM_LIMIT` terms.
- ``taps``: one statement per kernel (or window) tap, on the tap's two strided rectangles.
- ``separable``: (average pooling) the window's rows summed, then its columns: ``kh + kw``
  strided additions instead of ``kh * kw``, when the proven taps are a product of row and
  column runs.
- ``gemm``: gather every tap into columns (im2col), then one matrix product hands the bulk of
  the work to BLAS; the input gradient is scattered back tap by tap.

The pools' builders are in :mod:`symcnn.codegen.pool_strategies`.

The arrays a body works on are named by the template: ``x``, ``w``, ``b`` (a zero bias when none
is given) and ``out`` in ``forward``; ``x``, ``w``, ``grad_out``, ``grad_x``, ``grad_w`` and
``grad_b`` in ``backward`` (a pool has no ``w``, ``b``, ``grad_w``, ``grad_b``). A body must
write every entry of its outputs (the tests pre-fill them with a sentinel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..layers.conv2d.spec import Conv2d
from . import pool_strategies
from .bodies import (
    KernelCode,
    assign_entries,
    entry_target,
    flatten,
    split_lines,
    sum_statement,
    unpack_rows,
    unpack_scalars,
)
from .printer import INDENT, KernelPrinter, call, span, statement
from .structure import Structure

#: Unrolled code is refused past this many printed terms (forward and backward together): a
#: module of that size is already some 100 KB of straight-line code.
UNROLLED_TERM_LIMIT = 3000


Builder = Callable[[Structure, KernelPrinter], KernelCode]


@dataclass(frozen=True)
class Strategy:
    """One way to lay out a kernel: its name, what it is, when it fits, and its builders."""

    name: str
    summary: str
    refusal: Callable[[Structure], str | None]  # why it does not fit, or None
    builders: dict[str, Builder]

    def fits(self, structure: Structure) -> bool:
        return structure.spec.type in self.builders and self.refusal(structure) is None


# -- unrolled -------------------------------------------------------------------------------------


def unrolled_terms(structure: Structure) -> int:
    """Terms an unrolled module prints: every term of one sample's forward and gradients."""
    return UNROLLED_TERMS[structure.spec.type](structure)


def conv2d_unrolled_terms(structure: Structure) -> int:
    """Terms an unrolled conv2d module prints.

    Counted from the taps without building the terms: each link of a tap is one product per
    channel pair in the forward pass and in each of dL/dX and dL/dW.
    """
    spec = structure.spec
    out_channels, in_per_group, _, _ = spec.weight_shape
    links = sum(
        len(range(t.out_rows.start, t.out_rows.stop))
        * len(range(t.out_cols.start, t.out_cols.stop))
        for t in structure.taps
    )
    count = 3 * links * out_channels * in_per_group
    if spec.bias:
        count += 2 * out_channels * spec.output_shape[2] * spec.output_shape[3]
    return count


#: Layer type -> how many terms its unrolled module prints.
UNROLLED_TERMS: dict[str, Callable[[Structure], int]] = {
    "conv2d": conv2d_unrolled_terms,
    "maxpool2d": pool_strategies.unrolled_terms,
    "minpool2d": pool_strategies.unrolled_terms,
    "avgpool2d": pool_strategies.unrolled_terms,
}


def _unrolled_refusal(structure: Structure) -> str | None:
    terms = unrolled_terms(structure)
    if terms > UNROLLED_TERM_LIMIT:
        return f"{terms:,} terms, more than the unrolled limit of {UNROLLED_TERM_LIMIT:,}"
    return None


def conv2d_unrolled(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """Straight-line conv2d: the derived sums of one sample, every sample at once."""
    spec: Conv2d = structure.spec
    expressions = structure.sample_expressions()
    batch = spec.batch
    forward = [unpack_rows("x", spec.input_shape, "x"), unpack_scalars("w", spec.weight_shape, "w")]
    if spec.bias:
        forward.append(unpack_scalars("b", spec.bias_shape, "b"))
    forward += assign_entries(printer, "out", expressions["output"], rows=True)
    backward = []
    if spec.reduction == "mean":
        backward.append(f"{INDENT}grad_out = grad_out / {batch}  # dL/dO = G / N")
    backward += [
        unpack_rows("grad_out", spec.output_shape, "g"),
        unpack_rows("x", spec.input_shape, "x"),
        unpack_scalars("w", spec.weight_shape, "w"),
    ]
    backward += assign_entries(printer, "grad_x", expressions["X"], rows=True)
    backward += _gradient_sums(printer, "grad_w", expressions["W"], batch)
    if spec.bias:
        backward += _gradient_sums(printer, "grad_b", expressions["B"], batch)
    notes = [
        "Names: x_c_h_w is x[:, c, h, w] and g_k_i_j is grad_out[:, k, i, j], every sample at",
        "once (Python scalars for a batch of one); w_k_c_p_q and b_k are the weight and bias.",
    ]
    return KernelCode(flatten(forward), flatten(backward), notes)


def _gradient_sums(printer: KernelPrinter, name: str, array: np.ndarray, batch: int) -> list[str]:
    """Parameter gradients: each entry the derived sum over one sample, summed over samples
    (with a batch of one the rows are scalars and there is nothing to sum)."""
    lines = []
    for index, expr in np.ndenumerate(array):
        target = entry_target(name, index, False)
        if expr == 0:
            lines.append(f"{INDENT}{target} = 0")
        elif batch == 1:
            lines += split_lines(sum_statement(printer, target, expr))
        else:
            terms = [printer.doprint(term) for term in (expr.args if expr.is_Add else (expr,))]
            lines.append(_sum_call(target, terms))
    return lines


def _sum_call(target: str, terms: list[str]) -> str:
    """``target = np.sum(t1 + t2 + ...)``, wrapped like ruff wraps a call holding a sum."""
    line = f"{INDENT}{target} = np.sum({' + '.join(terms)})"
    if len(line) <= 100:
        return line
    inner = INDENT * 2
    flat = inner + " + ".join(terms)
    if len(flat) <= 100:
        return f"{INDENT}{target} = np.sum(\n{flat}\n{INDENT})"
    body = "\n".join([inner + terms[0], *(f"{inner}+ {term}" for term in terms[1:])])
    return f"{INDENT}{target} = np.sum(\n{body}\n{INDENT})"


# -- taps and gemm: the shared naming of grouped views -------------------------------------------


@dataclass(frozen=True)
class _Views:
    """How a conv2d body names its arrays: plain for one group, grouped views for several."""

    x: str
    w: str
    out: str
    grad_out: str
    grad_x: str
    grad_w: str
    leading: int  # whole axes before the two spatial axes of x, out and their gradients
    weight_lead: int  # whole axes before the two kernel axes of w
    setup_forward: list[str]
    setup_backward: list[str]


def _conv2d_views(spec: Conv2d) -> _Views:
    batch, _, height, width = spec.input_shape
    out_channels, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    groups = spec.groups
    if groups == 1:
        return _Views("x", "w", "out", "grad_out", "grad_x", "grad_w", 2, 2, [], [])
    out_per_group = out_channels // groups
    x_shape = f"({batch}, {groups}, {in_per_group}, {height}, {width})"
    o_shape = f"({batch}, {groups}, {out_per_group}, {out_height}, {out_width})"
    w_shape = f"({groups}, {out_per_group}, {in_per_group}, {kh}, {kw})"
    comment = "  # views with the group as an axis of its own"
    forward = [
        f"{INDENT}x_grouped = x.reshape{x_shape}{comment}",
        f"{INDENT}w_grouped = w.reshape{w_shape}",
        f"{INDENT}out_grouped = out.reshape{o_shape}",
    ]
    backward = [
        f"{INDENT}x_grouped = x.reshape{x_shape}{comment}",
        f"{INDENT}w_grouped = w.reshape{w_shape}",
        f"{INDENT}grad_out_grouped = grad_out.reshape{o_shape}",
        f"{INDENT}grad_x_grouped = grad_x.reshape{x_shape}",
        f"{INDENT}grad_w_grouped = grad_w.reshape{w_shape}",
    ]
    return _Views(
        "x_grouped",
        "w_grouped",
        "out_grouped",
        "grad_out_grouped",
        "grad_x_grouped",
        "grad_w_grouped",
        3,
        3,
        forward,
        backward,
    )


#: Per-tap contractions of conv2d as einsum subscripts: (one group, several groups).
_TAP_CONTRACTIONS = {
    "forward": ("kc,nchw->nkhw", "gkc,ngchw->ngkhw"),
    "grad_x": ("kc,nkhw->nchw", "gkc,ngkhw->ngchw"),
    "grad_w": ("nkhw,nchw->kc", "ngkhw,ngchw->gkc"),
}


def _bias_lines(spec: Conv2d, name: str) -> list[str]:
    if spec.bias:
        return [f"{INDENT}{name}[...] = b[:, None, None]"]
    return [f"{INDENT}{name}[...] = 0"]


def conv2d_taps(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """conv2d as one statement per kernel tap over the tap's strided rectangles."""
    spec: Conv2d = structure.spec
    views = _conv2d_views(spec)
    single = spec.weight_shape[0] == 1 and spec.weight_shape[1] == 1 and spec.groups == 1
    grouped = 1 if spec.groups > 1 else 0
    forward = [*views.setup_forward, *_bias_lines(spec, "out")]
    backward = []
    if spec.reduction == "mean":
        backward.append(f"{INDENT}grad_out = grad_out / {spec.batch}  # dL/dO = G / N")
    backward += [*views.setup_backward, f"{INDENT}grad_x[...] = 0", f"{INDENT}grad_w[...] = 0"]
    lead = ", ".join([":"] * views.weight_lead)
    for tap in structure.taps:
        out_region = printer.region(views.out, views.leading, tap.out_rows, tap.out_cols)
        x_region = printer.region(views.x, views.leading, tap.in_rows, tap.in_cols)
        g_region = printer.region(views.grad_out, views.leading, tap.out_rows, tap.out_cols)
        gx_region = printer.region(views.grad_x, views.leading, tap.in_rows, tap.in_cols)
        weight = f"{views.w}[{lead}, {tap.p}, {tap.q}]"
        weight_gradient = f"{views.grad_w}[{lead}, {tap.p}, {tap.q}]"
        if single:  # one channel in, one out: the tap is a scalar times a rectangle
            scalar = f"w[0, 0, {tap.p}, {tap.q}]"
            forward.append(statement(INDENT, out_region, "+=", [f"{scalar} * {x_region}"], ""))
            backward.append(statement(INDENT, gx_region, "+=", [f"{scalar} * {g_region}"], ""))
            backward += split_lines(
                call(
                    INDENT,
                    f"grad_w[0, 0, {tap.p}, {tap.q}]",
                    "=",
                    "np.sum",
                    [f"{g_region} * {x_region}"],
                )
            )
            continue
        subscripts = {key: f'"{pair[grouped]}"' for key, pair in _TAP_CONTRACTIONS.items()}
        forward += split_lines(
            call(INDENT, out_region, "+=", "np.einsum", [subscripts["forward"], weight, x_region])
        )
        backward += split_lines(
            call(INDENT, gx_region, "+=", "np.einsum", [subscripts["grad_x"], weight, g_region])
        )
        backward += split_lines(
            call(
                INDENT,
                weight_gradient,
                "=",
                "np.einsum",
                [subscripts["grad_w"], g_region, x_region],
            )
        )
    backward += _bias_gradient(spec)
    return KernelCode(flatten(forward), flatten(backward))


def _bias_gradient(spec: Conv2d) -> list[str]:
    return [f"{INDENT}grad_b[...] = grad_out.sum(axis=(0, 2, 3))"] if spec.bias else []


def _complete(structure: Structure) -> bool:
    """True when every tap reaches every output window (no tap ever lands on padding)."""
    spec = structure.spec
    _, _, out_height, out_width = spec.output_shape
    if len(structure.taps) != spec.kernel[0] * spec.kernel[1]:
        return False
    whole = (slice(0, out_height, 1), slice(0, out_width, 1))
    return all((tap.out_rows, tap.out_cols) == whole for tap in structure.taps)


def conv2d_gemm(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """conv2d as a gather of every tap into columns, then one matrix product (BLAS).

    The columns are laid out ``(C, kh, kw, N, OH, OW)``: each tap writes whole output rows, and
    the product ``W (K, C*kh*kw) @ columns (C*kh*kw, N*OH*OW)`` reads them as one matrix (one
    per group: the channels of a group are consecutive rows).
    """
    spec: Conv2d = structure.spec
    batch, channels, _, _ = spec.input_shape
    out_channels, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    groups = spec.groups
    positions = batch * out_height * out_width
    per_group = in_per_group * kh * kw
    allocate = "np.empty" if _complete(structure) else "np.zeros"
    why = "" if allocate == "np.empty" else "  # taps on the padding read zeros"
    gather = [
        f"{INDENT}columns = {allocate}(({channels}, {kh}, {kw}, {batch}, {out_height},"
        f" {out_width}), dtype=x.dtype){why}",
    ]
    for tap in structure.taps:
        target = f"columns[:, {tap.p}, {tap.q}, :, {span(tap.out_rows)}, {span(tap.out_cols)}]"
        source = printer.region("x", 2, tap.in_rows, tap.in_cols) + ".transpose(1, 0, 2, 3)"
        gather.append(statement(INDENT, target, "=", [source], ""))
    by_channel = f"({out_channels}, {batch}, {out_height}, {out_width})"
    if groups == 1:
        weight_rows = f"w.reshape({out_channels}, {per_group})"
        column_rows = f"columns.reshape({per_group}, {positions})"
        products = [f"{INDENT}rows = {weight_rows} @ {column_rows}"]
        gradient_products = [
            f"{INDENT}grad_w[...] = (upstream @ {column_rows}.T).reshape("
            f"{_shape(spec.weight_shape)})",
            f"{INDENT}grad_columns = {weight_rows}.T @ upstream",
        ]
    else:
        out_per_group = out_channels // groups
        weight_rows = f"w.reshape({groups}, {out_per_group}, {per_group})"
        column_rows = f"columns.reshape({groups}, {per_group}, {positions})"
        products = [call(INDENT, "rows", "=", "np.matmul", [weight_rows, column_rows])]
        gradient_products = [
            f"{INDENT}upstream = upstream.reshape({groups}, {out_per_group}, {positions})",
            call(
                INDENT,
                "grad_w_rows",
                "=",
                "np.matmul",
                ["upstream", f"{column_rows}.transpose(0, 2, 1)"],
            ),
            f"{INDENT}grad_w[...] = grad_w_rows.reshape({_shape(spec.weight_shape)})",
            call(
                INDENT,
                "grad_columns",
                "=",
                "np.matmul",
                [f"{weight_rows}.transpose(0, 2, 1)", "upstream"],
            ),
        ]
    forward = [
        *gather,
        *products,
        f"{INDENT}out[...] = rows.reshape{by_channel}.transpose(1, 0, 2, 3)",
    ]
    if spec.bias:
        forward.append(f"{INDENT}out += b[:, None, None]")
    backward = []
    if spec.reduction == "mean":
        backward.append(f"{INDENT}grad_out = grad_out / {batch}  # dL/dO = G / N")
    backward += [
        *gather,
        f"{INDENT}upstream = grad_out.transpose(1, 0, 2, 3).reshape({out_channels}, {positions})",
        *gradient_products,
        f"{INDENT}grad_columns = grad_columns.reshape({channels}, {kh}, {kw}, {batch},"
        f" {out_height}, {out_width})",
        f"{INDENT}grad_x[...] = 0",
    ]
    for tap in structure.taps:
        target = printer.region("grad_x", 2, tap.in_rows, tap.in_cols)
        source = (
            f"grad_columns[:, {tap.p}, {tap.q}, :, {span(tap.out_rows)}, {span(tap.out_cols)}]"
            ".transpose(1, 0, 2, 3)"
        )
        backward.append(statement(INDENT, target, "+=", [source], ""))
    backward += _bias_gradient(spec)
    return KernelCode(flatten(forward), flatten(backward))


def _shape(shape: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape))


# -- the table ------------------------------------------------------------------------------------


def _always(structure: Structure) -> None:
    return None


#: Every strategy, in the order ``--strategy auto`` measures them and ties are broken.
STRATEGIES: dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (
        Strategy(
            "unrolled",
            "straight-line code, one statement per entry, as the derivation reads",
            _unrolled_refusal,
            {
                "conv2d": conv2d_unrolled,
                "maxpool2d": pool_strategies.extreme_unrolled,
                "minpool2d": pool_strategies.extreme_unrolled,
                "avgpool2d": pool_strategies.average_unrolled,
            },
        ),
        Strategy(
            "taps",
            "one statement per kernel tap over its strided rectangles",
            _always,
            {
                "conv2d": conv2d_taps,
                "maxpool2d": pool_strategies.extreme_taps,
                "minpool2d": pool_strategies.extreme_taps,
                "avgpool2d": pool_strategies.average_taps,
            },
        ),
        Strategy(
            "separable",
            "sum the window rows, then the window columns",
            pool_strategies.separable_refusal,
            {"avgpool2d": pool_strategies.average_separable},
        ),
        Strategy(
            "gemm",
            "gather the taps into columns, then one matrix product (BLAS)",
            _always,
            {"conv2d": conv2d_gemm},
        ),
    )
}


def applicable(structure: Structure) -> list[Strategy]:
    """The strategies that fit the layer, in table order."""
    return [strategy for strategy in STRATEGIES.values() if strategy.fits(structure)]


__all__ = ["STRATEGIES", "KernelCode", "Strategy", "applicable"]
