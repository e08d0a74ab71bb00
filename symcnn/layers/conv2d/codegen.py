"""conv2d's code generation: how its derivation is read into kernel taps, and its kernels.

The weight index of every derived forward term names the kernel position ``(p, q)`` it belongs
to, so a convolution's structure is its taps alone (no rule besides): :func:`taps_of` reads them,
:func:`conv2d_maps` rebuilds every term from them, and the proof in
:mod:`symcnn.codegen.structure` compares. Its builders:

- ``unrolled``: the derived sums of one sample, every sample at once as a row;
- ``taps``: one ``np.einsum`` (a scalar product for one channel in and out) per kernel tap, on
  the tap's two strided rectangles, through grouped views when there are several groups;
- ``gemm``: every tap gathered into columns (im2col), then one matrix product per group (BLAS);
  the input gradient is scattered back tap by tap.
"""

from __future__ import annotations

import dataclasses
import itertools
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
from ...codegen.kinds import CatalogModule, KindCodegen, Legend
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
        backward.append(f"{INDENT}grad_out = grad_out / batch  # dL/dO = G / N")
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
    _, channels, _, _ = spec.input_shape
    out_channels, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    groups = spec.groups
    positions = f"batch * {out_height * out_width}"
    per_group = in_per_group * kh * kw
    gather = _columns(structure, f"({channels}, {kh}, {kw}, batch, {out_height}, {out_width})")
    for tap in structure.taps:
        target = f"columns[:, {tap.p}, {tap.q}, :, {span(tap.out_rows)}, {span(tap.out_cols)}]"
        source = printer.region("x", 2, tap.in_rows, tap.in_cols) + ".transpose(1, 0, 2, 3)"
        gather.append(statement(INDENT, target, "=", [source], ""))
    by_channel = f"({out_channels}, batch, {out_height}, {out_width})"
    if groups == 1:
        weight_rows = f"w.reshape({out_channels}, {per_group})"
        column_rows = f"columns.reshape({per_group}, {positions})"
        products = [
            _temporary("rows", f"({out_channels}, {positions})"),
            bare_call(INDENT, "np.matmul", [weight_rows, column_rows, "out=rows"]),
        ]
        gradient_products = [
            f"{INDENT}grad_w[...] = (upstream @ {column_rows}.T).reshape("
            f"{_shape(spec.weight_shape)})",
            _temporary("grad_columns", f"({per_group}, {positions})"),
            bare_call(INDENT, "np.matmul", [f"{weight_rows}.T", "upstream", "out=grad_columns"]),
        ]
    else:
        out_per_group = out_channels // groups
        weight_rows = f"w.reshape({groups}, {out_per_group}, {per_group})"
        column_rows = f"columns.reshape({groups}, {per_group}, {positions})"
        products = [
            _temporary("rows", f"({groups}, {out_per_group}, {positions})"),
            bare_call(INDENT, "np.matmul", [weight_rows, column_rows, "out=rows"]),
        ]
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
            _temporary("grad_columns", f"({groups}, {per_group}, {positions})"),
            bare_call(
                INDENT,
                "np.matmul",
                [f"{weight_rows}.transpose(0, 2, 1)", "upstream", "out=grad_columns"],
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
        backward.append(f"{INDENT}grad_out = grad_out / batch  # dL/dO = G / N")
    backward += [
        *gather,
        f"{INDENT}upstream = grad_out.transpose(1, 0, 2, 3).reshape({out_channels}, {positions})",
        *gradient_products,
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
        backward.append(statement(INDENT, target, "+=", [source], ""))
    backward += _bias_gradient(spec)
    return KernelCode(flatten(forward), flatten(backward))


def conv2d_gather(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """conv2d as per-sample matrix products on contiguous operands; dL/dX by gather.

    The columns are laid out ``(N, C, kh, kw, OH, OW)``, so that each sample's product
    ``W (K, C*kh*kw) @ columns[n] (C*kh*kw, OH*OW)`` writes its output ``(K, OH*OW)`` in place
    (one batched ``np.matmul``, no transpose after it). dL/dX is gathered the same way: each
    tap spreads dL/dO back onto the input cells it links to (``spread``, laid out
    ``(N, K, kh, kw, H, W)``: dL/dO dilated by the stride, padded, once per kernel position),
    and ``W^T (C, K*kh*kw) @ spread[n]`` sums every tap into dL/dX at once: the correlation of
    the dilated, padded dL/dO with the rotated kernel, read off the taps. dL/dW is a product
    per sample, summed over the batch.
    """
    spec: Conv2d = structure.spec
    _, channels, height, width = spec.input_shape
    out_channels, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    groups = spec.groups
    out_per_group = out_channels // groups
    gather = _columns(structure, f"(batch, {channels}, {kh}, {kw}, {out_height}, {out_width})")
    for tap in structure.taps:
        target = f"columns[:, :, {tap.p}, {tap.q}, {span(tap.out_rows)}, {span(tap.out_cols)}]"
        source = printer.region("x", 2, tap.in_rows, tap.in_cols)
        gather.append(statement(INDENT, target, "=", [source], ""))
    positions, cells = out_height * out_width, height * width
    if groups == 1:
        weight_rows = f"w.reshape({out_channels}, {in_per_group * kh * kw})"
        column_rows = f"columns.reshape(batch, {channels * kh * kw}, {positions})"
        out_rows = f"out.reshape(batch, {out_channels}, {positions})"
        upstream = f"grad_out.reshape(batch, {out_channels}, {positions})"
        rotated = f"w.transpose(1, 0, 2, 3).reshape({channels}, {out_channels * kh * kw})"
        spread_rows = f"spread.reshape(batch, {out_channels * kh * kw}, {cells})"
        grad_x_rows = f"grad_x.reshape(batch, {channels}, {cells})"
    else:
        per_group = in_per_group * kh * kw
        weight_rows = f"w.reshape({groups}, {out_per_group}, {per_group})"
        column_rows = f"columns.reshape(batch, {groups}, {per_group}, {positions})"
        out_rows = f"out.reshape(batch, {groups}, {out_per_group}, {positions})"
        upstream = f"grad_out.reshape(batch, {groups}, {out_per_group}, {positions})"
        rotated = (
            f"w.reshape({groups}, {out_per_group}, {in_per_group}, {kh}, {kw})"
            f".transpose(0, 2, 1, 3, 4).reshape({groups}, {in_per_group},"
            f" {out_per_group * kh * kw})"
        )
        spread_rows = f"spread.reshape(batch, {groups}, {out_per_group * kh * kw}, {cells})"
        grad_x_rows = f"grad_x.reshape(batch, {groups}, {in_per_group}, {cells})"
    transposed = "(0, 2, 1)" if groups == 1 else "(0, 1, 3, 2)"
    forward = [*gather]
    forward += split_lines(
        bare_call(INDENT, "np.matmul", [weight_rows, column_rows, f"out={out_rows}"])
    )
    if spec.bias:
        forward.append(f"{INDENT}out += b[:, None, None]")
    backward = []
    if spec.reduction == "mean":
        backward.append(f"{INDENT}grad_out = grad_out / batch  # dL/dO = G / N")
    backward += gather
    backward += split_lines(
        call(
            INDENT,
            "grad_w_samples",
            "=",
            "np.matmul",
            [upstream, f"{column_rows}.transpose{transposed}"],
        )
    )
    backward.append(
        f"{INDENT}grad_w[...] = grad_w_samples.sum(axis=0).reshape({_shape(spec.weight_shape)})"
    )
    backward += [
        f"{INDENT}# zeros where no tap links an output: the stride's gaps and the padding",
        _temporary("spread", f"(batch, {out_channels}, {kh}, {kw}, {height}, {width})", True),
    ]
    for tap in structure.taps:
        target = f"spread[:, :, {tap.p}, {tap.q}, {span(tap.in_rows)}, {span(tap.in_cols)}]"
        source = printer.region("grad_out", 2, tap.out_rows, tap.out_cols)
        backward.append(statement(INDENT, target, "=", [source], ""))
    backward += split_lines(
        bare_call(INDENT, "np.matmul", [rotated, spread_rows, f"out={grad_x_rows}"])
    )
    backward += _bias_gradient(spec)
    return KernelCode(flatten(forward), flatten(backward))


def _temporary(name: str, shape: str, zeros: bool = False) -> str:
    """``name = _buffer(...)``: a new array, or the caller's ``workspace`` one of that name.

    A reused buffer keeps its zeros: every call writes the same cells of it (the proven taps),
    so the cells no tap writes are the zeros it was made with.
    """
    arguments = ["workspace", f'"{name}"', shape, "x.dtype"] + (["zeros=True"] if zeros else [])
    return call(INDENT, name, "=", "_buffer", arguments)


def _columns(structure: Structure, shape: str) -> list[str]:
    """The columns buffer (``_temporary``), zero-filled when a tap misses some windows."""
    if _complete(structure):
        return split_lines(_temporary("columns", shape))
    comment = f"{INDENT}# taps on the padding read zeros"
    return [comment, *split_lines(_temporary("columns", shape, True))]


def _shape(shape: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape))


# -- the entry ------------------------------------------------------------------------------------


def legend(spec: Conv2d) -> Legend:
    """How a conv2d module's docstring names the derived layer and its symbols."""
    return Legend(
        f", out_channels {spec.out_channels}, groups {spec.groups}",
        "x_n_c_h_w input, w_k_c_p_q weight, b_k bias, g_n_k_i_j dL/dO",
        "kernel position",
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
        },
        template="conv2d.py.jinja",
        legend=legend,
        forward_arguments=("x", "w", "b"),
        backward_arguments=("x", "w", "grad_out"),
        unrolled_terms=conv2d_unrolled_terms,
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
        "gemm",
        ("float32", "float64"),
        why="LeNet-5 C1 at batch 64",
    ),
    CatalogModule(
        Conv2d(input_shape=(64, 6, 12, 12), out_channels=16, kernel=(5, 5)),
        "gemm",
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
