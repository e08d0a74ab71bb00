"""Time the generated kernels of the catalog against the runtime (and PyTorch's CPU conv, pools).

    python benchmarks/bench_generated.py [--repeat 20] [--output docs/generated-kernels.md]

For every catalog module (``generated/``), one forward plus one backward pass is timed for every
strategy that fits the layer (rendered in memory from the same proven structure), for the
generic runtime, and for PyTorch on the CPU when it is importable (tensors made before timing,
backward through ``torch.autograd.grad``). All run in the same process on the same seeded
inputs; every result is checked against the runtime before it is timed; each time is the best of
``--repeat`` runs. BLAS and PyTorch run on one thread unless OPENBLAS_NUM_THREADS says otherwise
(see ``bench_runtime.py`` for why: a shared machine makes multi-threaded timings erratic).

The table goes to ``--output`` (Markdown) and to stdout. The catalog's strategies were chosen
from this table (the fastest on the shape; ``--strategy auto`` makes the same measurement).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
for variable in THREAD_VARIABLES:
    os.environ.setdefault(variable, "1")

import numpy as np  # noqa: E402 (after the thread variables)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from symcnn import runtime  # noqa: E402
from symcnn.codegen.catalog import DIRECTORY, entries  # noqa: E402
from symcnn.codegen.generate import GeneratedModule, generate, load, random_arrays  # noqa: E402
from symcnn.codegen.naming import module_filename  # noqa: E402
from symcnn.codegen.strategies import STRATEGIES, applicable  # noqa: E402
from symcnn.codegen.structure import prove  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is optional: the table then has no PyTorch column
    torch = None


def best_time(run: Callable[[], object], repeat: int) -> float:
    run()  # warm up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def generated_runner(kernels, spec, arrays):
    if spec.type == "conv2d":
        x, w, b, g = arrays["x"], arrays["w"], arrays.get("b"), arrays["grad_out"]
        return lambda: (kernels.forward(x, w, b), kernels.backward(x, w, g))
    return lambda: (kernels.forward(arrays["x"]), kernels.backward(arrays["x"], arrays["grad_out"]))


def runtime_runner(spec, arrays):
    x, w, b, g = arrays["x"], arrays.get("w"), arrays.get("b"), arrays["grad_out"]
    return lambda: (runtime.forward(spec, x, w, b), runtime.backward(spec, x, g, w))


def torch_runner(spec, arrays):
    """PyTorch forward + autograd backward on tensors made beforehand, or None.

    Pools: ``max_pool2d`` and ``avg_pool2d`` (a min pool as ``-max_pool2d(-x)``). PyTorch routes
    a tied max to the first maximal cell, so it matches ``ties="first"`` only; the other tie
    rules are timed against it all the same, as the nearest PyTorch operation.
    """
    if torch is None:
        return None
    x = torch.from_numpy(arrays["x"]).requires_grad_()
    upstream = torch.from_numpy(arrays["grad_out"])
    if spec.reduction == "mean":
        upstream = upstream / spec.batch
    if spec.type == "conv2d":
        return _torch_conv2d(spec, arrays, x, upstream)
    operation = TORCH_POOLS[spec.type](spec)

    def run():
        return torch.autograd.grad(operation(x), [x], upstream)

    return run


def _torch_conv2d(spec, arrays, x, upstream):
    functional = torch.nn.functional
    w = torch.from_numpy(arrays["w"]).requires_grad_()
    b = torch.from_numpy(arrays["b"]).requires_grad_() if spec.bias else None
    leaves = [t for t in (x, w, b) if t is not None]
    options = {
        "stride": spec.stride,
        "padding": spec.padding,
        "dilation": spec.dilation,
        "groups": spec.groups,
    }

    def run():
        out = functional.conv2d(x, w, b, **options)
        return torch.autograd.grad(out, leaves, upstream)

    return run


def _max_pool(spec):
    return lambda x: torch.nn.functional.max_pool2d(x, spec.kernel, spec.stride, spec.padding)


def _min_pool(spec):
    return lambda x: -torch.nn.functional.max_pool2d(-x, spec.kernel, spec.stride, spec.padding)


def _avg_pool(spec):
    def pool(x):
        return torch.nn.functional.avg_pool2d(
            x, spec.kernel, spec.stride, spec.padding, count_include_pad=spec.count_include_pad
        )

    return pool


#: Pool type -> the PyTorch operation it is timed against.
TORCH_POOLS = {"maxpool2d": _max_pool, "minpool2d": _min_pool, "avgpool2d": _avg_pool}


def check(kernels, spec, arrays):
    """The generated forward and gradients equal the runtime's (float tolerance)."""
    x, w, b, g = arrays["x"], arrays.get("w"), arrays.get("b"), arrays["grad_out"]
    if spec.type == "conv2d":
        got = [kernels.forward(x, w, b), *kernels.backward(x, w, g)[: 3 if spec.bias else 2]]
    else:
        got = [kernels.forward(x), kernels.backward(x, g)]
    grads = runtime.backward(spec, x, g, w)
    want = [runtime.forward(spec, x, w, b), *(grads[k] for k in ("X", "W", "B") if k in grads)]
    tolerance = 1e-5 if x.dtype == np.float32 else 1e-12
    for actual, expected in zip(got, want, strict=True):
        scale = max(float(np.max(np.abs(expected))), 1.0)
        assert float(np.max(np.abs(actual - expected))) <= tolerance * scale


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs per timing (best kept)")
    parser.add_argument("--output", default=str(ROOT / "docs" / "generated-kernels.md"))
    args = parser.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    names = list(STRATEGIES)
    header = [
        "module",
        "catalog strategy",
        *(f"{name} ms" for name in names),
        "runtime ms",
        "runtime / generated",
    ]
    if torch is not None:
        header += ["PyTorch ms", "PyTorch / generated"]
    rows, slower = [], []
    for entry, dtype in entries():
        spec = entry.spec
        if spec.type != "conv2d" and spec.type not in TORCH_POOLS:
            continue  # this table times the convolutions and pools, whose signatures it calls
        structure = prove(spec)
        arrays = random_arrays(spec, dtype, seed=0)
        timings = {}
        for strategy in applicable(structure):
            module = generate(spec, dtype=dtype, strategy=strategy.name, structure=structure)
            kernels = load(module)
            check(kernels, spec, arrays)
            timings[strategy.name] = best_time(generated_runner(kernels, spec, arrays), args.repeat)
        on_disk = ROOT / DIRECTORY / module_filename(spec, dtype)
        kernels = load(GeneratedModule(on_disk.name, on_disk.read_text(), entry.strategy))
        check(kernels, spec, arrays)
        catalog_time = best_time(generated_runner(kernels, spec, arrays), args.repeat)
        reference = best_time(runtime_runner(spec, arrays), args.repeat)
        row = [
            f"`{on_disk.name}`",
            f"{entry.strategy} ({milliseconds(catalog_time)} ms)",
            *(milliseconds(timings[name]) if name in timings else "-" for name in names),
            milliseconds(reference),
            f"{reference / catalog_time:.1f}x",
        ]
        if torch is not None:
            run = torch_runner(spec, arrays)
            if run is None:
                row += ["-", "-"]
            else:
                torch_time = best_time(run, args.repeat)
                row += [milliseconds(torch_time), f"{torch_time / catalog_time:.1f}x"]
        rows.append(row)
        if catalog_time > reference:
            slower.append(f"`{on_disk.name}` ({reference / catalog_time:.2f}x)")
        print(" | ".join(row), flush=True)
    write_table(Path(args.output), header, rows, slower, args)
    return 0


#: Everything from this line on in the output file is written by hand and kept on a rerun.
HAND_WRITTEN = "<!-- Written by hand below; benchmarks/bench_generated.py keeps it on a rerun. -->"


def write_table(
    path: Path, header: list[str], rows: list[list[str]], slower: list[str], args
) -> None:
    """Write the table (and the list of modules slower than the runtime) to ``path``, keeping
    the hand-written analysis that follows :data:`HAND_WRITTEN` in the file."""
    kept = ""
    if path.exists() and HAND_WRITTEN in (old := path.read_text(encoding="utf-8")):
        kept = old[old.index(HAND_WRITTEN) :]
    threads = ", ".join(f"{v}={os.environ.get(v)}" for v in THREAD_VARIABLES)
    versions = f"NumPy {np.__version__}" + (f", PyTorch {torch.__version__}" if torch else "")
    lines = [
        "# Generated kernels: timings",
        "",
        "One forward plus one backward pass, best of"
        f" {args.repeat} runs, in milliseconds; every kernel checked against the runtime first.",
        "The strategy columns time every strategy that fits the layer (`-`: refused, e.g. unrolled",
        "past its size limit); the catalog strategy is the one `generated/` uses, chosen as the",
        "fastest here (ties and noise within a few percent go to the simpler code). Ratios above",
        "1 mean the generated module is faster. All measured in the same run:",
        "",
        "    python benchmarks/bench_generated.py",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python"
        f" {platform.python_version()}, {versions}; {threads}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        "Slower than the runtime in this run (runtime / generated below 1): "
        + (", ".join(slower) if slower else "none")
        + ".",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + ("\n" + kept if kept else ""), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
