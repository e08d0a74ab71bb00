"""Figures of how the gradient flows through a layer, drawn with matplotlib.

Every mark is read off the derivation, never recomputed from the layer's options: a window's
footprint is the set of input cells its output entry has a partial for, a cell's count is the
number of output entries that reach it (0: a stride gap, no gradient), the routing of a max or
min pool is its ``Piecewise`` partials evaluated at a sample input, and the rotated kernel is
``identities.rot180`` of the weight's symbols. The panels a layer gets follow from what it has
(a window, a weight, piecewise partials), not from its type.

>>> from symcnn import Conv2d, derive
>>> d = derive(Conv2d(input_shape=(4, 4), kernel=2, stride=2, padding=1))
>>> reach(d).tolist()
[[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]
>>> [panel.title for panel in panels(d)]
['windows on the input', 'gradient reaching each input cell', 'full-convolution view']
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from sympy import Piecewise, Rational, Symbol

from ..derive import Derivation
from ..identities import rot180
from ..tensors import parse_symbol

#: Inputs larger than this (height or width) are refused: the figure would be unreadable.
MAX_SIDE = 32
#: Cells get their numbers written in them up to this side.
LABEL_SIDE = 12
FORMATS = ("png", "svg")

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _name(letter: str, *index: int) -> str:
    """``X₁₂``: a 1-based entry name, as the notes write it."""
    return letter + "".join(str(i + 1) for i in index).translate(_SUBSCRIPTS)


@dataclass(frozen=True)
class Panel:
    """One panel of a figure: its title and what it draws (``kind``, with its data)."""

    title: str
    kind: str
    data: Mapping[str, Any]


def _first_image_entries(derivation: Derivation) -> list:
    """The output entries of the first sample (and, for NCHW, the first output channel)."""
    return [
        entry
        for entry in derivation.entries
        if entry.index[0] == 0 and (len(entry.index) < 4 or entry.index[1] == 0)
    ]


def _input_cells(entry) -> dict[tuple[int, ...], Any]:
    """The input cells (row, column) an entry has a partial for, with that partial."""
    cells = {}
    for symbol, partial in entry.partials:
        parsed = parse_symbol(symbol)
        if parsed is not None and parsed[0] == "X" and parsed[1][0] == 0:
            cells[tuple(parsed[1][-2:])] = partial
    return cells


def _spatial(derivation: Derivation) -> tuple[int, int]:
    shape = derivation.spec.input_shape
    height, width = (1, shape[-1]) if len(shape) < 3 else shape[-2:]
    for axis, size in (("height", height), ("width", width)):
        if size > MAX_SIDE:
            raise ValueError(
                f"input_shape={list(shape)} is not valid for a figure: its {axis} {size} is"
                f" more than {MAX_SIDE} cells; draw a smaller layer (the pattern is the same)"
            )
    return height, width


def reach(derivation: Derivation) -> np.ndarray:
    """How many output entries (first sample, first output channel) reach each input cell."""
    height, width = _spatial(derivation)
    counts = np.zeros((height, width), dtype=int)
    for entry in _first_image_entries(derivation):
        for row, column in _input_cells(entry):
            counts[row if len(derivation.spec.input_shape) > 2 else 0, column] += 1
    return counts


def sample_values(derivation: Derivation) -> dict[Symbol, Rational]:
    """A fixed sample input, distinct values in each small window: ``(7k mod 10) - 3``."""
    values = {}
    for position, symbol in enumerate(derivation.tensors.X.flat):
        values[symbol] = Rational((7 * position) % 10 - 3)
    return values


def _routing(derivation: Derivation, values: Mapping[Symbol, Any]) -> dict:
    """Who receives each output's gradient at ``values``: (output, cell) -> share."""
    exact = {symbol: Rational(Fraction(str(value))) for symbol, value in values.items()}
    shares = {}
    for entry in _first_image_entries(derivation):
        for cell, partial in _input_cells(entry).items():
            share = partial.subs(exact)
            if share != 0:
                shares[(tuple(entry.index[-2:]), cell)] = Fraction(str(share))
    return shares


def panels(derivation: Derivation, values: Mapping[Symbol, Any] | None = None) -> list[Panel]:
    """The panels of a derivation's figure, in the order they are drawn."""
    spec = derivation.spec
    height, width = _spatial(derivation)
    window = spec.window
    piecewise = any(
        partial.has(Piecewise) for entry in derivation.entries for _, partial in entry.partials
    )
    chosen = dict(sample_values(derivation) if values is None else values)
    grid = np.array(
        [[chosen.get(x, 0) for x in row] for row in _first_channel(derivation)], dtype=object
    )
    found: list[Panel] = []
    if window is not None:
        entries = _first_image_entries(derivation)
        footprints = [
            (_name("O", *entry.index[-2:]), sorted(_input_cells(entry))) for entry in entries[:2]
        ]
        found.append(
            Panel(
                "windows on the input",
                "footprints",
                {"size": (height, width), "padding": window.padding, "footprints": footprints},
            )
        )
        found.append(
            Panel(
                "gradient reaching each input cell",
                "reach",
                {"size": (height, width), "padding": window.padding, "counts": reach(derivation)},
            )
        )
    if piecewise:
        found.append(
            Panel(
                "routing at a sample input" if values is None else "routing at the given input",
                "routing",
                {"size": grid.shape, "values": grid, "shares": _routing(derivation, chosen)},
            )
        )
    if "W" in spec.parameters() and derivation.tensors.W is not None:
        kernel = derivation.tensors.W[0, 0]
        found.append(
            Panel(
                "full-convolution view",
                "kernel",
                {"kernel": _labels("W", kernel), "rotated": _labels("W", rot180(kernel))},
            )
        )
    return found


def _first_channel(derivation: Derivation) -> np.ndarray:
    x = derivation.tensors.X
    return x[0, 0] if x.ndim == 4 else x[:1].reshape(1, -1) if x.ndim <= 2 else x[0].reshape(1, -1)


def _labels(letter: str, symbols: np.ndarray) -> list[list[str]]:
    return [[_name(letter, *_index(s)[-2:]) for s in row] for row in symbols]


def _index(symbol: Symbol) -> tuple[int, ...]:
    parsed = parse_symbol(symbol)
    if parsed is None:
        raise ValueError(f"{symbol} is not a tensor entry")
    return parsed[1]


def title(derivation: Derivation) -> str:
    """The layer, and which part of it is drawn when it has more than one image or channel."""
    spec = derivation.spec
    images = len(spec.input_shape) == 4
    channels = images and (spec.input_shape[1] > 1 or spec.output_shape[1] > 1)
    part = [
        *(["first sample"] if spec.input_shape[0] > 1 else []),
        *(["first channel"] if channels else []),
    ]
    return spec.describe() + (f" ({', '.join(part)})" if part else "")


# -- the style every figure of symcnn shares ------------------------------------------------------

#: The colours: blue for what a window reads or how much gradient flows, red for the second
#: window and for a stride gap, green for a routed gradient, greys for the grid and the padding.
BLUE, RED, GREEN, GREY, LIGHT_GREY = "#1f77b4", "#d62728", "#2ca02c", "#999999", "#dddddd"
#: Sizes of the text, as the layer figures set them; the plots (the benchmark's, the digits loss
#: curve) take them from here, so that every figure reads alike.
STYLE: dict[str, Any] = {
    "axes.titlesize": 10,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.2,
}
#: Dots per inch of every saved figure.
DPI = 110


def styled_figure(figsize: tuple[float, float]):
    """A matplotlib ``Figure`` in symcnn's style: made without pyplot (no global state, no
    window), laid out by matplotlib's constrained layout, its colours cycling through
    :data:`BLUE`, :data:`RED`, :data:`GREEN`, :data:`GREY`.

    Draw inside :func:`style`, which sets the text sizes and colours of what is drawn.
    """
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def style():
    """The rc settings of :data:`STYLE` and the colour cycle, for the ``with`` block."""
    import matplotlib
    from cycler import cycler

    return matplotlib.rc_context(
        {**STYLE, "axes.prop_cycle": cycler(color=[BLUE, RED, GREEN, GREY])}
    )


def save_figure(fig, target, format: str = "png") -> None:
    """Save ``fig`` as every figure of symcnn is saved: at :data:`DPI`, without the software
    name or a date, so that the same figure gives the same bytes."""
    import matplotlib

    metadata = {"Software": None} if format == "png" else {"Date": None}
    with matplotlib.rc_context({"svg.hashsalt": "symcnn", "svg.fonttype": "none"}):
        fig.savefig(target, format=format, metadata=metadata, dpi=DPI)


# -- drawing --------------------------------------------------------------------------------------


def figure(derivation: Derivation, values: Mapping[Symbol, Any] | None = None):
    """Draw how the gradient flows through a derived layer.

    Parameters
    ----------
    derivation : Derivation
        What :func:`symcnn.derive` returned.
    values : mapping of input symbol to number, optional
        The input at which a max or min pool's routing is drawn (default: a fixed sample).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per view: the windows' footprints on the (padded) input, the number of
        outputs reaching each input cell (0 is a stride gap), a pool's routing at the sample
        input, and the kernel with its 180-degree rotation for the full-convolution view.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # an optional dependency: say how to get it
        raise ValueError(
            "figures need matplotlib: pip install 'symcnn[figures]' (or matplotlib)"
        ) from None
    views = panels(derivation, values)
    if not views:
        views = [Panel("input", "values", {"values": _first_channel(derivation)})]
    fig = styled_figure((4.2 * len(views), 5.0))
    axes = fig.subplots(1, len(views), squeeze=False)[0]
    for ax, panel in zip(axes, views, strict=True):
        _DRAW[panel.kind](ax, panel.data)
        ax.set_title(panel.title, fontsize=10)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title(derivation), fontsize=10)
    # A Figure made without pyplot has no rich display of its own: Jupyter shows this PNG.
    fig._repr_png_ = lambda: _png_bytes(fig)  # type: ignore[attr-defined]
    return fig


def _png_bytes(fig) -> bytes:
    out = io.BytesIO()
    save_figure(fig, out, "png")
    return out.getvalue()


def render(derivation: Derivation, format: str, values=None) -> bytes | str:
    """The figure as PNG bytes or SVG text; the same input gives the same bytes."""
    if format not in FORMATS:
        raise ValueError(f"format={format!r} is not valid: expected one of {', '.join(FORMATS)}")
    fig = figure(derivation, values)  # refuses first, in one line, when matplotlib is missing
    if format == "png":
        return _png_bytes(fig)
    out = io.BytesIO()
    save_figure(fig, out, "svg")
    return out.getvalue().decode()


def _grid(ax, height: int, width: int, padding=(0, 0)) -> None:
    """Cell borders over the input, with the zero padding as a grey ring."""
    ph, pw = padding
    ax.set_xlim(-pw - 0.5, width + pw - 0.5)
    ax.set_ylim(height + ph - 0.5, -ph - 0.5)
    for row in range(-ph, height + ph):
        for column in range(-pw, width + pw):
            pad = not (0 <= row < height and 0 <= column < width)
            ax.add_patch(_square(row, column, LIGHT_GREY if pad else "white", GREY))


def _square(row, column, face, edge, **style):
    from matplotlib.patches import Rectangle

    return Rectangle((column - 0.5, row - 0.5), 1, 1, facecolor=face, edgecolor=edge, **style)


COLOURS = (BLUE, RED)


def _draw_footprints(ax, data) -> None:
    height, width = data["size"]
    _grid(ax, height, width, data["padding"])
    for number, (name, cells) in enumerate(data["footprints"]):
        colour = COLOURS[number % len(COLOURS)]
        for row, column in cells:
            ax.add_patch(_square(row, column, colour, colour, alpha=0.35))
        if cells:
            row, column = cells[0]
            ax.text(column, row, name, ha="center", va="center", fontsize=9, color=colour)
    ax.set_xlabel("the cells the first two outputs read (grey: zero padding)", fontsize=8)


def _draw_reach(ax, data) -> None:
    height, width = data["size"]
    counts = data["counts"]
    _grid(ax, height, width, data["padding"])
    top = max(int(counts.max()), 1)
    for row in range(height):
        for column in range(width):
            count = int(counts[row, column])
            if count == 0:
                ax.add_patch(_square(row, column, "white", RED, hatch="//"))
            else:
                ax.add_patch(_square(row, column, BLUE, GREY, alpha=count / top * 0.6))
            if max(height, width) <= LABEL_SIDE:
                ax.text(column, row, str(count), ha="center", va="center", fontsize=9)
    ax.set_xlabel("outputs reaching each cell (hatched: no gradient)", fontsize=8)


def _draw_routing(ax, data) -> None:
    height, width = data["size"]
    values = data["values"]
    _grid(ax, height, width)
    routed: dict[tuple[int, int], list[str]] = {}
    for (output, cell), share in sorted(data["shares"].items()):
        part = "" if share == 1 else f"{share}·"
        routed.setdefault(cell, []).append(part + "∂L/∂" + _name("O", *output))
    for row in range(height):
        for column in range(width):
            if (row, column) in routed:
                ax.add_patch(_square(row, column, GREEN, GREEN, alpha=0.35))
            label = str(values[row, column])
            if (row, column) in routed and max(height, width) <= 6:
                label += "\n" + "\n".join(routed[row, column])
            ax.text(column, row, label, ha="center", va="center", fontsize=7)
    ax.set_xlabel("green: the cells the gradient reaches at these values", fontsize=8)


def _draw_kernel(ax, data) -> None:
    kernel, rotated = data["kernel"], data["rotated"]
    rows, columns = len(kernel), len(kernel[0])
    ax.set_xlim(-0.5, 2 * columns + 0.5)
    ax.set_ylim(rows - 0.5, -1.2)
    for offset, labels, name in ((0, kernel, "W"), (columns + 1, rotated, "rot180(W)")):
        for row in range(rows):
            for column in range(columns):
                ax.add_patch(_square(row, column + offset, "white", GREY))
                ax.text(column + offset, row, labels[row][column], ha="center", va="center")
        ax.text(offset + (columns - 1) / 2, -0.75, name, ha="center", fontsize=9)
    ax.set_xlabel("∂L/∂X = full_conv(∂L/∂O, rot180(W))", fontsize=8)


def _draw_values(ax, data) -> None:
    values = data["values"]
    height, width = values.shape
    _grid(ax, height, width)
    for row in range(height):
        for column in range(width):
            ax.text(column, row, str(values[row, column]), ha="center", va="center", fontsize=7)
    ax.set_xlabel("an elementwise layer: each cell's gradient is its own", fontsize=8)


_DRAW = {
    "footprints": _draw_footprints,
    "reach": _draw_reach,
    "routing": _draw_routing,
    "kernel": _draw_kernel,
    "values": _draw_values,
}
