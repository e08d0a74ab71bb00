"""The catalog: the declared list of layers whose generated modules live in ``generated/``.

Every entry names its strategy, so that rendering is deterministic (``--strategy auto`` records
timings that vary from run to run; the strategies below were chosen once with it and the
measurements are in ``docs/generated-kernels.md``). :func:`render_catalog` renders everything in
memory; ``symcnn generate --catalog`` writes it and ``symcnn generate --check`` compares it with
the files (a test and CI run the check).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

from .. import layers, progress
from .files import is_catalog_module, refusal, write_generated
from .generate import generate
from .kinds import CatalogModule
from .naming import module_filename
from .structure import prove

#: The folder the catalog lives in, relative to the checkout (and the name in headers).
DIRECTORY = "generated"


#: The catalog, in the order the docs list it: each kind's ``CATALOG`` (in its
#: ``layers/<kind>/codegen.py``), in the registry's order.
CATALOG: tuple[CatalogModule, ...] = layers.collect("codegen", "CATALOG")


def entries() -> Iterable[tuple[CatalogModule, str]]:
    """Every (catalog module, dtype) pair: one per generated file."""
    for entry in CATALOG:
        for dtype in entry.dtypes:
            yield entry, dtype


def render_catalog() -> dict[str, str]:
    """Every catalog module rendered in memory: file name -> text."""
    rendered = {}
    for entry in progress.bar(CATALOG, total=len(CATALOG), desc="catalog", unit="module"):
        structure = prove(entry.spec)  # one proof serves every dtype of the entry
        for dtype in entry.dtypes:
            module = generate(
                entry.spec,
                dtype=dtype,
                strategy=entry.strategy,
                directory=DIRECTORY,
                structure=structure,
                catalog=True,
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
    for target in _catalog_files(folder):
        if target.name not in rendered:
            problems[target.name] = f"{target} is a catalog module the catalog no longer lists\n"
    return problems


def catalog_refusals(folder: Path, names: Iterable[str], *, force: bool = False) -> list[str]:
    """Why the catalog cannot be written into ``folder`` (empty: it can), decided up front."""
    for place in (folder, *folder.parents):
        if place.exists():
            if not place.is_dir():
                return [f"cannot write into {folder}: {place} is not a folder"]
            if not os.access(place, os.W_OK | os.X_OK):
                return [f"cannot write into {folder}: {place} is not writable"]
            break
    reasons = (refusal(folder / name, force=force) for name in sorted(names))
    return [reason for reason in reasons if reason is not None]


def write_catalog(folder: Path, *, force: bool = False) -> list[Path]:
    """Render the catalog into ``folder``; remove the catalog modules it no longer lists.

    Everything is decided before anything is written: a file in the way (one symcnn did not
    generate, unless ``force``; a folder, FIFO or device, always) raises ValueError naming every
    such file, and nothing is written. Only modules marked as part of the catalog (a header line)
    are ever removed; a module generated one by one into the same folder is left alone.
    """
    names = [module_filename(entry.spec, dtype) for entry, dtype in entries()]
    refusals = catalog_refusals(folder, names, force=force)  # before the work, not after it
    if refusals:
        raise ValueError("; ".join(refusals) + "; nothing was written")
    rendered = render_catalog()
    written = [
        write_generated(folder / name, text, force=force) for name, text in sorted(rendered.items())
    ]
    for target in _catalog_files(folder):
        if target.name not in rendered:
            target.unlink()
    return written


def _catalog_files(folder: Path) -> list[Path]:
    """The catalog modules in ``folder`` (marked in their header), sorted."""
    if not folder.is_dir():
        return []
    return [path for path in sorted(folder.glob("*.py")) if is_catalog_module(path)]
