"""The grid of conv2d layers the derivation and the identities are tested over (not a test file).

The full product of the options (stride 1-3, padding 0-2, dilation 1-2, groups 1-2, bias on and
off, both reductions, four shape profiles) has 576 layers; testing them all would take minutes.
Instead :data:`CONV_GRID` holds a greedy *pairwise covering*: every pair of values of any two
options occurs together in at least one layer (so a bug that needs, say, stride 3 with dilation
2, or groups 2 with the mean reduction, is reached), plus a few non-square strides, paddings and
dilations, and seeded random picks up to about forty layers.
"""

from __future__ import annotations

import itertools
import random

from symcnn.layers.conv2d.spec import Conv2d

#: Shape profiles: (batch, in channels per group, out channels per group, H, W, kernel).
#: Inputs and kernels are non-square; batches and channel counts vary; every kernel fits the
#: smallest padded input with dilation 2.
PROFILES = (
    (1, 1, 1, 4, 5, (2, 3)),
    (2, 2, 1, 6, 4, (3, 2)),
    (3, 1, 2, 3, 6, (1, 3)),
    (2, 2, 2, 5, 3, (2, 2)),
)

FACTORS = {
    "stride": (1, 2, 3),
    "padding": (0, 1, 2),
    "dilation": (1, 2),
    "groups": (1, 2),
    "bias": (True, False),
    "reduction": ("sum", "mean"),
    "profile": tuple(range(len(PROFILES))),
}

#: Non-square options the square factors above never produce.
ASYMMETRIC = (
    {"stride": (1, 3), "padding": (2, 0), "dilation": (2, 1), "groups": 1, "profile": 1},
    {"stride": (3, 1), "padding": (0, 1), "dilation": (1, 2), "groups": 2, "profile": 0},
    {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 2), "groups": 2, "profile": 3},
)


def make_spec(stride, padding, dilation, groups, profile, bias=True, reduction="sum") -> Conv2d:
    batch, in_per_group, out_per_group, height, width, kernel = PROFILES[profile]
    return Conv2d(
        input_shape=(batch, in_per_group * groups, height, width),
        out_channels=out_per_group * groups,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
        reduction=reduction,
    )


def _pairs(combo: dict) -> set:
    items = sorted(combo.items())
    return {(a, b) for a, b in itertools.combinations(items, 2)}


def pairwise_covering(factors: dict) -> list[dict]:
    """A small list of combinations in which every pair of factor values occurs (greedy)."""
    names = list(factors)
    combos = [
        dict(zip(names, values, strict=True)) for values in itertools.product(*factors.values())
    ]
    uncovered = set().union(*(_pairs(combo) for combo in combos))
    chosen = []
    while uncovered:
        best = max(combos, key=lambda combo: len(_pairs(combo) & uncovered))
        chosen.append(best)
        uncovered -= _pairs(best)
    return chosen


def _grid(size: int = 40) -> list[Conv2d]:
    combos = pairwise_covering(FACTORS)
    names = list(FACTORS)
    everything = [dict(zip(names, v, strict=True)) for v in itertools.product(*FACTORS.values())]
    extra = [combo for combo in everything if combo not in combos]
    combos += random.Random(2).sample(extra, size - len(combos) - len(ASYMMETRIC))
    specs = [make_spec(**combo) for combo in combos]
    specs += [make_spec(**options) for options in ASYMMETRIC]
    return specs


CONV_GRID: list[Conv2d] = _grid()


def spec_id(spec: Conv2d) -> str:
    """A short readable test id: N C H W / K kernel / stride padding dilation groups / bias red."""
    n, c, h, w = spec.input_shape
    kh, kw = spec.kernel
    return (
        f"{n}x{c}x{h}x{w}-k{spec.out_channels}x{kh}x{kw}"
        f"-s{spec.stride[0]}{spec.stride[1]}-p{spec.padding[0]}{spec.padding[1]}"
        f"-d{spec.dilation[0]}{spec.dilation[1]}-g{spec.groups}"
        f"{'' if spec.bias else '-nobias'}-{spec.reduction}"
    )
