"""The forward rule of conv2d: its output entries and their local partials (``TABLE``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sympy import S

from ... import canonical
from ...rules import Entry, window_taps
from ...tensors import Tensors
from .spec import Conv2d


def conv2d_entries(spec: Conv2d, tensors: Tensors) -> Iterator[Entry]:
    """``O[n,k,i,j] = b[k] + sum_{c,p,q} X[n, c', i*S - P + p*D, j*S - P + q*D] * W[k,c,p,q]``.

    ``c'`` runs over the input channels of output channel ``k``'s group; taps that fall on the
    zero padding contribute nothing and are left out. The window of an entry is two slices of
    the symbol arrays (its real cells of X, the taps of W that read them), paired up entry by
    entry. Distinct taps read distinct input cells, so every symbol occurs in one term of an
    entry and the partials are read off the pairs (``d(x*w)/dx = w``), not recovered from the
    sum.
    """
    _, in_per_group, _, _ = spec.weight_shape
    out_per_group = spec.out_channels // spec.groups
    rows, cols = (
        window_taps(*axis)
        for axis in zip(
            spec.input_shape[2:],
            spec.output_shape[2:],
            spec.kernel,
            spec.stride,
            spec.padding,
            spec.dilation,
            strict=True,
        )
    )
    for n, k, i, j in itertools.product(*(range(size) for size in spec.output_shape)):
        cells, taps = [], []  # X and W symbols, paired in order
        if rows[i] is not None and cols[j] is not None:
            (row_taps, row_cells), (col_taps, col_cells) = rows[i], cols[j]
            first_channel = (k // out_per_group) * in_per_group
            channels = slice(first_channel, first_channel + in_per_group)
            cells = tensors.X[n, channels, row_cells, col_cells].ravel().tolist()
            taps = tensors.W[k, :, row_taps, col_taps].ravel().tolist()
        pairs = list(zip(cells, taps, strict=True))
        partials = pairs + list(zip(taps, cells, strict=True))  # dO/dx = w, dO/dw = x
        if spec.bias:
            pairs.append((tensors.B[k], S.One))
            partials.append((tensors.B[k], S.One))  # dO/db = 1
        yield Entry((n, k, i, j), canonical.sum_of_products(pairs), tuple(partials))


#: Layer type -> its forward rule (loaded by :mod:`symcnn.derive` through the registry).
TABLE = {Conv2d.type: conv2d_entries}
