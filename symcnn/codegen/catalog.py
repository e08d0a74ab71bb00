"""The catalog: the declared list of layers whose generated modules live in ``generated/``.

Every entry names its strategy, so that rendering is deterministic (``--strategy auto`` records
timings that vary from run to run; the strategies below were chosen once with it and the
measurements are in ``docs/generated-kernels.md``). :func:`render_catalog` renders everything in
memory; ``symcnn generate --catalog`` writes it and ``symcnn generate --check`` compares it with
the files (a test and CI run the check).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..layers.conv2d.spec import Conv2d
from ..layers.pool.spec import AvgPool2d, MaxPool2d, MinPool2d
from ..spec import Layer
from .files import is_generated, write_generated
from .generate import generate
from .structure import prove

#: The folder the catalog lives in, relative to the checkout (and the name in headers).
DIRECTORY = "generated"


@dataclass(frozen=True)
class CatalogModule:
    """One catalog module: the layer, its dtypes and the strategy its kernels use (each dtype
    is one generated file)."""

    spec: Layer
    strategy: str
    dtypes: tuple[str, ...] = ("float64",)
    why: str = ""


#: The catalog, in the order the docs list it.
CATALOG: tuple[CatalogModule, ...] = (
    CatalogModule(
        Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)),
        "unrolled",
        why="the notes' example: 3x3 input, 2x2 kernel, stride 1",
    ),
    CatalogModule(
        Conv2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), stride=(2, 2)),
        "unrolled",
        why="the notes' stride-2 case: 4x4 input, 2x2 kernel",
    ),
    CatalogModule(
        Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), padding=(1, 1)),
        "unrolled",
        why="the notes' example with padding 1",
    ),
    CatalogModule(
        Conv2d(input_shape=(64, 1, 28, 28), out_channels=6, kernel=(5, 5)),
        "gemm",
        ("float32", "float64"),
        why="LeNet-5 C1 at batch 64",
    ),
    CatalogModule(
        Conv2d(input_shape=(64, 6, 12, 12), out_channels=16, kernel=(5, 5)),
        "gemm",
        ("float32", "float64"),
        why="LeNet-5 C3 at batch 64",
    ),
    CatalogModule(
        Conv2d(input_shape=(64, 16, 16, 16), out_channels=32, kernel=(3, 3), stride=2, padding=1),
        "gemm",
        ("float32", "float64"),
        why="3x3 stride-2 padded conv, 16 -> 32 channels",
    ),
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


def entries() -> Iterable[tuple[CatalogModule, str]]:
    """Every (catalog module, dtype) pair: one per generated file."""
    for entry in CATALOG:
        for dtype in entry.dtypes:
            yield entry, dtype


def render_catalog() -> dict[str, str]:
    """Every catalog module rendered in memory: file name -> text."""
    rendered = {}
    for entry in CATALOG:
        structure = prove(entry.spec)  # one proof serves every dtype of the entry
        for dtype in entry.dtypes:
            module = generate(
                entry.spec,
                dtype=dtype,
                strategy=entry.strategy,
                directory=DIRECTORY,
                structure=structure,
            )
            rendered[module.filename] = module.text
    return rendered


def stale_files(folder: Path, rendered: dict[str, str] | None = None) -> dict[str, str]:
    """Catalog files in ``folder`` that differ from a fresh render: file name -> diff or reason."""
    rendered = render_catalog() if rendered is None else rendered
    problems = {}
    for name, text in sorted(rendered.items()):
        target = folder / name
        if not target.exists():
            problems[name] = f"{target} is missing\n"
            continue
        current = target.read_text(encoding="utf-8")
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"{target} (on disk)",
                f"{target} (rendered)",
            )
            problems[name] = "".join(diff)
    for target in _own_files(folder):
        if target.name not in rendered:
            problems[target.name] = f"{target} was generated but is not in the catalog\n"
    return problems


def write_catalog(folder: Path) -> list[Path]:
    """Render the catalog into ``folder``; remove generated files the catalog no longer lists."""
    rendered = render_catalog()
    written = [write_generated(folder / name, text) for name, text in sorted(rendered.items())]
    for target in _own_files(folder):
        if target.name not in rendered:
            target.unlink()
    return written


def _own_files(folder: Path) -> list[Path]:
    return [path for path in sorted(folder.glob("*.py")) if is_generated(path)]
