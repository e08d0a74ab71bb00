"""conv2d's code generation: how its derivation is read into kernel taps, and its kernels.

The weight index of every derived forward term names the kernel position ``(p, q)`` it belongs
to, so a convolution's structure is its taps alone (no rule besides): :func:`taps_of` reads them,
:func:`conv2d_maps` rebuilds every term from them, and the proof in
:mod:`symcnn.codegen.structure` compares. Its builders:

- ``unrolled``: the derived sums of one sample, every sample at once as a row;
- ``taps``: one ``np.einsum`` (a scalar product for one channel in and out) per kernel tap, on
  the tap's two strided rectangles, through grouped views when there are several groups;
- ``gemm``: every tap gathered into columns (im2col), then one matrix product per group (BLAS);
  the input gradient is scattered back tap by tap;
- ``gather``: the columns per sample, each product written in place; dL/dX gathered too (the
  correlation of the dilated, padded dL/dO with the rotated kernel, as one product);
- ``flat`` (stride 1): x padded once and read as flat rows, so the columns are one copy of a
  strided view and dL/dX adds whole runs (its layout is checked against the proven taps).

Every strategy but ``unrolled`` is written as three parts (forward, dL/dW, dL/dX), and a module
may take each part from another strategy (:func:`conv2d_compose`): ``--strategy auto`` times the
candidates of each direction on their own and keeps the fastest of each.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ...codegen.bodies import (
    KernelCode,
    assign_entries,
    entry_target,
    flatten,
    split_lines,
    sum_statement,
    unpack_rows,
    unpack_scalars,
)
from ...codegen.kinds import CatalogModule, KindCodegen, Legend, Strategy
from ...codegen.printer import (
    INDENT,
    LINE_LENGTH,
    KernelPrinter,
    bare_call,
    call,
    span,
    statement,
)
from ...codegen.structure import Reading, Structure
from ...codegen.terms import (
    ONE,
    IndexMaps,
    Link,
    Tap,
    Term,
    empty_maps,
    expression,
    sort_entries,
    taps_from_links,
)
from .spec import Conv2d

# -- the structure: taps from the weight index of every forward term ------------------------------


def reduced(spec: Conv2d) -> Conv2d:
    """The structure size: batch, groups and channels per group cut to at most 2, the smallest
    size at which the relations between batch, channel and group indices are visible."""
    batch, channels, height, width = spec.input_shape
    groups = min(spec.groups, 2)
    in_per_group = min(channels // spec.groups, 2)
    out_per_group = min(spec.out_channels // spec.groups, 2)
    return dataclasses.replace(
        spec,
        input_shape=(min(batch, 2), groups * in_per_group, height, width),
        out_channels=groups * out_per_group,
        groups=groups,
    )


def taps_of(maps: IndexMaps) -> tuple[Tap, ...]:
    """Group the forward pairs of sample 0 and channel pair (0, 0) by weight position.

    Each group must be a product of a row run and a column run with evenly strided inputs: that
    is a tap. Taps come in row-major kernel order; a kernel position that reads only padding has
    no pairs and no tap.
    """
    links: dict[tuple[int, int], set[Link]] = {}
    for (n, k, i, j), terms in maps.forward.items():
        if n or k:
            continue
        for term in terms:
            named = dict(term.factors)
            if "X" not in named or "W" not in named:
                continue
            (_, c, h, w), (_, wc, p, q) = named["X"], named["W"]
            if c == 0 and wc == 0:
                links.setdefault((p, q), set()).add(((i, j), (h, w)))
    return taps_from_links(links, "kernel position")


def conv2d_recover(spec: Conv2d, maps: IndexMaps) -> tuple[tuple[Tap, ...], None]:
    """A convolution is its taps: the weight index names the position of every term."""
    return taps_of(maps), None


def conv2d_maps(spec: Conv2d, taps: tuple[Tap, ...], rule: None = None) -> IndexMaps:
    """The index maps of ``spec`` built from the taps alone.

    ``O[n,k,i,j] = B[k] + sum over taps and c of X[n, g*C/G + c, h, w] * W[k, c, p, q]`` for
    every ``(i, j) -> (h, w)`` link of the tap, ``g`` the group of ``k``; each gradient is the
    same sum read from the other side, times dL/dO's scale (1, or 1/N for ``mean``).
    """
    batch, _, _, _ = spec.input_shape
    out_channels, in_per_group, _, _ = spec.weight_shape
    out_per_group = out_channels // spec.groups
    scale = Fraction(1, batch) if spec.reduction == "mean" else ONE
    shapes = {"X": spec.input_shape, "W": spec.weight_shape}
    if spec.bias:
        shapes["B"] = spec.bias_shape
    maps = empty_maps(spec, shapes)
    forward, grads = maps.forward, maps.grads
    for tap in taps:
        links = list(tap.links())
        for n, k, c in itertools.product(range(batch), range(out_channels), range(in_per_group)):
            channel = (k // out_per_group) * in_per_group + c
            weight = ("W", (k, c, tap.p, tap.q))
            for (i, j), (h, w) in links:
                cell, out = ("X", (n, channel, h, w)), ("G", (n, k, i, j))
                forward[out[1]].append(Term(ONE, (weight, cell)))
                grads["X"][cell[1]].append(Term(scale, (out, weight)))
                grads["W"][weight[1]].append(Term(scale, (out, cell)))
    if spec.bias:
        for index in np.ndindex(spec.output_shape):
            forward[index].append(Term(ONE, (("B", (index[1],)),)))
            grads["B"][(index[1],)].append(Term(scale, (("G", index),)))
    return sort_entries(maps)


# -- unrolled -------------------------------------------------------------------------------------


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
        backward.append(f"{INDENT}grad_out = grad_out / batch  # dL/dO = G / N")
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
    """Parameter gradients: each entry the derived sum over one sample, summed over samples.

    Derived for a batch of one, the module runs one sample on Python scalars, each entry
    written straight in (a call to ``np.sum`` would cost more than the arithmetic), and any
    other batch on rows, each entry summed over the batch: the same sums, in two branches.
    """
    if batch > 1:
        return _row_sums(printer, name, array, INDENT)
    one = INDENT * 2
    lines = [f"{INDENT}if batch == 1:  # one sample: Python scalars, written straight in"]
    for index, expr in np.ndenumerate(array):
        target = entry_target(name, index, False)
        if expr == 0:
            lines.append(f"{one}{target} = 0")
        else:
            lines += split_lines(sum_statement(printer, target, expr, one))
    lines.append(f"{INDENT}else:  # rows: each entry summed over the batch")
    return lines + _row_sums(printer, name, array, one)


def _row_sums(printer: KernelPrinter, name: str, array: np.ndarray, indent: str) -> list[str]:
    lines = []
    for index, expr in np.ndenumerate(array):
        target = entry_target(name, index, False)
        if expr == 0:
            lines.append(f"{indent}{target} = 0")
        else:
            terms = [printer.doprint(term) for term in (expr.args if expr.is_Add else (expr,))]
            lines.append(_sum_call(target, terms, indent))
    return lines


def _sum_call(target: str, terms: list[str], indent: str) -> str:
    """``target = np.sum(t1 + t2 + ...)``, wrapped like ruff wraps a call holding a sum."""
    line = f"{indent}{target} = np.sum({' + '.join(terms)})"
    if len(line) <= LINE_LENGTH:
        return line
    inner = indent + INDENT
    flat = inner + " + ".join(terms)
    if len(flat) <= LINE_LENGTH:
        return f"{indent}{target} = np.sum(\n{flat}\n{indent})"
    body = "\n".join([inner + terms[0], *(f"{inner}+ {term}" for term in terms[1:])])
    return f"{indent}{target} = np.sum(\n{body}\n{indent})"


# -- taps, gemm, gather and flat: one part per direction ------------------------------------------
#
# Each strategy is written as three parts, the forward pass, dL/dW and dL/dX, and a module may
# take each from another strategy (``conv2d_compose``): the best layout for one product is not
# the best for another. A part names the shared preludes it reads (the columns of x, dL/dO laid
# out for a product, the grouped views), which the backward body computes once.


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
    _, _, height, width = spec.input_shape
    out_channels, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    groups = spec.groups
    if groups == 1:
        return _Views("x", "w", "out", "grad_out", "grad_x", "grad_w", 2, 2, [], [])
    out_per_group = out_channels // groups
    x_shape = f"(batch, {groups}, {in_per_group}, {height}, {width})"
    o_shape = f"(batch, {groups}, {out_per_group}, {out_height}, {out_width})"
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


#: The directions a conv2d module's strategy is chosen for, each on its own.
DIRECTIONS = ("forward", "grad_w", "grad_x")

#: Per-tap contractions of conv2d as einsum subscripts: (one group, several groups).
_TAP_CONTRACTIONS = {
    "forward": ("kc,nchw->nkhw", "gkc,ngchw->ngkhw"),
    "grad_x": ("kc,nkhw->nchw", "gkc,ngkhw->ngchw"),
    "grad_w": ("nkhw,nchw->kc", "ngkhw,ngchw->gkc"),
}


@dataclass(frozen=True)
class _Part:
    """One direction's statements and the shared preludes (by name) it reads."""

    lines: list[str]
    needs: tuple[str, ...] = ()


def _bias_lines(spec: Conv2d, name: str) -> list[str]:
    if spec.bias:
        return [f"{INDENT}{name}[...] = b[:, None, None]"]
    return [f"{INDENT}{name}[...] = 0"]


def _single(spec: Conv2d) -> bool:
    """One channel in, one out: a tap is a scalar times a rectangle."""
    return spec.weight_shape[0] == 1 and spec.weight_shape[1] == 1 and spec.groups == 1


def _tap_call(target: str, operator: str, key: str, operands: list[str], spec: Conv2d) -> list[str]:
    subscripts = f'"{_TAP_CONTRACTIONS[key][1 if spec.groups > 1 else 0]}"'
    return split_lines(call(INDENT, target, operator, "np.einsum", [subscripts, *operands]))


def _taps_forward(structure: Structure, printer: KernelPrinter) -> list[str]:
    spec: Conv2d = structure.spec
    views = _conv2d_views(spec)
    lines = [*views.setup_forward, *_bias_lines(spec, "out")]
    lead = ", ".join([":"] * views.weight_lead)
    for tap in structure.taps:
        out_region = printer.region(views.out, views.leading, tap.out_rows, tap.out_cols)
        x_region = printer.region(views.x, views.leading, tap.in_rows, tap.in_cols)
        if _single(spec):
            scalar = f"w[0, 0, {tap.p}, {tap.q}]"
            lines.append(statement(INDENT, out_region, "+=", [f"{scalar} * {x_region}"], ""))
            continue
        weight = f"{views.w}[{lead}, {tap.p}, {tap.q}]"
        lines += _tap_call(out_region, "+=", "forward", [weight, x_region], spec)
    return lines


def _taps_grad_w(structure: Structure, printer: KernelPrinter) -> _Part:
    spec: Conv2d = structure.spec
    views = _conv2d_views(spec)
    lines = [f"{INDENT}grad_w[...] = 0  # a kernel position on padding alone has no tap"]
    lead = ", ".join([":"] * views.weight_lead)
    for tap in structure.taps:
        x_region = printer.region(views.x, views.leading, tap.in_rows, tap.in_cols)
        g_region = printer.region(views.grad_out, views.leading, tap.out_rows, tap.out_cols)
        if _single(spec):
            target = f"grad_w[0, 0, {tap.p}, {tap.q}]"
            lines += split_lines(call(INDENT, target, "=", "np.sum", [f"{g_region} * {x_region}"]))
            continue
        target = f"{views.grad_w}[{lead}, {tap.p}, {tap.q}]"
        lines += _tap_call(target, "=", "grad_w", [g_region, x_region], spec)
    return _Part(lines, ("views",))


def _taps_grad_x(structure: Structure, printer: KernelPrinter) -> _Part:
    spec: Conv2d = structure.spec
    views = _conv2d_views(spec)
    lines = [f"{INDENT}grad_x[...] = 0"]
    lead = ", ".join([":"] * views.weight_lead)
    for tap in structure.taps:
        g_region = printer.region(views.grad_out, views.leading, tap.out_rows, tap.out_cols)
        gx_region = printer.region(views.grad_x, views.leading, tap.in_rows, tap.in_cols)
        if _single(spec):
            scalar = f"w[0, 0, {tap.p}, {tap.q}]"
            lines.append(statement(INDENT, gx_region, "+=", [f"{scalar} * {g_region}"], ""))
            continue
        weight = f"{views.w}[{lead}, {tap.p}, {tap.q}]"
        lines += _tap_call(gx_region, "+=", "grad_x", [weight, g_region], spec)
    return _Part(lines, ("views",))


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


# gemm: the columns laid out (C, kh, kw, N, OH, OW); each tap writes whole output rows, and the
# product W (K, C*kh*kw) @ columns (C*kh*kw, N*OH*OW) reads them as one matrix (one per group:
# the channels of a group are consecutive rows). dL/dX is scattered back tap by tap.


def _gemm_sizes(spec: Conv2d) -> tuple[str, str, str]:
    """(the positions N*OH*OW, the weight rows, the column rows), grouped when G > 1."""
    out_channels, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    positions = f"batch * {out_height * out_width}"
    per_group = in_per_group * kh * kw
    if spec.groups == 1:
        return (
            positions,
            f"w.reshape({out_channels}, {per_group})",
            (f"columns.reshape({per_group}, {positions})"),
        )
    groups, out_per_group = spec.groups, out_channels // spec.groups
    return (
        positions,
        f"w.reshape({groups}, {out_per_group}, {per_group})",
        f"columns.reshape({groups}, {per_group}, {positions})",
    )


def _gemm_columns(structure: Structure, printer: KernelPrinter) -> list[str]:
    spec: Conv2d = structure.spec
    _, channels, _, _ = spec.input_shape
    _, _, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    lines = _columns(
        structure, "columns", f"({channels}, {kh}, {kw}, batch, {out_height}, {out_width})"
    )
    for tap in structure.taps:
        target = f"columns[:, {tap.p}, {tap.q}, :, {span(tap.out_rows)}, {span(tap.out_cols)}]"
        source = printer.region("x", 2, tap.in_rows, tap.in_cols) + ".transpose(1, 0, 2, 3)"
        lines.append(statement(INDENT, target, "=", [source], ""))
    return lines


def _gemm_upstream(structure: Structure, printer: KernelPrinter) -> list[str]:
    spec: Conv2d = structure.spec
    out_channels = spec.weight_shape[0]
    positions, _, _ = _gemm_sizes(spec)
    rows = f"({out_channels}, {positions})"
    if spec.groups > 1:
        rows = f"({spec.groups}, {out_channels // spec.groups}, {positions})"
    return [f"{INDENT}upstream = grad_out.transpose(1, 0, 2, 3).reshape{rows}"]


def _gemm_forward(structure: Structure, printer: KernelPrinter) -> list[str]:
    spec: Conv2d = structure.spec
    out_channels = spec.weight_shape[0]
    _, _, out_height, out_width = spec.output_shape
    positions, weight_rows, column_rows = _gemm_sizes(spec)
    rows = f"({out_channels}, {positions})"
    if spec.groups > 1:
        rows = f"({spec.groups}, {out_channels // spec.groups}, {positions})"
    lines = [
        *_gemm_columns(structure, printer),
        _temporary("rows", rows),
        bare_call(INDENT, "np.matmul", [weight_rows, column_rows, "out=rows"]),
        f"{INDENT}out[...] = rows.reshape({out_channels}, batch, {out_height}, {out_width})"
        ".transpose(1, 0, 2, 3)",
    ]
    if spec.bias:
        lines.append(f"{INDENT}out += b[:, None, None]")
    return flatten(lines)


def _gemm_grad_w(structure: Structure, printer: KernelPrinter) -> _Part:
    spec: Conv2d = structure.spec
    _, _, column_rows = _gemm_sizes(spec)
    if spec.groups == 1:
        lines = [
            f"{INDENT}grad_w[...] = (upstream @ {column_rows}.T).reshape("
            f"{_shape(spec.weight_shape)})"
        ]
    else:
        lines = split_lines(
            call(
                INDENT,
                "grad_w_rows",
                "=",
                "np.matmul",
                ["upstream", f"{column_rows}.transpose(0, 2, 1)"],
            )
        )
        lines.append(f"{INDENT}grad_w[...] = grad_w_rows.reshape({_shape(spec.weight_shape)})")
    return _Part(lines, ("columns", "upstream"))


def _gemm_grad_x(structure: Structure, printer: KernelPrinter) -> _Part:
    spec: Conv2d = structure.spec
    _, channels, _, _ = spec.input_shape
    _, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    positions, weight_rows, _ = _gemm_sizes(spec)
    per_group = in_per_group * kh * kw
    if spec.groups == 1:
        shape, transposed = f"({per_group}, {positions})", f"{weight_rows}.T"
    else:
        shape = f"({spec.groups}, {per_group}, {positions})"
        transposed = f"{weight_rows}.transpose(0, 2, 1)"
    lines = [
        _temporary("grad_columns", shape),
        bare_call(INDENT, "np.matmul", [transposed, "upstream", "out=grad_columns"]),
        f"{INDENT}grad_columns = grad_columns.reshape({channels}, {kh}, {kw}, batch,"
        f" {out_height}, {out_width})",
        f"{INDENT}grad_x[...] = 0",
    ]
    for tap in structure.taps:
        target = printer.region("grad_x", 2, tap.in_rows, tap.in_cols)
        source = (
            f"grad_columns[:, {tap.p}, {tap.q}, :, {span(tap.out_rows)}, {span(tap.out_cols)}]"
            ".transpose(1, 0, 2, 3)"
        )
        lines.append(statement(INDENT, target, "+=", [source], ""))
    return _Part(flatten(lines), ("upstream",))


# gather: the columns laid out (N, C, kh, kw, OH, OW), so that each sample's product
# W (K, C*kh*kw) @ columns[n] (C*kh*kw, OH*OW) writes its output (K, OH*OW) in place (one
# batched np.matmul, no transpose after it). dL/dX is gathered the same way: each tap spreads
# dL/dO back onto the input cells it links to (spread, laid out (N, K, kh, kw, H, W): dL/dO
# dilated by the stride, padded, once per kernel position), and W^T (C, K*kh*kw) @ spread[n]
# sums every tap into dL/dX at once: the correlation of the dilated, padded dL/dO with the
# rotated kernel, read off the taps. dL/dW is a product per sample, summed over the batch.


def _gather_names(spec: Conv2d) -> dict[str, str]:
    _, channels, height, width = spec.input_shape
    out_channels, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    groups, out_per_group = spec.groups, out_channels // spec.groups
    positions, cells = out_height * out_width, height * width
    if groups == 1:
        return {
            "weight_rows": f"w.reshape({out_channels}, {in_per_group * kh * kw})",
            "column_rows": f"sample_columns.reshape(batch, {channels * kh * kw}, {positions})",
            "out_rows": f"out.reshape(batch, {out_channels}, {positions})",
            "upstream": f"grad_out.reshape(batch, {out_channels}, {positions})",
            "rotated": f"w.transpose(1, 0, 2, 3).reshape({channels}, {out_channels * kh * kw})",
            "spread_rows": f"spread.reshape(batch, {out_channels * kh * kw}, {cells})",
            "grad_x_rows": f"grad_x.reshape(batch, {channels}, {cells})",
            "transposed": "(0, 2, 1)",
        }
    per_group = in_per_group * kh * kw
    return {
        "weight_rows": f"w.reshape({groups}, {out_per_group}, {per_group})",
        "column_rows": f"sample_columns.reshape(batch, {groups}, {per_group}, {positions})",
        "out_rows": f"out.reshape(batch, {groups}, {out_per_group}, {positions})",
        "upstream": f"grad_out.reshape(batch, {groups}, {out_per_group}, {positions})",
        "rotated": (
            f"w.reshape({groups}, {out_per_group}, {in_per_group}, {kh}, {kw})"
            f".transpose(0, 2, 1, 3, 4).reshape({groups}, {in_per_group},"
            f" {out_per_group * kh * kw})"
        ),
        "spread_rows": f"spread.reshape(batch, {groups}, {out_per_group * kh * kw}, {cells})",
        "grad_x_rows": f"grad_x.reshape(batch, {groups}, {in_per_group}, {cells})",
        "transposed": "(0, 1, 3, 2)",
    }


def _gather_columns(structure: Structure, printer: KernelPrinter) -> list[str]:
    spec: Conv2d = structure.spec
    _, channels, _, _ = spec.input_shape
    _, _, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    shape = f"(batch, {channels}, {kh}, {kw}, {out_height}, {out_width})"
    lines = _columns(structure, "sample_columns", shape)
    for tap in structure.taps:
        target = (
            f"sample_columns[:, :, {tap.p}, {tap.q}, {span(tap.out_rows)}, {span(tap.out_cols)}]"
        )
        source = printer.region("x", 2, tap.in_rows, tap.in_cols)
        lines.append(statement(INDENT, target, "=", [source], ""))
    return lines


def _gather_forward(structure: Structure, printer: KernelPrinter) -> list[str]:
    spec: Conv2d = structure.spec
    names = _gather_names(spec)
    lines = [*_gather_columns(structure, printer)]
    lines += split_lines(
        bare_call(
            INDENT,
            "np.matmul",
            [names["weight_rows"], names["column_rows"], f"out={names['out_rows']}"],
        )
    )
    if spec.bias:
        lines.append(f"{INDENT}out += b[:, None, None]")
    return lines


def _gather_grad_w(structure: Structure, printer: KernelPrinter) -> _Part:
    spec: Conv2d = structure.spec
    names = _gather_names(spec)
    lines = split_lines(
        call(
            INDENT,
            "grad_w_samples",
            "=",
            "np.matmul",
            [names["upstream"], f"{names['column_rows']}.transpose{names['transposed']}"],
        )
    )
    lines.append(
        f"{INDENT}grad_w[...] = grad_w_samples.sum(axis=0).reshape({_shape(spec.weight_shape)})"
    )
    return _Part(lines, ("sample_columns",))


def _gather_grad_x(structure: Structure, printer: KernelPrinter) -> _Part:
    spec: Conv2d = structure.spec
    _, _, height, width = spec.input_shape
    out_channels, _, kh, kw = spec.weight_shape
    names = _gather_names(spec)
    lines = [
        f"{INDENT}# zeros where no tap links an output: the stride's gaps and the padding",
        _temporary("spread", f"(batch, {out_channels}, {kh}, {kw}, {height}, {width})", True),
    ]
    for tap in structure.taps:
        target = f"spread[:, :, {tap.p}, {tap.q}, {span(tap.in_rows)}, {span(tap.in_cols)}]"
        source = printer.region("grad_out", 2, tap.out_rows, tap.out_cols)
        lines.append(statement(INDENT, target, "=", [source], ""))
    lines += split_lines(
        bare_call(
            INDENT,
            "np.matmul",
            [names["rotated"], names["spread_rows"], f"out={names['grad_x_rows']}"],
        )
    )
    return _Part(flatten(lines), ())


# flat: x padded once, then each sample's channel read as one flat row. Output (i, j) of a
# stride-1 convolution reads, under kernel position (p, q), the cell at flat offset
# i*Wp + j + p*dh*Wp + q*dw: so every column row (c, p, q) is one contiguous run of the flat
# row, L = (OH-1)*Wp + OW long, and the whole columns buffer is one copy of a strided view of
# the padded x (no per-tap copies of OW-long rows). A stride s first splits the padded x into
# its s*s phases (the cells of one row and column residue each, laid out one after another):
# within a phase a stride-s tap is a stride-1 one, so its cells are again one run of the phase,
# L = (OH-1)*Wq + OW long (Wq = Wp/s, rounded up). The price: the Wq - OW positions between two
# output rows are computed too, and dropped (forward), or multiply zeros (backward: dL/dO is
# laid out on the same flat positions, zero between rows, so they add exactly nothing).


@dataclass(frozen=True)
class _Flat:
    """The flat layout of a convolution, checked against its proven taps."""

    padded: tuple[int, int]  # (Hp, Wp): x in its frame of padding, rounded up to the stride
    phase: tuple[int, int]  # (Hq, Wq) = (Hp / sh, Wp / sw): the size of one phase
    length: int  # L: the flat positions from output (0, 0) to output (OH-1, OW-1)
    offsets: dict[tuple[int, int], int]  # kernel position -> flat offset of its run
    #: The kernel positions whose runs are one strided view each: (first row, row step, rows,
    #: first column, column step, columns) of the kernel, and the flat steps between them.
    blocks: tuple[tuple[int, int, int, int, int, int, int, int], ...]

    @property
    def cells(self) -> int:
        """Flat cells of one channel of one sample (every phase)."""
        return self.padded[0] * self.padded[1]


def _flat_layout(structure: Structure) -> _Flat | str:
    """The flat layout, or why there is none.

    The layout is written from the layer's options; it is used only if it reproduces every
    proven tap exactly (and no tap where the derivation has none), link for link.
    """
    spec: Conv2d = structure.spec
    _, _, height, width = spec.input_shape
    _, _, out_height, out_width = spec.output_shape
    (sh, sw), (dh, dw), (ph, pw) = spec.stride, spec.dilation, spec.padding
    kh, kw = spec.kernel
    expected = {}
    for p, q in itertools.product(range(kh), range(kw)):
        rows = _valid(out_height, sh, p * dh - ph, height)
        cols = _valid(out_width, sw, q * dw - pw, width)
        if rows is not None and cols is not None:
            expected[p, q] = (rows, cols)
    found = {(t.p, t.q): ((t.out_rows, t.in_rows), (t.out_cols, t.in_cols)) for t in structure.taps}
    if found != expected:  # the derivation is the truth: a layout that disagrees is not used
        return "its taps are not those of the flat layout"
    phase = (-(-(height + 2 * ph) // sh), -(-(width + 2 * pw) // sw))
    padded = (phase[0] * sh, phase[1] * sw)
    hq, wq = phase

    def offset(p: int, q: int) -> int:
        (row, a), (col, b) = divmod(p * dh, sh), divmod(q * dw, sw)
        return (a * sw + b) * hq * wq + row * wq + col

    offsets = {(p, q): offset(p, q) for p, q in itertools.product(range(kh), range(kw))}
    # kernel rows of one residue mod the stride are evenly spaced, and so are their runs
    row_step, col_step = sh // math.gcd(dh, sh), sw // math.gcd(dw, sw)
    blocks = []
    for p0, q0 in itertools.product(range(min(row_step, kh)), range(min(col_step, kw))):
        rows, cols = len(range(p0, kh, row_step)), len(range(q0, kw, col_step))
        down = offsets[p0 + row_step, q0] - offsets[p0, q0] if rows > 1 else 0
        across = offsets[p0, q0 + col_step] - offsets[p0, q0] if cols > 1 else 0
        blocks.append((p0, row_step, rows, q0, col_step, cols, down, across))
    length = (out_height - 1) * wq + out_width
    return _Flat(padded, phase, length, offsets, tuple(blocks))


def _valid(outputs: int, stride: int, shift: int, size: int) -> tuple[slice, slice] | None:
    """The output run whose cells ``i*stride + shift`` lie in ``[0, size)``, and those cells."""
    first = max(0, -(shift // stride))  # the first i with i*stride + shift >= 0
    last = min(outputs, (size - 1 - shift) // stride + 1)
    if first >= last:
        return None
    step = stride if last - first > 1 else 1  # a single cell's run steps by 1, as the taps'
    cells = slice(first * stride + shift, (last - 1) * stride + shift + 1, step)
    return slice(first, last, 1), cells


def _phases(spec: Conv2d, layout: _Flat):
    """Each phase (a, b) that holds cells of x, with its (phase run, x cells) per axis."""
    _, _, height, width = spec.input_shape
    (sh, sw), (ph, pw) = spec.stride, spec.padding
    for a, b in itertools.product(range(sh), range(sw)):
        rows = _valid(layout.phase[0], sh, a - ph, height)
        cols = _valid(layout.phase[1], sw, b - pw, width)
        if rows is not None and cols is not None:
            yield (a, b), (rows, cols)


def flat_refusal(structure: Structure) -> str | None:
    """Why the flat layout does not fit the layer, or None."""
    layout = _flat_layout(structure)
    return layout if isinstance(layout, str) else None


def _flat(structure: Structure) -> _Flat:
    layout = _flat_layout(structure)
    if isinstance(layout, str):
        raise ValueError(f"strategy 'flat' does not fit this conv2d: {layout}")
    return layout


def _flat_columns(structure: Structure, printer: KernelPrinter) -> list[str]:
    spec: Conv2d = structure.spec
    layout = _flat(structure)
    _, channels, height, width = spec.input_shape
    _, _, kh, kw = spec.weight_shape
    (hp, wp), (hq, wq), length = layout.padded, layout.phase, layout.length
    (sh, sw), (ph, pw) = spec.stride, spec.padding
    framed = (hp, wp) != (height, width)
    if (sh, sw) == (1, 1) and not framed:
        lines = [f"{INDENT}padded = np.ascontiguousarray(x)  # the flat rows need C order"]
        source = "padded"
    elif (sh, sw) == (1, 1):
        lines = [
            f"{INDENT}# x inside a frame of zeros: the cells the padding reads",
            *split_lines(_temporary("padded", f"(batch, {channels}, {hp}, {wp})", True)),
            f"{INDENT}padded[:, :, {ph}:{ph + height}, {pw}:{pw + width}] = x",
        ]
        source = "padded"
    else:
        shape = f"(batch, {channels}, {sh}, {sw}, {hq}, {wq})"
        lines = [
            f"{INDENT}# x padded, in its {sh * sw} phases one after another: phase (a, b) holds"
            f" the cells",
            f"{INDENT}# (a + {sh}*u, b + {sw}*v) of the padded x, in which a stride-{sh}x{sw}"
            " tap reads a stride-1 run",
            *split_lines(_temporary("phased", shape, framed)),
        ]
        for (row, col), (rows, cols) in _phases(spec, layout):
            target = f"phased[:, :, {row}, {col}, {span(rows[0])}, {span(cols[0])}]"
            source_region = printer.region("x", 2, rows[1], cols[1])
            lines.append(statement(INDENT, target, "=", [source_region], ""))
        source = "phased"
    lines += [
        f"{INDENT}# row (c, p, q) of the columns: the flat run of channel c under position (p, q)",
        *split_lines(_temporary("flat_columns", f"({channels}, {kh}, {kw}, batch, {length})")),
    ]
    cells = layout.cells
    for p0, row_step, rows, q0, col_step, cols, down, across in layout.blocks:
        start = layout.offsets[p0, q0]
        base = source if start == 0 else f"{source}.reshape(-1)[{start}:]"
        shape = f"({channels}, {rows}, {cols}, batch, {length})"
        steps = f"({cells}, {down}, {across}, {channels * cells}, 1)"
        target = "flat_columns"
        if (row_step, col_step) != (1, 1):
            target = f"flat_columns[:, {p0}::{row_step}, {q0}::{col_step}]"
        lines += split_lines(
            bare_call(INDENT, "np.copyto", [target, f"_strided({base}, {shape}, {steps})"])
        )
    return lines


def _flat_positions(spec: Conv2d, layout: _Flat, name: str, rows: str) -> str:
    """``name``'s flat rows ``rows`` seen as (N, K, OH, OW): output (i, j) at i*Wq + j."""
    out_channels = spec.weight_shape[0]
    _, _, out_height, out_width = spec.output_shape
    shape = f"(batch, {out_channels}, {out_height}, {out_width})"
    steps = f"({layout.length}, {rows}, {layout.phase[1]}, 1)"
    return f"_strided({name}, {shape}, {steps})"


def _flat_products(spec: Conv2d, length: int) -> dict[str, str]:
    out_channels, in_per_group, kh, kw = spec.weight_shape
    per_group = in_per_group * kh * kw
    positions = f"batch * {length}"
    if spec.groups == 1:
        return {
            "weights": f"w.reshape({out_channels}, {per_group})",
            "columns": f"flat_columns.reshape({per_group}, {positions})",
            "upstream": f"flat_upstream.reshape({out_channels}, {positions})",
            "transposed": ".T",
            "rows": f"({out_channels}, {positions})",
            "grad_columns": f"({per_group}, {positions})",
            "grad_w": f"grad_w.reshape({out_channels}, {per_group})",
        }
    groups, out_per_group = spec.groups, out_channels // spec.groups
    return {
        "weights": f"w.reshape({groups}, {out_per_group}, {per_group})",
        "columns": f"flat_columns.reshape({groups}, {per_group}, {positions})",
        "upstream": f"flat_upstream.reshape({groups}, {out_per_group}, {positions})",
        "transposed": ".transpose(0, 2, 1)",
        "rows": f"({groups}, {out_per_group}, {positions})",
        "grad_columns": f"({groups}, {per_group}, {positions})",
        "grad_w": f"grad_w.reshape({groups}, {out_per_group}, {per_group})",
    }


def _flat_forward(structure: Structure, printer: KernelPrinter) -> list[str]:
    spec: Conv2d = structure.spec
    layout = _flat(structure)
    names = _flat_products(spec, layout.length)
    lines = [
        *_flat_columns(structure, printer),
        *split_lines(_temporary("flat_rows", names["rows"])),
        *split_lines(
            bare_call(INDENT, "np.matmul", [names["weights"], names["columns"], "out=flat_rows"])
        ),
        f"{INDENT}# output (i, j) of sample n is flat position i*Wp + j of its run; the rest drops",
    ]
    view = _flat_positions(spec, layout, "flat_rows", f"batch * {layout.length}")
    lines += split_lines(bare_call(INDENT, "np.copyto", ["out", view]))
    if spec.bias:
        lines.append(f"{INDENT}out += b[:, None, None]")
    return lines


def _flat_upstream(structure: Structure, printer: KernelPrinter) -> list[str]:
    spec: Conv2d = structure.spec
    layout = _flat(structure)
    out_channels = spec.weight_shape[0]
    view = _flat_positions(spec, layout, "flat_upstream", f"batch * {layout.length}")
    return [
        f"{INDENT}# dL/dO on the flat positions of the outputs, zeros between the rows",
        *split_lines(
            _temporary("flat_upstream", f"({out_channels}, batch, {layout.length})", True)
        ),
        *split_lines(bare_call(INDENT, "np.copyto", [view, "grad_out"])),
    ]


def _flat_grad_w(structure: Structure, printer: KernelPrinter) -> _Part:
    spec: Conv2d = structure.spec
    layout = _flat(structure)
    names = _flat_products(spec, layout.length)
    target = names["grad_w"]
    lines = split_lines(
        bare_call(
            INDENT,
            "np.matmul",
            [names["upstream"], names["columns"] + names["transposed"], f"out={target}"],
        )
    )
    return _Part(lines, ("flat_columns", "flat_upstream"))


def _folded_grad_x(structure: Structure, layout: _Flat) -> list[str]:
    """dL/dX of a stride-1 flat layout: the kernel's columns summed inside the product.

    Tap (p, q) adds W^T dL/dO at flat offset p*dh*Wp + q*dw. The taps of one kernel row p
    differ only by q*dw, so dL/dO moved right by q*dw (one strided copy: row (k, q) of the
    shifted runs, each L2 = L + (kw-1)*dw long) lets one product sum them: then kh adds of
    whole runs, not kh*kw. The runs of dL/dO sit after a margin of (kw-1)*dw zeros and are zero
    past L, so a shift reads only zeros outside its run. A kernel position without a tap adds
    only to padding (the flat layout reproduced every proven tap), cut away at the end.
    """
    spec: Conv2d = structure.spec
    _, channels, _, _ = spec.input_shape
    out_channels, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    dw, groups = spec.dilation[1], spec.groups
    wp = layout.padded[1]
    margin = (kw - 1) * dw
    run = layout.length + margin  # L2: a run of dL/dO and every shift of it
    row = f"{margin} + batch * {run}" if margin else f"batch * {run}"
    base = "folded_runs" if margin else "folded_upstream"
    shape = f"(batch, {out_channels}, {out_height}, {out_width})"
    if groups == 1:
        weights = f"w.transpose(1, 2, 0, 3).reshape({channels * kh}, {out_channels * kw})"
        shifted = f"shifted_upstream.reshape({out_channels * kw}, batch * {run})"
        rows = f"({channels * kh}, batch * {run})"
    else:
        out_per_group = out_channels // groups
        weights = (
            f"w.reshape({groups}, {out_per_group}, {in_per_group}, {kh}, {kw})"
            f".transpose(0, 2, 3, 1, 4).reshape({groups}, {in_per_group * kh},"
            f" {out_per_group * kw})"
        )
        shifted = f"shifted_upstream.reshape({groups}, {out_per_group * kw}, batch * {run})"
        rows = f"({groups}, {in_per_group * kh}, batch * {run})"
    return [
        f"{INDENT}# dL/dO on runs {run} long (zeros past each output), after {margin} zeros",
        *split_lines(_temporary("folded_upstream", f"({out_channels}, {row})", True)),
        *([f"{INDENT}folded_runs = folded_upstream.reshape(-1)[{margin}:]"] if margin else []),
        *split_lines(
            bare_call(
                INDENT,
                "np.copyto",
                [f"_strided({base}, {shape}, ({run}, {row}, {wp}, 1))", "grad_out"],
            )
        ),
        f"{INDENT}# row (k, q) of the shifted runs: dL/dO moved right by q*{dw} (q's taps, summed"
        " in the product)",
        *split_lines(_temporary("shifted_upstream", f"({out_channels}, {kw}, batch, {run})")),
        *split_lines(
            bare_call(
                INDENT,
                "np.copyto",
                [
                    "shifted_upstream",
                    f"_strided({base}, ({out_channels}, {kw}, batch, {run}), ({row}, {-dw},"
                    f" {run}, 1))",
                ],
            )
        ),
        *split_lines(_temporary("flat_grad_rows", rows)),
        *split_lines(bare_call(INDENT, "np.matmul", [weights, shifted, "out=flat_grad_rows"])),
        f"{INDENT}flat_grad_rows = flat_grad_rows.reshape({channels}, {kh}, batch, {run})",
    ]


def _flat_grad_x(structure: Structure, printer: KernelPrinter) -> _Part:
    spec: Conv2d = structure.spec
    layout = _flat(structure)
    if spec.stride == (1, 1):
        return _flat_rows_grad_x(structure, printer, layout)
    names = _flat_products(spec, layout.length)
    _, channels, height, width = spec.input_shape
    _, _, kh, kw = spec.weight_shape
    (hp, wp), length = layout.padded, layout.length
    ph, pw = spec.padding
    lines = [
        *split_lines(_temporary("flat_grad_columns", names["grad_columns"])),
        *split_lines(
            bare_call(
                INDENT,
                "np.matmul",
                [
                    names["weights"] + names["transposed"],
                    names["upstream"],
                    "out=flat_grad_columns",
                ],
            )
        ),
        f"{INDENT}flat_grad_columns = flat_grad_columns.reshape({channels}, {kh}, {kw}, batch,"
        f" {length})",
    ]
    (sh, sw), (hq, wq) = spec.stride, layout.phase
    direct = (hp, wp, sh, sw) == (height, width, 1, 1)  # the flat runs are grad_x's own rows
    runs = _zeroed_runs(lines, channels, layout, direct)
    lines += [f"{INDENT}# (C, N, cells): each tap adds whole runs", f"{INDENT}grad_runs = {runs}"]
    for tap in structure.taps:  # a kernel position without a tap would add to padding only
        offset = layout.offsets[tap.p, tap.q]
        target = f"grad_runs[:, :, {offset}:{offset + length}]"
        lines.append(
            statement(INDENT, target, "+=", [f"flat_grad_columns[:, {tap.p}, {tap.q}]"], "")
        )
    if not direct:
        frame = f"[:, :, {ph}:{ph + height}, {pw}:{pw + width}]"
        if (sh, sw) == (1, 1):
            lines.append(
                f"{INDENT}grad_x[...] = grad_padded.reshape(batch, {channels}, {hp}, {wp}){frame}"
            )
        else:
            lines += [
                f"{INDENT}# the phases back in place: cell (a + {sh}*u, b + {sw}*v) of phase"
                " (a, b)",
                f"{INDENT}phases = grad_padded.reshape(batch, {channels}, {sh}, {sw}, {hq}, {wq})",
            ]
            for (row, col), (rows, cols) in _phases(spec, layout):
                target = printer.region("grad_x", 2, rows[1], cols[1])
                source = f"phases[:, :, {row}, {col}, {span(rows[0])}, {span(cols[0])}]"
                lines.append(statement(INDENT, target, "=", [source], ""))
    return _Part(lines, ("flat_upstream",))


def _zeroed_runs(lines: list[str], channels: int, layout: _Flat, direct: bool) -> str:
    """Append the zeroing of what dL/dX's runs add into (grad_x itself when its rows are the
    flat runs, else a padded buffer) and return that target viewed as (C, N, cells)."""
    if direct:
        lines.append(f"{INDENT}grad_x[...] = 0")
        return f"grad_x.reshape(batch, {channels}, {layout.cells}).transpose(1, 0, 2)"
    lines += [
        *split_lines(_temporary("grad_padded", f"(batch, {channels}, {layout.cells})")),
        f"{INDENT}grad_padded[...] = 0",
    ]
    return "grad_padded.transpose(1, 0, 2)"


def _flat_rows_grad_x(structure: Structure, printer: KernelPrinter, layout: _Flat) -> _Part:
    """dL/dX of a stride-1 flat layout: the folded product, then one add per kernel row."""
    spec: Conv2d = structure.spec
    _, channels, height, width = spec.input_shape
    kh = spec.weight_shape[2]
    (hp, wp), dh, (ph, pw) = layout.padded, spec.dilation[0], spec.padding
    run = layout.length + (spec.weight_shape[3] - 1) * spec.dilation[1]
    lines = _folded_grad_x(structure, layout)
    direct = (hp, wp) == (height, width)  # the flat runs are grad_x's own rows
    runs = _zeroed_runs(lines, channels, layout, direct)
    lines += [
        f"{INDENT}# (C, N, cells): each kernel row adds whole runs",
        f"{INDENT}grad_runs = {runs}",
    ]
    for p in range(kh):
        offset = p * dh * wp
        target = f"grad_runs[:, :, {offset}:{offset + run}]"
        lines.append(statement(INDENT, target, "+=", [f"flat_grad_rows[:, {p}]"], ""))
    if not direct:
        frame = f"[:, :, {ph}:{ph + height}, {pw}:{pw + width}]"
        lines.append(
            f"{INDENT}grad_x[...] = grad_padded.reshape(batch, {channels}, {hp}, {wp}){frame}"
        )
    return _Part(lines, ())


def _temporary(name: str, shape: str, zeros: bool = False) -> str:
    """``name = _buffer(...)``: a new array, or the caller's ``workspace`` one of that name.

    A reused buffer keeps its zeros: every call writes the same cells of it (the proven taps),
    so the cells no tap writes are the zeros it was made with.
    """
    arguments = ["workspace", f'"{name}"', shape, "x.dtype"] + (["zeros=True"] if zeros else [])
    return call(INDENT, name, "=", "_buffer", arguments)


def _columns(structure: Structure, name: str, shape: str) -> list[str]:
    """A columns buffer (``_temporary``), zero-filled when a tap misses some windows."""
    if _complete(structure):
        return split_lines(_temporary(name, shape))
    comment = f"{INDENT}# taps on the padding read zeros"
    return [comment, *split_lines(_temporary(name, shape, True))]


def _shape(shape: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape))


# -- composing the directions ---------------------------------------------------------------------

#: Strategy -> its forward body.
FORWARD_PARTS = {
    "taps": _taps_forward,
    "gemm": _gemm_forward,
    "gather": _gather_forward,
    "flat": _flat_forward,
}
#: Strategy -> its dL/dW part, and its dL/dX part.
GRAD_W_PARTS = {
    "taps": _taps_grad_w,
    "gemm": _gemm_grad_w,
    "gather": _gather_grad_w,
    "flat": _flat_grad_w,
}
GRAD_X_PARTS = {
    "taps": _taps_grad_x,
    "gemm": _gemm_grad_x,
    "gather": _gather_grad_x,
    "flat": _flat_grad_x,
}
#: The shared preludes of the backward parts, in the order the body computes them.
_PRELUDES = {
    "views": lambda structure, printer: _conv2d_views(structure.spec).setup_backward,
    "columns": _gemm_columns,
    "upstream": _gemm_upstream,
    "sample_columns": _gather_columns,
    "flat_columns": _flat_columns,
    "flat_upstream": _flat_upstream,
}


def conv2d_compose(
    structure: Structure, printer: KernelPrinter, choice: dict[str, str]
) -> KernelCode:
    """The kernels with each direction's strategy of ``choice`` (forward, grad_w, grad_x).

    A gradient whose strategy is None is left out (``--strategy auto`` times each part alone).
    The backward body computes each prelude its two parts read once (dL/dW and dL/dX of gemm
    share dL/dO laid out by channel; of flat, dL/dO on the flat positions), then dL/dW, then
    dL/dX, then dL/dB.
    """
    spec: Conv2d = structure.spec
    forward = FORWARD_PARTS[choice["forward"]](structure, printer)
    parts = [
        table[choice[direction]](structure, printer)
        for direction, table in (("grad_w", GRAD_W_PARTS), ("grad_x", GRAD_X_PARTS))
        if choice[direction] is not None  # None: left out (to time the other part alone)
    ]
    backward = []
    if spec.reduction == "mean":
        backward.append(f"{INDENT}grad_out = grad_out / batch  # dL/dO = G / N")
    needed = {name for part in parts for name in part.needs}
    for name, prelude in _PRELUDES.items():
        if name in needed:
            lines = flatten(prelude(structure, printer))
            if name == _FORWARD_COLUMNS.get(choice["forward"]):
                lines = _kept_columns(structure, name, lines)
            backward += lines
    for part in parts:
        backward += part.lines
    backward += _bias_gradient(spec)
    return KernelCode(flatten(forward), flatten(backward))


#: Strategy -> the columns buffer its forward fills (its backward prelude of the same name).
_FORWARD_COLUMNS = {"gemm": "columns", "gather": "sample_columns", "flat": "flat_columns"}


def _columns_shape(structure: Structure, name: str) -> str:
    """The shape of the columns buffer ``name``, as its prelude writes it."""
    spec: Conv2d = structure.spec
    _, channels, _, _ = spec.input_shape
    _, _, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    if name == "flat_columns":
        return f"({channels}, {kh}, {kw}, batch, {_flat(structure).length})"
    if name == "sample_columns":
        return f"(batch, {channels}, {kh}, {kw}, {out_height}, {out_width})"
    return f"({channels}, {kh}, {kw}, batch, {out_height}, {out_width})"


def _kept_columns(structure: Structure, name: str, lines: list[str]) -> list[str]:
    """``lines`` (the columns prelude), skipped when the caller says x is unchanged.

    The forward of the same strategy fills the same workspace buffer from the same x, so with
    ``x_unchanged=True`` the backward reads that buffer instead of gathering the columns again.
    """
    shape = _columns_shape(structure, name)
    kept = call(INDENT * 2, name, "=", "_kept", ["workspace", f'"{name}"', shape, "x.dtype"])
    body = [line if not line else INDENT + line for line in lines]
    return [
        f"{INDENT}if x_unchanged:  # the columns the forward gathered from this x",
        *split_lines(kept),
        f"{INDENT}else:",
        *body,
    ]


def _whole(name: str):
    """The builder of one strategy in every direction."""

    def build(structure: Structure, printer: KernelPrinter) -> KernelCode:
        return conv2d_compose(structure, printer, dict.fromkeys(DIRECTIONS, name))

    build.__name__ = f"conv2d_{name}"
    build.__doc__ = f"conv2d with the {name} strategy in every direction."
    return build


conv2d_taps = _whole("taps")
conv2d_gemm = _whole("gemm")
conv2d_gather = _whole("gather")
conv2d_flat = _whole("flat")


# -- the entry ------------------------------------------------------------------------------------


def legend(spec: Conv2d) -> Legend:
    """How a conv2d module's docstring names the derived layer and its symbols."""
    return Legend(
        f", out_channels {spec.out_channels}, groups {spec.groups}",
        "x_n_c_h_w input, w_k_c_p_q weight, b_k bias, g_n_k_i_j dL/dO",
        "kernel position",
    )


#: The strided strategy of stride-1 convolutions (conv2d's own: pools have no products).
FLAT = Strategy(
    "flat",
    "flat rows of the padded x (split by stride phase): one strided copy, one product",
    flat_refusal,
)

#: Layer type -> how the generator reads and writes it.
TABLE = {
    "conv2d": KindCodegen(
        reading=Reading(reduced, IndexMaps.of, conv2d_recover, conv2d_maps, expression),
        strategies={
            "unrolled": conv2d_unrolled,
            "taps": conv2d_taps,
            "gemm": conv2d_gemm,
            "gather": conv2d_gather,
            "flat": conv2d_flat,
        },
        template="conv2d.py.jinja",
        legend=legend,
        forward_arguments=("x", "w", "b"),
        backward_arguments=("x", "w", "grad_out"),
        unrolled_terms=conv2d_unrolled_terms,
        own_strategies=(FLAT,),
        directions=DIRECTIONS,
        compose=conv2d_compose,
    ),
}

#: This kind's modules in the catalog of ``generated/``, in the order the docs list them.
CATALOG = (
    CatalogModule(
        Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)),
        "unrolled",
        why="the notes' example: 3x3 input, 2x2 kernel, stride 1",
    ),
    CatalogModule(
        Conv2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), stride=(2, 2)),
        "unrolled",
        why="the notes' stride-2 case: 4x4 input, 2x2 kernel",
    ),
    CatalogModule(
        Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), padding=(1, 1)),
        "unrolled",
        why="the notes' example with padding 1",
    ),
    CatalogModule(
        Conv2d(input_shape=(64, 1, 28, 28), out_channels=6, kernel=(5, 5)),
        "flat",
        ("float32", "float64"),
        why="LeNet-5 C1 at batch 64",
    ),
    CatalogModule(
        Conv2d(input_shape=(64, 6, 12, 12), out_channels=16, kernel=(5, 5)),
        "flat",
        ("float32", "float64"),
        why="LeNet-5 C3 at batch 64",
    ),
    CatalogModule(
        Conv2d(input_shape=(64, 16, 16, 16), out_channels=32, kernel=(3, 3), stride=2, padding=1),
        "gemm",
        ("float32", "float64"),
        why="3x3 stride-2 padded conv, 16 -> 32 channels",
    ),
)
