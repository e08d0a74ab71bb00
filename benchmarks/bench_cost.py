"""Measure what one multiply term of each layer costs, against a convolution's, in one run.

    python3 benchmarks/bench_cost.py [--repeat 1]

``--max-terms`` bounds :attr:`symcnn.spec.Layer.work`: each layer's multiply terms weighted by
its ``term_cost`` (a product of two symbols counts 1), plus its symbols. The weights come from
this script: for a layer of each kind it times ``derive`` plus ``jsonio.dumps`` (what
``--format json`` does) and ``derive`` plus the text notes, per unit of work the spec counts
(its terms, before weighting), and divides by the same figure of a convolution measured in the
same process, so that the machine's speed and load cancel out. The declared weights follow the
JSON ratio (a convolution's cheapest format, so they err on the safe side); a declared weight
well below a measured ratio means the limit lets that layer run longer than a convolution.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark the checkout this script sits in, installed or not

from symcnn import jsonio, layers  # noqa: E402
from symcnn.derive import derive  # noqa: E402
from symcnn.printing.notes import Notes  # noqa: E402

#: (layer type, spec options): the baseline first, each a few seconds on a laptop.
CASES = [
    ("conv2d", {"input_shape": (1, 1, 32, 32), "out_channels": 6, "kernel": (5, 5)}),
    ("maxpool2d", {"input_shape": (1, 4, 24, 24), "kernel": (2, 2)}),
    ("avgpool2d", {"input_shape": (1, 4, 24, 24), "kernel": (2, 2)}),
    ("relu", {"input_shape": (10, 500)}),
    ("sigmoid", {"input_shape": (10, 200)}),
    ("tanh", {"input_shape": (10, 200)}),
    ("flatten", {"input_shape": (10, 5, 10, 10)}),
    ("linear", {"input_shape": (10, 100), "out_features": 50}),
    ("softmax_cross_entropy", {"input_shape": (10, 50)}),
    ("mse", {"input_shape": (10, 100)}),
]


def best_of(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()  # CPU time: other processes on the machine count less
        work()
        times.append(time.process_time() - start)
    return min(times)


def unweighted(spec) -> int:
    """The spec's work before its weight: what one ``term_cost`` multiplies."""
    return (spec.work - spec.symbol_count) // spec.term_cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    baseline = None
    for layer_type, options in CASES:
        spec = layers.entry("spec", layer_type)(**options)
        units = unweighted(spec)
        json_time = best_of(args.repeat, lambda s=spec: jsonio.dumps(derive(s, term_limit=10**12)))
        text_time = best_of(args.repeat, lambda s=spec: Notes(derive(s, term_limit=10**12)).text())
        per_unit = (json_time / units, text_time / units)
        baseline = baseline or per_unit
        pairs = zip(per_unit, baseline, strict=True)
        json_ratio, text_ratio = (mine / base for mine, base in pairs)
        print(
            f"{layer_type:22} {units:>9,} units  json {json_ratio:7.1f}x  text"
            f" {text_ratio:7.1f}x  declared {spec.term_cost}",
            flush=True,
        )


if __name__ == "__main__":
    main()
