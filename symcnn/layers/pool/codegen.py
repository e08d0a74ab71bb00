"""The pools' code generation, part two: their kernel bodies, built from a proven structure, and
the pools' entries of the generator's table (:data:`TABLE`; their structure is read in
:mod:`symcnn.layers.pool.codegen_reading`).

- ``unrolled``: one statement per output and per input-gradient entry, printed from the partials
  rebuilt from the proven structure: an extreme is ``np.maximum.reduce([cells])``; each routed
  gradient is ``g * wins`` with ``wins`` the derived condition (every relation of the cell to the
  others of its window), divided by the cells tied with it under ``split``; an average is the
  derived sum of ``x / d``.
- ``taps``: one statement per window position over its two strided rectangles. A max (min)
  starts every window from its first real cell and folds in the other taps with the ufunc of
  :data:`~symcnn.codegen.printer.EXTREME_UFUNCS`; the gradient compares each tap's cells with
  the window's extreme and routes by the tie rule's NumPy spelling (:data:`TIE_SPELLINGS`), in
  the order the derivation ranks the positions. An average adds the taps and divides by the
  recovered divisors, one constant per rectangle of windows.
- ``separable``: (average only) the window's rows summed, then its columns.

Every shape, slice and divisor is a constant of the printed code. Where the windows neither
overlap nor leave a cell out, each input cell belongs to one tap, and the input gradient is
assigned tap by tap with no zero fill.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sympy import Eq

from ...codegen.bodies import (
    KernelCode,
    assign_entries,
    entry_target,
    flatten,
    split_lines,
    unpack_rows,
)
from ...codegen.kinds import CatalogModule, KindCodegen, Legend
from ...codegen.printer import (
    EXTREME_UFUNCS,
    INDENT,
    KernelPrinter,
    bare_call,
    call,
    list_call,
    statement,
)
from ...codegen.structure import Reading, Structure, batch_and_channels_cut
from ...codegen.terms import IndexMaps, Tap, axis_runs, expression, indices
from ...tensors import Tensors
from .codegen_reading import (
    RELATIONAL_NODES,
    average_maps,
    cells_by_window,
    constant_blocks,
    extreme_expression,
    extreme_maps,
    read_extreme,
    recover_average,
    recover_routing,
)
from .spec import AvgPool2d, MaxPool2d, MinPool2d

# -- geometry, worked out at generation time -------------------------------------------------------


def _whole(part: slice, size: int) -> bool:
    return (part.start, part.stop, part.step) == (0, size, 1)


def _region(printer: KernelPrinter, name: str, shape: tuple, rows: slice, cols: slice) -> str:
    """``name`` when the rectangle is the whole spatial extent of ``shape``, else its slice."""
    if _whole(rows, shape[2]) and _whole(cols, shape[3]):
        return name
    return printer.region(name, 2, rows, cols)


def _same(a: slice, b: slice) -> bool:
    return (a.start, a.stop, a.step) == (b.start, b.stop, b.step)


def _writable(region: str) -> str:
    """A region as an assignment target: a whole array is written through ``[...]``."""
    return region if region.endswith("]") else f"{region}[...]"


def _narrowed(outs: slice, ins: slice, part: slice) -> slice:
    """The input slice that a sub-run ``part`` of a tap's output run ``outs`` reads."""
    start = ins.start + (part.start - outs.start) * ins.step
    stop = start + (len(indices(part)) - 1) * ins.step + 1
    return slice(start, stop, ins.step if len(indices(part)) > 1 else 1)


def _complete(spec, tap: Tap) -> bool:
    """True when the tap reaches every output window."""
    _, _, out_height, out_width = spec.output_shape
    return _whole(tap.out_rows, out_height) and _whole(tap.out_cols, out_width)


def _starts(spec, taps: tuple[Tap, ...]) -> list[tuple[Tap, slice, slice]]:
    """A real cell to start each window from, as (tap, rows, cols) rectangles of windows.

    One tap that reaches every window when there is one; else each window's first real cell in
    row-major order (with padding, no single tap may reach them all).
    """
    for tap in taps:
        if _complete(spec, tap):
            return [(tap, tap.out_rows, tap.out_cols)]
    _, _, out_height, out_width = spec.output_shape
    first = np.full((out_height, out_width), -1, dtype=np.int64)
    for number, tap in enumerate(taps):
        windows = first[tap.out_rows, tap.out_cols]
        windows[windows < 0] = number
    return [(taps[number], rows, cols) for rows, cols, number in constant_blocks(first)]


def _assignment(spec, taps: tuple[Tap, ...]) -> tuple[bool, str]:
    """(whether grad_x needs a zero fill, the operator that puts each tap's share in).

    Windows that never share a cell assign (``=``); overlapping ones accumulate (``+=``). A
    cell no window reads needs the zero fill.
    """
    _, _, height, width = spec.input_shape
    readers = np.zeros((height, width), dtype=np.int64)
    for tap in taps:
        readers[tap.in_rows, tap.in_cols] += 1
    disjoint, covered = readers.max() <= 1, readers.min() >= 1
    return not (disjoint and covered), "=" if disjoint else "+="


def _mean_line(spec) -> list[str]:
    if spec.reduction == "mean":
        return [f"{INDENT}grad_out = grad_out / batch  # dL/dO = G / N"]
    return []


# -- max and min: taps ----------------------------------------------------------------------------


def _extreme_lines(structure: Structure, printer: KernelPrinter, target: str) -> list[str]:
    """``target`` = the window extremes: each window from its first real cell, then every tap."""
    spec, taps = structure.spec, structure.taps
    starts = _starts(spec, taps)
    lines = []
    if len(starts) > 1:
        lines.append(f"{INDENT}# each window starts from its first real cell: padding never counts")
    for tap, rows, cols in starts:
        cells = _region(
            printer,
            "x",
            spec.input_shape,
            _narrowed(tap.out_rows, tap.in_rows, rows),
            _narrowed(tap.out_cols, tap.in_cols, cols),
        )
        windows = _region(printer, target, spec.output_shape, rows, cols)
        lines.append(statement(INDENT, _writable(windows), "=", [cells], ""))
    started = {  # taps whose every window was started from them: nothing left to fold in
        (tap.p, tap.q)
        for tap, rows, cols in starts
        if _same(rows, tap.out_rows) and _same(cols, tap.out_cols)
    }
    for tap in taps:
        if (tap.p, tap.q) in started:
            continue
        windows = _region(printer, target, spec.output_shape, tap.out_rows, tap.out_cols)
        cells = _region(printer, "x", spec.input_shape, tap.in_rows, tap.in_cols)
        ufunc = EXTREME_UFUNCS[structure.rule.extreme]
        lines += split_lines(bare_call(INDENT, ufunc, [windows, cells, f"out={windows}"]))
    return lines


class _Tap:
    """The printed regions of one tap in the backward pass."""

    def __init__(self, structure: Structure, printer: KernelPrinter, tap: Tap) -> None:
        spec = structure.spec
        self.tap = tap
        self.cells = _region(printer, "x", spec.input_shape, tap.in_rows, tap.in_cols)
        self.grad = _region(printer, "grad_x", spec.input_shape, tap.in_rows, tap.in_cols)
        self.out = {
            name: _region(printer, name, spec.output_shape, tap.out_rows, tap.out_cols)
            for name in ("extreme", "grad_out", "taken", "ties", "share")
        }

    def comment(self, more: str = "") -> str:
        return f"{INDENT}# window position ({self.tap.p}, {self.tap.q}){more}"

    def hit(self, name: str = "hit") -> str:
        return statement(INDENT, name, "=", [f"{self.cells} == {self.out['extreme']}"], "")

    def route(self, assign: str, hit: str, amount: str) -> list[str]:
        source = self.out[amount]
        target = _writable(self.grad) if assign == "=" else self.grad
        return split_lines(call(INDENT, target, assign, "np.where", [hit, source, "0"]))


def _route_first(structure: Structure, printer: KernelPrinter, assign: str) -> list[str]:
    """The whole gradient to the first cell equal to the extreme, in the derived rank order."""
    by_position = {(tap.p, tap.q): tap for tap in structure.taps}
    ranked = [_Tap(structure, printer, by_position[p]) for p in structure.rule.order]
    lines = []
    if len(ranked) > 1:
        lines.append(
            f"{INDENT}taken = np.zeros(grad_out.shape, dtype=bool)  # windows already routed"
        )
    for rank, tap in enumerate(ranked):
        lines += [tap.comment(f", ranked {rank + 1} of {len(ranked)}"), tap.hit()]
        if rank:
            lines.append(f"{INDENT}hit &= ~{tap.out['taken']}")
        if rank < len(ranked) - 1:
            lines.append(f"{INDENT}{tap.out['taken']} |= hit")
        lines += tap.route(assign, "hit", "grad_out")
    return lines


def _route_all(structure: Structure, printer: KernelPrinter, assign: str) -> list[str]:
    """The whole gradient to every cell equal to the extreme."""
    lines = []
    for tap in (_Tap(structure, printer, tap) for tap in structure.taps):
        lines += [tap.comment(), tap.hit(), *tap.route(assign, "hit", "grad_out")]
    return lines


def _route_split(structure: Structure, printer: KernelPrinter, assign: str) -> list[str]:
    """The gradient shared equally by the cells equal to the extreme."""
    taps = [_Tap(structure, printer, tap) for tap in structure.taps]
    lines = [f"{INDENT}ties = np.zeros(grad_out.shape, dtype=np.int64)  # extreme cells per window"]
    for tap in taps:
        name = f"hit_{tap.tap.p}_{tap.tap.q}"
        lines += [tap.comment(), tap.hit(name), f"{INDENT}{tap.out['ties']} += {name}"]
    lines.append(
        f"{INDENT}share = grad_out / np.maximum(ties, 1).astype(grad_out.dtype)"
        "  # a NaN window has no ties"
    )
    for tap in taps:
        lines += tap.route(assign, f"hit_{tap.tap.p}_{tap.tap.q}", "share")
    return lines


#: Tie rule -> the NumPy statements that route each window's gradient to its extreme cells.
TIE_SPELLINGS: dict[str, Callable[[Structure, KernelPrinter, str], list[str]]] = {
    "first": _route_first,
    "all": _route_all,
    "split": _route_split,
}


def extreme_taps(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """Max or min pooling tap by tap; the gradient routed by the derived tie rule."""
    spec = structure.spec
    forward = _extreme_lines(structure, printer, "out")
    backward = [
        *_mean_line(spec),
        f"{INDENT}extreme = np.empty(grad_out.shape, dtype=x.dtype)  # the forward pass again",
        *_extreme_lines(structure, printer, "extreme"),
    ]
    zero_fill, assign = _assignment(spec, structure.taps)
    if zero_fill:
        backward.append(f"{INDENT}grad_x[...] = 0")
    backward += TIE_SPELLINGS[structure.rule.ties](structure, printer, assign)
    return KernelCode(flatten(forward), flatten(backward))


# -- average: taps ---------------------------------------------------------------------------------


def _shares(structure: Structure, printer: KernelPrinter, blocks: list) -> list[str]:
    """``share = dL/dO / divisor``, the batch size folded into the divisor for ``mean``."""
    spec = structure.spec
    mean = spec.reduction == "mean"

    def scaled(divisor: int) -> str:  # the divisor, times the run-time batch for ``mean``
        if mean:
            return "batch" if divisor == 1 else f"(batch * {divisor})"
        return str(divisor)

    if len(blocks) == 1:
        divisor = blocks[0][2]
        source = "grad_out" if divisor == 1 and not mean else f"grad_out / {scaled(divisor)}"
        return [f"{INDENT}share = {source}  # dL/dO over each window's divisor"]
    lines = [f"{INDENT}share = np.empty_like(grad_out)  # dL/dO over each window's divisor"]
    for rows, cols, divisor in blocks:
        upstream = _region(printer, "grad_out", spec.output_shape, rows, cols)
        target = _region(printer, "share", spec.output_shape, rows, cols)
        lines.append(statement(INDENT, target, "=", [f"{upstream} / {scaled(divisor)}"], ""))
    return lines


def average_taps(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """Average pooling: the taps added up, then each window divided by its derived divisor."""
    spec, taps = structure.spec, structure.taps
    blocks = structure.rule.blocks()
    complete = [tap for tap in taps if _complete(spec, tap)]
    forward = []
    if complete:
        first = complete[0]
        cells = _region(printer, "x", spec.input_shape, first.in_rows, first.in_cols)
        forward.append(statement(INDENT, "out[...]", "=", [cells], ""))
    else:
        forward.append(f"{INDENT}out[...] = 0")
    for tap in taps:
        if complete and tap is complete[0]:
            continue
        windows = _region(printer, "out", spec.output_shape, tap.out_rows, tap.out_cols)
        cells = _region(printer, "x", spec.input_shape, tap.in_rows, tap.in_cols)
        forward.append(statement(INDENT, windows, "+=", [cells], ""))
    for rows, cols, divisor in blocks:
        if divisor != 1:
            windows = _region(printer, "out", spec.output_shape, rows, cols)
            forward.append(f"{INDENT}{windows} /= {divisor}")
    backward = _shares(structure, printer, blocks)
    zero_fill, assign = _assignment(spec, taps)
    if zero_fill:
        backward.append(f"{INDENT}grad_x[...] = 0")
    for tap in taps:
        target = _region(printer, "grad_x", spec.input_shape, tap.in_rows, tap.in_cols)
        source = _region(printer, "share", spec.output_shape, tap.out_rows, tap.out_cols)
        backward.append(statement(INDENT, _writable(target), assign, [source], ""))
    return KernelCode(flatten(forward), flatten(backward))


# -- average: separable ---------------------------------------------------------------------------


def _axis_region(name: str, part: slice, axis: int) -> str:
    """``name[:, :, part, :]`` (axis 2) or ``name[:, :, :, part]`` (axis 3)."""
    spans = [":", ":", ":", ":"]
    text = f"{part.start}:{part.stop}"
    spans[axis] = text if part.step == 1 else f"{text}:{part.step}"
    return f"{name}[{', '.join(spans)}]"


def average_separable(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """Average pooling as a sum over the window rows, then over the window columns."""
    spec = structure.spec
    rows, cols = axis_runs(structure.taps)
    _, channels, _, width = spec.input_shape
    out_height = spec.output_shape[2]
    between = f"(batch, {channels}, {out_height}, {width})"
    forward = [f"{INDENT}rows = np.zeros({between}, dtype=x.dtype)  # each window's rows, summed"]
    for _, (outs, ins) in sorted(rows.items()):
        forward.append(
            statement(INDENT, _axis_region("rows", outs, 2), "+=", [_axis_region("x", ins, 2)], "")
        )
    forward.append(f"{INDENT}out[...] = 0")
    for _, (outs, ins) in sorted(cols.items()):
        target, source = _axis_region("out", outs, 3), _axis_region("rows", ins, 3)
        forward.append(statement(INDENT, target, "+=", [source], ""))
    blocks = structure.rule.blocks()
    for block_rows, block_cols, divisor in blocks:
        if divisor != 1:
            windows = _region(printer, "out", spec.output_shape, block_rows, block_cols)
            forward.append(f"{INDENT}{windows} /= {divisor}")
    backward = _shares(structure, printer, blocks)
    backward.append(f"{INDENT}cols = np.zeros({between}, dtype=share.dtype)  # spread over columns")
    for _, (outs, ins) in sorted(cols.items()):
        target, source = _axis_region("cols", ins, 3), _axis_region("share", outs, 3)
        backward.append(statement(INDENT, target, "+=", [source], ""))
    backward.append(f"{INDENT}grad_x[...] = 0")
    for _, (outs, ins) in sorted(rows.items()):
        target, source = _axis_region("grad_x", ins, 2), _axis_region("cols", outs, 2)
        backward.append(statement(INDENT, target, "+=", [source], ""))
    return KernelCode(flatten(forward), flatten(backward))


# -- unrolled -------------------------------------------------------------------------------------


def average_unrolled(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """Straight-line average pooling: the derived sums of ``x / d`` of one sample, every sample
    at once."""
    spec = structure.spec
    expressions = structure.sample_expressions()
    forward = [unpack_rows("x", spec.input_shape, "x")]
    forward += assign_entries(printer, "out", expressions["output"], rows=True, grouped=False)
    backward = [*_mean_line(spec), unpack_rows("grad_out", spec.output_shape, "g")]
    backward += assign_entries(printer, "grad_x", expressions["X"], rows=True, grouped=False)
    return KernelCode(flatten(forward), flatten(backward), _UNROLLED_NOTES)


_UNROLLED_NOTES = [
    "Names: x_c_h_w is x[:, c, h, w] and g_c_i_j is grad_out[:, c, i, j], every sample at",
    "once (Python scalars for a batch of one).",
]


def extreme_unrolled(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """Straight-line max or min pooling, partial by partial as derived."""
    spec = structure.spec
    maps = structure.sample_maps()
    tensors = Tensors.for_layer(structure.sample_spec)
    forward = [unpack_rows("x", spec.input_shape, "x")]
    for index, window in maps.forward.items():
        target = entry_target("out", index[1:], True)
        expr = extreme_expression(window, tensors)
        if window.extreme is None:
            forward.append(f"{INDENT}{target} = {printer.doprint(expr)}")
        else:
            function, items = printer.extreme_function(expr), printer.extreme_items(expr)
            forward.append(list_call(INDENT, target, function, items))
    backward = [
        *_mean_line(spec),
        unpack_rows("grad_out", spec.output_shape, "g"),
        unpack_rows("x", spec.input_shape, "x"),
    ]
    for index, partials in maps.grads["X"].items():
        operands = []
        for partial in partials:
            upstream = printer.doprint(tensors.G[partial.upstream])
            if not partial.relations:  # the window's only cell: it takes the whole gradient
                operands.append(upstream)
                continue
            cell = tensors.X[partial.cell]
            window = "_".join(map(str, partial.upstream[1:]))
            wins = f"{printer.doprint(cell)}_wins_{window}"
            relations = [
                printer.doprint(RELATIONAL_NODES[operator](cell, tensors.X[other], evaluate=False))
                for other, operator in partial.relations
            ]
            if len(relations) > 1:
                relations = [f"({relation})" for relation in relations]
            backward.append(statement(INDENT, wins, "=", relations, " & "))
            operand = f"{upstream} * {wins}"
            if partial.ties_with is not None:
                ties = f"{printer.doprint(cell)}_ties_{window}"
                equal = [
                    f"({printer.doprint(Eq(cell, tensors.X[other], evaluate=False))})"
                    for other in partial.ties_with
                ]
                backward.append(statement(INDENT, ties, "=", ["1", *equal], " + "))
                operand += f" / {ties}"
            operands.append(operand)
        target = entry_target("grad_x", index[1:], True)
        if operands:
            backward.append(statement(INDENT, target, "=", operands, " + "))
        else:
            backward.append(f"{INDENT}{target} = 0")
    notes = [
        *_UNROLLED_NOTES,
        "x_c_h_w_wins_c_i_j: the derived condition under which cell (h, w) receives window",
        "(i, j)'s gradient"
        + (
            "; x_c_h_w_ties_c_i_j: how many cells tie with it."
            if structure.rule.ties == "split"
            else "."
        ),
    ]
    return KernelCode(flatten(forward), flatten(backward), notes)


def _window_sizes(structure: Structure) -> list[int]:
    return [len(cells) for cells in cells_by_window(structure.taps).values()]


def average_unrolled_terms(structure: Structure) -> int:
    """Terms an unrolled average pool module prints: each link twice (forward, dL/dX)."""
    return 2 * sum(_window_sizes(structure)) * structure.spec.input_shape[1]


def extreme_unrolled_terms(structure: Structure) -> int:
    """Terms an unrolled max or min pool module prints, counted from the taps.

    A window of ``k`` cells prints its ``k`` cells, and per cell the upstream value and
    ``k - 1`` relations (twice as many under ``split``, whose shares compare the cells again).
    """
    channels = structure.spec.input_shape[1]
    per_relation = 2 if structure.rule.ties == "split" else 1
    return channels * sum(k + k * (1 + (k - 1) * per_relation) for k in _window_sizes(structure))


# -- the entries ----------------------------------------------------------------------------------


def legend(spec) -> Legend:
    """How a pool module's docstring names the derived layer and its symbols."""
    return Legend("", "x_n_c_h_w input, g_n_c_i_j dL/dO", "window position")


def _pool(reading: Reading, strategies: dict, unrolled_terms) -> KindCodegen:
    return KindCodegen(
        reading=reading,
        strategies=strategies,
        template="pool.py.jinja",
        legend=legend,
        forward_arguments=("x",),
        backward_arguments=("x", "grad_out"),
        unrolled_terms=unrolled_terms,
    )


_EXTREME = _pool(
    Reading(
        batch_and_channels_cut, read_extreme, recover_routing, extreme_maps, extreme_expression
    ),
    {"unrolled": extreme_unrolled, "taps": extreme_taps},
    extreme_unrolled_terms,
)

#: Layer type -> how the generator reads and writes it.
TABLE = {
    "maxpool2d": _EXTREME,
    "minpool2d": _EXTREME,
    "avgpool2d": _pool(
        Reading(batch_and_channels_cut, IndexMaps.of, recover_average, average_maps, expression),
        {"unrolled": average_unrolled, "taps": average_taps, "separable": average_separable},
        average_unrolled_terms,
    ),
}

#: This kind's modules in the catalog of ``generated/``, in the order the docs list them.
CATALOG = (
    CatalogModule(
        MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)),
        "unrolled",
        why="the notes' pooling example: 4x4 input, 2x2 window, stride 2 (ties: first, PyTorch)",
    ),
    CatalogModule(
        MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="split"),
        "unrolled",
        why="the notes' pooling example with tied maxima sharing the gradient",
    ),
    CatalogModule(
        MaxPool2d(input_shape=(64, 6, 24, 24), kernel=(2, 2)),
        "taps",
        ("float32", "float64"),
        why="LeNet-5 S2 (as max pooling) at batch 64",
    ),
    CatalogModule(
        MaxPool2d(input_shape=(64, 16, 8, 8), kernel=(2, 2)),
        "taps",
        ("float32", "float64"),
        why="LeNet-5 S4 (as max pooling) at batch 64",
    ),
    CatalogModule(
        AvgPool2d(input_shape=(64, 16, 16, 16), kernel=(3, 3), stride=2, padding=1),
        "separable",
        ("float32", "float64"),
        why="3x3 stride-2 overlapping average pool, padding 1 counted (PyTorch's default)",
    ),
    CatalogModule(
        AvgPool2d(
            input_shape=(64, 16, 16, 16),
            kernel=(3, 3),
            stride=2,
            padding=1,
            count_include_pad=False,
        ),
        "separable",
        ("float32", "float64"),
        why="the same, dividing by the real cells only: divisors vary near the border",
    ),
    CatalogModule(
        MinPool2d(input_shape=(64, 16, 12, 12), kernel=(3, 3), stride=1, padding=1, ties="all"),
        "taps",
        ("float32", "float64"),
        why="3x3 stride-1 min pool (an erosion), every tied minimum receiving (the notes' mask)",
    ),
)
