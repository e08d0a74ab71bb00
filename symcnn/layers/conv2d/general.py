"""conv2d's forward pass as an index formula: the gradients' general formulas derive from it.

``O[n, k, i, j] = Σ_{c, p, q} X[n, g(k)·C_g + c, S·i − P + D·p, S·j − P + D·q] · W[k, c, p, q]
+ B[k]``, with the layer's numbers substituted: ``C_g`` input channels per group, ``g(k) =
floor(k / K_g)`` the group of output channel ``k`` (``K_g`` output channels per group; with one
group the channel is ``c`` itself). Reads on the zero padding are written as the definition
writes them; :func:`symcnn.indexform.algebra.tighten` removes them.
"""

from __future__ import annotations

from sympy import S, floor

from ...indexform.algebra import Formula, Limit, Part, Read, index_symbol
from ...indexform.derivation import KindGeneral
from .spec import Conv2d


def forward(spec: Conv2d) -> Formula:
    """The forward formula of ``spec``, 0-based, its bounds the definition's (not yet tight)."""
    n, k, i, j, c, p, q = (index_symbol(name) for name in "nkijcpq")
    _, in_per_group, kh, kw = spec.weight_shape
    out_per_group = spec.out_channels // spec.groups
    (sh, sw), (ph, pw), (dh, dw) = spec.stride, spec.padding, spec.dilation
    channel = c if spec.groups == 1 else floor(k / out_per_group) * in_per_group + c
    cell = Read("X", (n, channel, sh * i - ph + dh * p, sw * j - pw + dw * q))
    tap = Read("W", (k, c, p, q))
    sums = (
        Limit(c, S.Zero, S(in_per_group - 1)),
        Limit(p, S.Zero, S(kh - 1)),
        Limit(q, S.Zero, S(kw - 1)),
    )
    parts = [Part(S.One, (cell, tap), sums)]
    if spec.bias:
        parts.append(Part(S.One, (Read("B", (k,)),)))
    free = tuple(
        Limit(v, S.Zero, S(size - 1))
        for v, size in zip((n, k, i, j), spec.output_shape, strict=True)
    )
    return Formula("O", free, tuple(parts))


TABLE = {
    Conv2d.type: KindGeneral(
        forward=forward,
        names={"X": ("n", "c", "h", "w"), "W": ("k", "c", "p", "q"), "B": ("k",)},
    )
}
