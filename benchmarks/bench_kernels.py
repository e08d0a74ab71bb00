"""The kernel suite: generated modules against the runtime and PyTorch, over the issue's shapes.

    python benchmarks/bench_kernels.py [--repeat 7] [--output docs/kernel-speed.md]

For each of the nine layers of :data:`LAYERS`, in float32 and float64, the forward pass and
the forward plus backward pass (every gradient) are timed for three implementations on the same
seeded inputs: the generated module (``symcnn.codegen.generate.generate`` with ``--strategy
auto``, what ``symcnn generate`` writes), the generic runtime (``symcnn.runtime``) and
PyTorch's CPU ops when PyTorch is importable (tensors made before timing; the backward through
``torch.autograd.grad``). Every generated result is checked against the runtime first.

Timing: the implementations of one measurement take turns (interleaved), each turn the best of
a few calls, and the figure is the median over ``--repeat`` turns; every ratio compares
figures of the same run. The suite runs twice, each time in a fresh child process: with one
thread (``OPENBLAS_NUM_THREADS=1`` and its kin, ``torch.set_num_threads(1)``) and with the
machine's default threads, since two BLAS thread pools in one process distort each other. Each
process also measures its BLAS GEMM rate (``np.matmul`` of two 1024x1024 matrices, both
dtypes), and the convolutions' achieved GFLOP/s are reported as a share of it; the same
process times the forward's own matrix product alone (the operands the generated forward
multiplies, contiguous), which bounds what the generated forward can reach.

The report (the tables, the targets of the issue and where each stands, the command and the
machine) goes to ``--output``, and a plot beside it (``.png``, with matplotlib).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def layers():
    """The nine layers of the issue, in its order."""
    from symcnn.layers.conv2d.spec import Conv2d
    from symcnn.layers.pool.spec import AvgPool2d, MaxPool2d

    return [
        Conv2d(input_shape=(1, 1, 3, 3), kernel=2),
        Conv2d(input_shape=(1, 1, 28, 28), out_channels=6, kernel=5),
        Conv2d(input_shape=(64, 1, 28, 28), out_channels=6, kernel=5),
        Conv2d(input_shape=(64, 6, 12, 12), out_channels=16, kernel=5),
        Conv2d(input_shape=(32, 3, 32, 32), out_channels=16, kernel=3, padding=1),
        Conv2d(input_shape=(32, 16, 32, 32), out_channels=32, kernel=3, stride=2, padding=1),
        Conv2d(input_shape=(8, 64, 56, 56), out_channels=64, kernel=3, padding=1),
        MaxPool2d(input_shape=(64, 6, 24, 24), kernel=2, stride=2),
        AvgPool2d(input_shape=(32, 16, 32, 32), kernel=3, stride=2),
    ]


def label(spec) -> str:
    shape = "x".join(map(str, spec.input_shape))
    if spec.type == "conv2d":
        extra = f" -> {spec.out_channels} {spec.kernel[0]}x{spec.kernel[1]}"
        extra += f" stride {spec.stride[0]}" if spec.stride != (1, 1) else ""
        extra += f" pad {spec.padding[0]}" if spec.padding != (0, 0) else ""
        return f"conv2d {shape}{extra}"
    return f"{spec.type} {shape} {spec.kernel[0]}x{spec.kernel[1]} stride {spec.stride[0]}"


def forward_flops(spec) -> int | None:
    """Multiply-adds of the forward pass, times 2 (a convolution; None for a pool)."""
    if spec.type != "conv2d":
        return None
    out_channels, in_per_group, kh, kw = spec.weight_shape
    batch, _, out_height, out_width = spec.output_shape
    return 2 * batch * out_channels * out_height * out_width * in_per_group * kh * kw


# -- one process: every measurement at one thread setting ----------------------------------------


def best_of(run, calls: int) -> float:
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def interleaved(runs: dict, repeat: int) -> dict[str, float]:
    """Median over ``repeat`` turns of each run's best of a few calls, the runs taking turns."""
    import numpy as np

    for run in runs.values():
        run()  # warm up (and allocate)
    calls = max(1, min(5, int(0.02 / max(best_of(next(iter(runs.values())), 1), 1e-7))))
    samples = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            samples[name].append(best_of(run, calls))
    return {name: float(np.median(times)) for name, times in samples.items()}


def gemm_rate(dtype: str, repeat: int) -> float:
    """GFLOP/s of ``np.matmul`` on two 1024x1024 matrices (median of interleaved bests)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((1024, 1024)).astype(dtype) for _ in range(2))
    out = np.empty((1024, 1024), dtype=dtype)
    seconds = interleaved({"gemm": lambda: np.matmul(a, b, out=out)}, repeat)["gemm"]
    return 2 * 1024**3 / seconds / 1e9


def forward_product(spec, dtype: str):
    """The forward's own matrix product alone, on contiguous operands of its sizes."""
    import numpy as np

    out_channels, in_per_group, kh, kw = spec.weight_shape
    batch, _, out_height, out_width = spec.output_shape
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((out_channels, in_per_group * kh * kw)).astype(dtype)
    columns = rng.standard_normal((in_per_group * kh * kw, batch * out_height * out_width))
    columns = columns.astype(dtype)
    return lambda: weights @ columns


def torch_runs(spec, arrays, threads: int | None):
    """PyTorch's forward and forward + backward of the layer, or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    if threads is not None:
        torch.set_num_threads(threads)
    functional = torch.nn.functional
    x = torch.from_numpy(arrays["x"]).requires_grad_(True)
    grad_out = torch.from_numpy(arrays["grad_out"])
    if spec.type == "conv2d":
        w = torch.from_numpy(arrays["w"]).requires_grad_(True)
        b = torch.from_numpy(arrays["b"]).requires_grad_(True)
        options = {"stride": spec.stride, "padding": spec.padding, "dilation": spec.dilation}

        def layer():
            return functional.conv2d(x, w, b, groups=spec.groups, **options)

        leaves = (x, w, b)
    else:
        pool = functional.max_pool2d if spec.type == "maxpool2d" else functional.avg_pool2d

        def layer():
            return pool(x, spec.kernel, spec.stride, spec.padding)

        leaves = (x,)

    def forward():
        with torch.no_grad():
            return layer()

    def both():
        return torch.autograd.grad(layer(), leaves, grad_out)

    return forward, both


def symcnn_runs(spec, kernels, arrays):
    """(forward, forward + backward) of the generated module (with a workspace, and for a
    convolution also without: its temporaries allocated anew each call) and of the runtime."""
    from symcnn import runtime

    x, grad_out, w, b = (arrays.get(name) for name in ("x", "grad_out", "w", "b"))
    if spec.type == "conv2d":  # as a training loop calls it: one workspace, kept between calls,
        space = {}  # and the backward told that x is the forward's (it may read its columns)
        generated = (
            lambda: kernels.forward(x, w, b, workspace=space),
            lambda: (
                kernels.forward(x, w, b, workspace=space),
                kernels.backward(x, w, grad_out, workspace=space, x_unchanged=True),
            ),
        )
        fresh = (
            lambda: kernels.forward(x, w, b),
            lambda: (kernels.forward(x, w, b), kernels.backward(x, w, grad_out)),
        )
    else:
        generated = (
            lambda: kernels.forward(x),
            lambda: (kernels.forward(x), kernels.backward(x, grad_out)),
        )
        fresh = None
    reference = (
        lambda: runtime.forward(spec, x, w, b),
        lambda: (runtime.forward(spec, x, w, b), runtime.backward(spec, x, grad_out, w)),
    )
    return generated, fresh, reference


def measure(threads: int | None, repeat: int) -> dict:
    """Every measurement of the suite in this process (its thread variables already set)."""
    import numpy as np

    from symcnn.codegen.generate import generate, load, random_arrays

    sys.path.insert(0, str(ROOT / "tests"))
    from codegen_helpers import compare_with_runtime

    rows = []
    load_at_start = load_average()
    rates = {dtype: gemm_rate(dtype, repeat) for dtype in ("float32", "float64")}
    for spec in layers():
        for dtype in ("float32", "float64"):
            module = generate(spec, dtype=dtype, strategy="auto")
            kernels = load(module)
            compare_with_runtime(kernels, spec, dtype)  # correct before it is timed
            arrays = random_arrays(spec, dtype, seed=0)
            generated, fresh, reference = symcnn_runs(spec, kernels, arrays)
            pytorch = torch_runs(spec, arrays, threads)
            for direction, index in (("forward", 0), ("forward+backward", 1)):
                runs = {"generated": generated[index], "runtime": reference[index]}
                if fresh is not None:
                    runs["fresh"] = fresh[index]
                if pytorch is not None:
                    runs["pytorch"] = pytorch[index]
                if direction == "forward" and spec.type == "conv2d":
                    runs["product"] = forward_product(spec, dtype)
                times = interleaved(runs, repeat)
                rows.append(
                    {
                        "layer": label(spec),
                        "dtype": dtype,
                        "direction": direction,
                        "strategy": module.strategy,
                        "flops": forward_flops(spec),
                        **{f"{name}_s": seconds for name, seconds in times.items()},
                    }
                )
    return {
        "threads": threads,
        "gemm_gflops": rates,
        "rows": rows,
        "numpy": np.__version__,
        "load": [load_at_start, load_average()],
    }


# -- the parent: two children, one report ---------------------------------------------------------


def run_child(threads: int | None, repeat: int) -> dict:
    env = dict(os.environ)
    for variable in THREAD_VARIABLES:
        env.pop(variable, None)
        if threads is not None:
            env[variable] = str(threads)
    argv = [sys.executable, __file__, "--child", str(threads or 0), "--repeat", str(repeat)]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"bench_kernels: the child with threads={threads} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def machine() -> str:
    try:
        import torch

        pytorch = f"PyTorch {torch.__version__}"
    except ImportError:
        pytorch = "PyTorch not importable"
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}; Python"
        f" {platform.python_version()}, NumPy {np.__version__}, {pytorch}"
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: other jobs run on it)."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a / b:.2f}"


def table(result: dict) -> list[str]:
    rates = result["gemm_gflops"]
    lines = [
        "| layer | dtype | pass | strategy | generated ms | without workspace ms | runtime ms"
        " | PyTorch ms | generated / PyTorch | runtime / generated"
        " | generated GFLOP/s (share of GEMM) |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        gen, ref, pt = row["generated_s"], row["runtime_s"], row.get("pytorch_s")
        fresh = "-" if "fresh_s" not in row else f"{row['fresh_s'] * 1e3:.3f}"
        torch_ms = "-" if pt is None else f"{pt * 1e3:.3f}"
        flops = row["flops"]
        if flops is not None:
            total = flops * (1 if row["direction"] == "forward" else 3)
            gflops = total / gen / 1e9
            share = f"{gflops:.1f} ({gflops / rates[row['dtype']]:.0%})"
        else:
            share = "-"
        lines.append(
            f"| {row['layer']} | {row['dtype']} | {row['direction']} | {row['strategy']}"
            f" | {gen * 1e3:.3f} | {fresh} | {ref * 1e3:.3f} | {torch_ms}"
            f" | {ratio(gen, pt)} | {ratio(ref, gen)} | {share} |"
        )
    return lines


def _headline(row: dict) -> bool:
    return row["dtype"] == "float32" and row["direction"] == "forward+backward"


def _product_bound(result: dict, layer: str) -> str:
    """What the matrix products alone cost on ``layer`` (float32), against PyTorch's time."""
    rows = [r for r in result["rows"] if r["layer"] == layer and r["dtype"] == "float32"]
    forward = next((r for r in rows if "product_s" in r), None)
    both = next((r for r in rows if r["direction"] == "forward+backward"), None)
    if forward is None or both is None or "pytorch_s" not in both:
        return ""
    products = 3 * forward["product_s"]
    head = (
        f" Its three matrix products alone (three times the forward's, measured: the same"
        f" flops each) take {products * 1e3:.1f} ms, {products / both['pytorch_s']:.2f}x"
        f" PyTorch's whole {both['pytorch_s'] * 1e3:.1f} ms"
    )
    if products >= both["pytorch_s"]:
        return head + ": NumPy's GEMM bounds any strategy built on it there."
    rest = both["generated_s"] - products
    return (
        head + f": the products are not what bounds it; the rest of the generated pass"
        f" (gathers, scatters, copies) takes {rest * 1e3:.1f} ms of its"
        f" {both['generated_s'] * 1e3:.1f} ms."
    )


def _floor(result: dict) -> dict[str, float] | None:
    """Each headline row's time with a convolution cut to its three matrix products alone
    (measured: three times the forward's product on the same run), the floor of any strategy
    built on NumPy's GEMM; a pool keeps its time. None without the products."""
    rows = [r for r in result["rows"] if r["dtype"] == "float32"]
    floors = {}
    for row in rows:
        if row["direction"] != "forward+backward":
            continue
        forward = next(
            (r for r in rows if r["layer"] == row["layer"] and "product_s" in r),
            None,
        )
        product = 3 * forward["product_s"] if forward is not None else None
        floors[row["layer"]] = row["generated_s"] if product is None else product
    return floors


def _mean_bound(result: dict, against: str) -> str:
    """What bounds a missed geometric-mean target: the mean with every convolution at its
    products' time, and the rows the rest of the generated pass costs most in."""
    floors = _floor(result)
    rows = [r for r in result["rows"] if _headline(r) and f"{against}_s" in r]
    if not floors or not rows:
        return ""
    if against == "pytorch":
        ratio = [min(floors[r["layer"]], r["generated_s"]) / r["pytorch_s"] for r in rows]
    else:
        ratio = [r["runtime_s"] / min(floors[r["layer"]], r["generated_s"]) for r in rows]
    floor = geometric_mean(ratio)
    excess = sorted(
        ((r["generated_s"] / min(floors[r["layer"]], r["generated_s"]), r["layer"]) for r in rows),
        reverse=True,
    )[:2]
    worst = ", ".join(f"{layer} ({value:.2f}x its products)" for value, layer in excess)
    met = floor <= 0.8 if against == "pytorch" else floor >= 2
    if met:
        verdict = (
            "the target would be met, so the copies around the products (gathers, scatters,"
            " layout changes) bound it"
        )
    else:
        verdict = (
            "still short of the target, so NumPy's GEMM (and the pools, kept at their times)"
            " bound it"
        )
    return (
        f" Measured bound: with every convolution cut to its three matrix products alone (the"
        f" rest of its pass free), the mean would be {floor:.2f}: {verdict}; the passes"
        f" furthest above their products: {worst}."
    )


def targets(result: dict) -> list[str]:
    """The issue's targets, each with the figure of this run (float32 forward+backward)."""
    rows = [
        r
        for r in result["rows"]
        if r["dtype"] == "float32" and r["direction"] == "forward+backward"
    ]
    lines = []
    if all("pytorch_s" in r for r in rows):
        ratios = [r["generated_s"] / r["pytorch_s"] for r in rows]
        mean = geometric_mean(ratios)
        worst = max(zip(ratios, (r["layer"] for r in rows), strict=True))
        small = ratios[:2]
        bound = _product_bound(result, worst[1])
        bound_mean = "" if mean <= 0.8 else _mean_bound(result, "pytorch")
        lines += [
            f"- Generated / PyTorch, geometric mean: **{mean:.2f}** (target at most 0.8:"
            f" {'met' if mean <= 0.8 else 'missed'}).{bound_mean}",
            f"- Slowest against PyTorch: {worst[1]} at **{worst[0]:.2f}x** (target no shape"
            f" above 1.5: {'met' if worst[0] <= 1.5 else 'missed'}).{bound}",
            f"- The two smallest: {small[0]:.2f} and {small[1]:.2f} (target below 1:"
            f" {'met' if max(small) < 1 else 'missed'}).",
        ]
    speedups = [r["runtime_s"] / r["generated_s"] for r in rows]
    mean = geometric_mean(speedups)
    bound_mean = "" if mean >= 2 else _mean_bound(result, "runtime")
    lines.append(
        f"- Runtime / generated, geometric mean: **{mean:.2f}x** (target at least 2:"
        f" {'met' if mean >= 2 else 'missed'}).{bound_mean}"
    )
    largest = next(
        r
        for r in result["rows"]
        if r["layer"].startswith("conv2d 8x64x56x56")
        and r["dtype"] == "float32"
        and r["direction"] == "forward"
    )
    rate = result["gemm_gflops"]["float32"]
    achieved = largest["flops"] / largest["generated_s"] / 1e9
    product = largest["flops"] / largest["product_s"] / 1e9
    share = 1 - largest["product_s"] / largest["generated_s"]
    rest = (
        f"so the gather of the columns takes {share:.0%} of the forward"
        if share > 0  # timed apart, the product alone can come out slower than the forward
        else "no faster than the whole forward in this run (the turns' noise): the product, not"
        " the gather, bounds it"
    )
    lines.append(
        f"- Forward of conv2d 8x64x56x56 -> 64 3x3 pad 1 (float32): **{achieved:.1f} GFLOP/s,"
        f" {achieved / rate:.0%}** of the measured GEMM rate {rate:.1f} GFLOP/s (target at least"
        f" 60%: {'met' if achieved / rate >= 0.6 else 'missed'}); its matrix product alone runs at"
        f" {product:.1f} GFLOP/s ({product / rate:.0%}), {rest}."
    )
    return lines


def report(results: list[dict], command: str, plot: str) -> str:
    lines = [
        "# Kernel speed: the generated modules against the runtime and PyTorch",
        "",
        "Written by `benchmarks/bench_kernels.py`; do not edit by hand. Command:",
        "",
        "```console",
        f"$ {command}",
        "```",
        "",
        f"Machine: {machine()}.",
        "",
        "The machine is shared: other jobs ran beside this one (two cores, several processes),"
        " so absolute times move between rows and runs; the ratios compare interleaved turns of"
        " the same figures. Load average (1, 5, 15 minutes) at the start and the end of each"
        " run: "
        + "; ".join(
            f"{'one thread' if r['threads'] == 1 else 'default threads'}"
            f" {r.get('load', ['?', '?'])[0]} -> {r.get('load', ['?', '?'])[1]}"
            for r in results
        )
        + ".",
        "",
        "Each figure is the median over interleaved turns (the implementations of one row take"
        " turns; each turn is the best of a few calls); every ratio compares figures of the same"
        " run. `generated` is what `symcnn generate --strategy auto` writes for the layer (its"
        " strategy is named), timed as a training step calls it: one workspace kept between"
        " calls, the backward told that x is the forward's (`x_unchanged=True`: it reads the"
        " columns the forward gathered); `without workspace` allocates every temporary anew and"
        " gathers the columns again. Every generated result is checked against the runtime"
        " before it is timed. GFLOP/s count 2 flops per multiply-add of the forward (three"
        " times that for forward+backward) and are given as a share of the GEMM rate measured"
        " in the same process. The one-thread and the default-thread runs are separate processes.",
        "",
    ]
    for result in results:
        threads = result["threads"]
        name = "One thread" if threads == 1 else f"Default threads ({os.cpu_count()} cores)"
        rates = result["gemm_gflops"]
        lines += [
            f"## {name}",
            "",
            f"BLAS GEMM rate (1024x1024 `np.matmul`): float32 {rates['float32']:.1f} GFLOP/s,"
            f" float64 {rates['float64']:.1f} GFLOP/s.",
            "",
            "Targets (float32, forward+backward):",
            "",
            *targets(result),
            "",
            *table(result),
            "",
        ]
    lines += [f"![generated / PyTorch per layer]({plot})", ""]
    return "\n".join(lines)


def draw(results: list[dict], path: Path) -> None:
    """Generated / PyTorch (float32, forward+backward) per layer, one bar per thread setting,
    in the style of symcnn's figures (:mod:`symcnn.printing.figure`)."""
    from symcnn.printing.figure import GREY, save_figure, style, styled_figure

    with style():
        figure = styled_figure((9, 4.5))
        axes = figure.subplots()
        width = 0.4
        labels: list[str] = []
        for offset, result in enumerate(results):
            rows = [
                r
                for r in result["rows"]
                if r["dtype"] == "float32" and r["direction"] == "forward+backward"
            ]
            values = [r["generated_s"] / r["pytorch_s"] for r in rows if "pytorch_s" in r]
            if not values:
                continue
            positions = [i + (offset - 0.5) * width for i in range(len(values))]
            name = "one thread" if result["threads"] == 1 else "default threads"
            axes.bar(positions, values, width, label=name)
            labels = [
                r["layer"].replace("conv2d ", "").replace(" stride", "\nstride") for r in rows
            ]
        axes.axhline(1.0, color="black", linewidth=0.8)
        axes.axhline(0.8, color=GREY, linestyle="--", linewidth=0.8, label="target mean 0.8")
        axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        axes.set_ylabel("generated time / PyTorch time")
        axes.set_title("float32, forward + backward (below 1: the generated module is faster)")
        axes.legend()
        save_figure(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="interleaved turns per figure")
    parser.add_argument("--output", default=str(ROOT / "docs" / "kernel-speed.md"))
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--from-json", default=None, help="re-render the report of an earlier run's JSON"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat={args.repeat} is not valid: expected an integer >= 1")
    sys.path.insert(0, str(ROOT))
    if args.child is not None:  # one thread setting, in this fresh process
        print(json.dumps(measure(args.child or None, args.repeat)))
        return
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
    else:
        results = [run_child(1, args.repeat), run_child(None, args.repeat)]
    output = Path(args.output)
    plot = output.with_suffix(".png")
    command = "python benchmarks/bench_kernels.py" + (
        f" --repeat {args.repeat}" if args.repeat != 7 else ""
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        draw(results, plot)
    except ImportError:  # matplotlib is optional: the report then has no plot
        plot = None
    text = report(results, command, plot.name if plot else "")
    if plot is None:
        text = text.replace("![generated / PyTorch per layer]()\n", "")
    output.write_text(text)
    if not args.from_json:
        output.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
