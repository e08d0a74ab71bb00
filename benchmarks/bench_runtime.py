"""Time the runtime on LeNet's layers against a naive loop, and print a Markdown table.

    python benchmarks/bench_runtime.py [--batch 64] [--repeat 20]

Each layer runs forward + backward in float32. The baseline, measured in the same run, is the
loop people write first: one Python iteration per output position (n, i, j), with NumPy doing
the channels and taps of that one window. Both compute the same numbers (checked before timing);
each time is the best of several runs.

BLAS runs on one thread unless OPENBLAS_NUM_THREADS (or OMP_/MKL_NUM_THREADS) says otherwise:
that compares like with like against the single-threaded loop, and keeps the timings stable on
a shared machine, where a multi-threaded OpenBLAS stalls whenever a core is busy (measured
here: the same 16x4096 @ 4096x150 sgemm took 0.5 ms on one thread, 0.4 to 240 ms on two).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Before NumPy loads BLAS, which reads these once.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
for variable in THREAD_VARIABLES:
    os.environ.setdefault(variable, "1")

import numpy as np  # noqa: E402 (after the thread variables)

# Benchmark the checkout this script sits in, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from symcnn import runtime  # noqa: E402

# -- the naive baseline: one Python iteration per output position -------------------------------


def naive_conv2d_forward_backward(x, w, b, grad_out):
    """Forward and backward of a stride-1, unpadded conv2d, one output position at a time."""
    batch, _, _, _ = x.shape
    out_channels, _, kh, kw = w.shape
    _, _, out_height, out_width = grad_out.shape
    out = np.empty((batch, out_channels, out_height, out_width), dtype=x.dtype)
    grad_x = np.zeros_like(x)
    grad_w = np.zeros_like(w)
    for n in range(batch):
        for i in range(out_height):
            for j in range(out_width):
                window = x[n, :, i : i + kh, j : j + kw]
                out[n, :, i, j] = np.tensordot(w, window, axes=3) + b
                g = grad_out[n, :, i, j]
                grad_w += g[:, None, None, None] * window
                grad_x[n, :, i : i + kh, j : j + kw] += np.tensordot(g, w, axes=1)
    grad_b = grad_out.sum(axis=(0, 2, 3))
    return out, grad_x, grad_w, grad_b


def naive_maxpool2d_forward_backward(x, grad_out, kernel):
    """Forward and backward ("first" ties) of a max pool with stride = kernel, no padding."""
    batch, channels, _, _ = x.shape
    _, _, out_height, out_width = grad_out.shape
    out = np.empty(grad_out.shape, dtype=x.dtype)
    grad_x = np.zeros_like(x)
    rows = np.arange(channels)
    for n in range(batch):
        for i in range(out_height):
            for j in range(out_width):
                top, left = i * kernel, j * kernel
                window = x[n, :, top : top + kernel, left : left + kernel].reshape(channels, -1)
                first = window.argmax(axis=1)  # argmax picks the first maximum, row-major
                out[n, :, i, j] = window[rows, first]
                h, v = np.divmod(first, kernel)
                grad_x[n, rows, top + h, left + v] += grad_out[n, :, i, j]
    return out, grad_x


# -- the layers ---------------------------------------------------------------------------------


def lenet_layers(batch: int, rng: np.random.Generator) -> list[tuple[str, str, Callable, Callable]]:
    """(name, input, the runtime's forward+backward, the naive one), each returning its arrays."""
    layers = []
    for name, in_channels, out_channels, size in (
        ("conv 1->6, 5x5", 1, 6, 28),
        ("conv 6->16, 5x5", 6, 16, 12),
    ):
        x = rng.standard_normal((batch, in_channels, size, size), dtype=np.float32)
        w = rng.standard_normal((out_channels, in_channels, 5, 5), dtype=np.float32)
        b = rng.standard_normal(out_channels, dtype=np.float32)
        grad_out = rng.standard_normal((batch, out_channels, size - 4, size - 4), dtype=np.float32)

        def fast(x=x, w=w, b=b, grad_out=grad_out):
            return (runtime.conv2d_forward(x, w, b), *runtime.conv2d_backward(x, w, grad_out))

        def naive(x=x, w=w, b=b, grad_out=grad_out):
            return naive_conv2d_forward_backward(x, w, b, grad_out)

        layers.append((name, "x".join(map(str, x.shape)), fast, naive))

    x = rng.standard_normal((batch, 6, 24, 24), dtype=np.float32)
    grad_out = rng.standard_normal((batch, 6, 12, 12), dtype=np.float32)

    def fast_pool():
        return (
            runtime.maxpool2d_forward(x, kernel=2),
            runtime.maxpool2d_backward(x, grad_out, kernel=2),
        )

    def naive_pool():
        return naive_maxpool2d_forward_backward(x, grad_out, 2)

    layers.append(("maxpool 2x2", "x".join(map(str, x.shape)), fast_pool, naive_pool))
    return layers


def best_time(function: Callable, repeat: int) -> float:
    """The best wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=20, help="runs of the runtime (naive: 3)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    print(f"NumPy {np.__version__}, Python {platform.python_version()}, {platform.machine()}")
    print(", ".join(f"{variable}={os.environ[variable]}" for variable in THREAD_VARIABLES))
    print(f"float32, batch {args.batch}, forward + backward, best of {args.repeat} (naive: 3)\n")
    print("| layer | input | runtime (ms) | naive loop (ms) | speed-up |")
    print("|---|---|---:|---:|---:|")
    for name, shape, fast, naive in lenet_layers(args.batch, rng):
        # same numbers first: a fast wrong answer is not a speed-up
        for got, expected in zip(fast(), naive(), strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
        fast_time = best_time(fast, args.repeat)
        naive_time = best_time(naive, 3)
        print(
            f"| {name} | {shape} | {fast_time * 1e3:.2f} | {naive_time * 1e3:.1f} |"
            f" {naive_time / fast_time:.0f}x |"
        )


if __name__ == "__main__":
    main()
