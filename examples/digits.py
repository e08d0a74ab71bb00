"""Train a small CNN on scikit-learn's bundled handwritten digits with symcnn's generated code.

The network is ``examples/digits.toml``. The training step (forward, loss, every gradient, the
SGD update) is the module ``symcnn generate --net`` writes, loaded from a temporary folder;
nothing else computes a gradient. The split is fixed (scikit-learn's ``train_test_split``,
stratified, seed 0), the initialisation is PyTorch's default from seed 0, and the batches are
shuffled by a seeded generator: the same run gives the same numbers.

    python examples/digits.py                       # full run, writes docs/digits-loss.png
    python examples/digits.py --check-runtime 20    # also: the runtime's losses, step by step

The last line printed is ``test accuracy: 0.9xx``. Needs scikit-learn and matplotlib
(``pip install -e '.[examples]'``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from symcnn.network import runtime as network_runtime
from symcnn.network.codegen import generate_network
from symcnn.network.spec import load_network

HERE = Path(__file__).resolve().parent
NETWORK = HERE / "digits.toml"
FIGURE = HERE.parent / "docs" / "digits-loss.png"


def load_generated(folder: Path):
    """Generate the network's module and its kernels into ``folder`` and import it."""
    net = load_network(NETWORK)
    command = ["symcnn", "generate", "--net", "examples/digits.toml", "-o", "DIR"]
    for name, text in generate_network(net, stem="digits", command=command).items():
        (folder / name).write_text(text)
    spec = importlib.util.spec_from_file_location("digits", folder / "digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return net, module


def data(train_size: int | None):
    """The digits scaled to [0, 1], as (N, 1, 8, 8) images, split 80/20 with a fixed seed."""
    digits = load_digits()
    images = (digits.images / 16.0).reshape(-1, 1, 8, 8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.2, random_state=0, stratify=digits.target
    )
    if train_size is not None:
        x_train, y_train = x_train[:train_size], y_train[:train_size]
    return x_train, x_test, y_train, y_test


def accuracy(module, params, x, y) -> float:
    """The share of ``x`` classified right, in one pass (the kernels run any batch)."""
    scores = module.forward(x, params)
    return float(np.mean(scores.argmax(axis=1) == y))


def train(args) -> dict:
    """The training run; returns its losses per step and the test accuracy."""
    x_train, x_test, y_train, y_test = data(args.train_size)
    with tempfile.TemporaryDirectory() as folder:
        net, module = load_generated(Path(folder))
        batch = net.input_shape[0]  # the file's batch: the size the kernels are tuned for
        params = module.init_params(0)
        reference = dict(params)
        rng = np.random.default_rng(0)
        losses, differences = [], []
        started = time.perf_counter()
        for _ in range(args.epochs):
            order = rng.permutation(len(x_train))
            # Whole batches of the file's size (every step the same size, as SGD's learning
            # rate assumes); the shuffle changes which images wait for the next epoch.
            for start in range(0, len(order) - batch + 1, batch):
                rows = order[start : start + batch]
                loss, grads = module.loss_and_grads(x_train[rows], y_train[rows], params)
                params = module.sgd_step(params, grads, args.lr)
                losses.append(float(loss))
                if len(losses) <= args.check_runtime:  # the same step through the runtime
                    ref_loss, ref_grads = network_runtime.loss_and_grads(
                        net, x_train[rows], y_train[rows], reference
                    )
                    reference = network_runtime.sgd_step(reference, ref_grads, args.lr)
                    differences.append(abs(float(ref_loss) - float(loss)))
        seconds = time.perf_counter() - started
        test = accuracy(module, params, x_test, y_test)
    return {"losses": losses, "differences": differences, "seconds": seconds, "test": test}


def plot(losses: list[float], path: Path, command: str) -> None:
    """The loss curve, in the style of symcnn's figures (:mod:`symcnn.printing.figure`)."""
    from symcnn.printing.figure import BLUE, GREY, save_figure, style, styled_figure

    steps = np.arange(1, len(losses) + 1)
    window = 20
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    with style():
        figure = styled_figure((7, 3.5))
        axes = figure.subplots()
        axes.plot(steps, losses, color=GREY, linewidth=0.6, label="each step")
        axes.plot(steps[window - 1 :], smooth, color=BLUE, label=f"mean of {window} steps")
        axes.set_xlabel("SGD step")
        axes.set_ylabel("cross-entropy")
        axes.set_yscale("log")
        axes.set_title("digits: the generated training step")
        axes.legend()
        figure.supxlabel(command, fontsize=7, color="#666666")
        save_figure(figure, path)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--train-size", type=int, default=None, help="use the first N images")
    parser.add_argument(
        "--check-runtime",
        type=int,
        default=0,
        metavar="STEPS",
        help="train the runtime network beside it for STEPS steps and compare the losses",
    )
    parser.add_argument("--figure", type=Path, default=FIGURE, help="the loss curve PNG")
    parser.add_argument("--no-figure", action="store_true")
    args = parser.parse_args(argv)
    result = train(args)
    losses = result["losses"]
    print(
        f"{len(losses)} steps in {result['seconds']:.1f} s; loss {losses[0]:.3f} -> "
        f"{np.mean(losses[-20:]):.3f} (mean of the last 20)"
    )
    if result["differences"]:
        print(
            f"runtime vs generated, first {len(result['differences'])} steps: largest loss "
            f"difference {max(result['differences']):.2e}"
        )
    if not args.no_figure:
        words = ["python examples/digits.py", *(argv if argv is not None else sys.argv[1:])]
        plot(losses, args.figure, " ".join(words))
        print(f"loss curve: {os.path.relpath(args.figure)}")
    print(f"test accuracy: {result['test']:.3f}")
    return result


if __name__ == "__main__":
    main()
