"""The one-way layers of the package, held two ways: statically, and by what an import loads.

The layers, lowest first (a module may import its own layer or a lower one, never a higher):

0. the spec group: ``spec``, ``options``, the registry ``layers`` and each kind's ``spec``;
1. the symbolic core (``tensors``, ``canonical``, ``rules``, ``derive``, ``evaluate``,
   ``identities``, ``jsonio``, ``pooling`` and each kind's ``rule`` and ``identities``) and, beside
   it, the runtime (``runtime``, ``runtime_base`` and each kind's ``runtime``): neither imports
   the other, so the runtime stays the reference that shares nothing with the core;
2. the outputs: ``printing``, ``formats``, ``notation``, ``files``, ``codegen`` and each kind's
   ``notes`` and ``codegen``;
3. the checker: ``check``, ``checkcode`` and each kind's ``check`` and ``checkcode``;
4. the entry points: the package's ``__init__`` (the public API), ``cli`` and ``__main__``; nothing
   but ``__main__`` imports ``cli``.

A layer kind's module ``symcnn/layers/<kind>/<concern>.py`` (or ``<concern>_<part>.py``) counts in
its concern's layer. The
static test parses every module (nothing is imported) and checks every import edge, the lazy
ones inside functions included. The fresh-interpreter tests import a layer's modules alone and
read ``sys.modules``; they also load the registry's tables of that layer's concerns, so that a
kind module loaded lazily cannot hide an edge. The package ``symcnn/__init__.py`` imports the
public API, so they load ``symcnn`` as a bare package (its ``__path__`` only).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "symcnn"

SPEC, CORE, RUNTIME, OUTPUT, CHECK, ENTRY = (
    "spec group",
    "symbolic core",
    "runtime",
    "outputs",
    "checker",
    "entry points",
)
#: Each layer's rank: an edge must not go up. The core and the runtime share a rank.
RANK = {SPEC: 0, CORE: 1, RUNTIME: 1, OUTPUT: 2, CHECK: 3, ENTRY: 4}

#: The top-level modules and subpackages of symcnn, by layer.
MODULES = {
    SPEC: {"spec", "options", "layers"},
    CORE: {
        "tensors",
        "canonical",
        "rules",
        "derive",
        "evaluate",
        "identities",
        "jsonio",
        "pooling",
        "progress",  # bars and reports: the standard library (tqdm loaded when drawn)
        "indexform",
    },
    RUNTIME: {"runtime", "runtime_base"},
    OUTPUT: {"printing", "formats", "notation", "files", "codegen", "network"},
    CHECK: {"check", "checkcode"},  # checkcode: with the checker (it imports its report)
    ENTRY: {"", "cli", "__main__"},  # "": the package itself
}
#: A kind's concern module -> its layer.
CONCERNS = {
    "spec": SPEC,
    "rule": CORE,
    "identities": CORE,
    "general": CORE,
    "runtime": RUNTIME,
    "notes": OUTPUT,
    "codegen": OUTPUT,
    "check": CHECK,
    "checkcode": CHECK,
    "network": OUTPUT,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(name: str) -> str:
    """The layer of the module ``name`` (``symcnn.x.y``); a KeyError for one with no place."""
    parts = name.split(".")[1:]
    if parts[:1] == ["layers"] and len(parts) >= 3:
        # symcnn.layers.<kind>.<concern>[_part][.more]: a concern may span several modules
        return CONCERNS[parts[2].split("_")[0]]
    if parts[:1] == ["layers"] and len(parts) == 2:
        return SPEC  # a kind's folder (its __init__)
    top = parts[0] if parts else ""
    return next(layer for layer, tops in MODULES.items() if top in tops)


def imported_modules(path: Path, name: str, known: set[str]) -> set[str]:
    """The package modules ``path`` imports anywhere in it, resolved like house_check.py.

    ``from PACKAGE import NAME`` is an edge to ``PACKAGE.NAME`` when that is a module, else to
    ``PACKAGE``; an edge to an enclosing package of the importer is left out (Python imports it
    before the importer in any case).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module)
    return {m for m in found if m in known and m != name and not name.startswith(m + ".")}


def package_edges() -> list[tuple[str, str]]:
    paths = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    known = set(paths)
    return [
        (name, target)
        for name, path in paths.items()
        for target in sorted(imported_modules(path, name, known))
    ]


EDGES = package_edges()


def test_every_module_has_a_layer():
    names = {name for edge in EDGES for name in edge} | {
        module_name(path) for path in PACKAGE.rglob("*.py")
    }
    unplaced = []
    for name in sorted(names):
        try:
            layer_of(name)
        except (KeyError, StopIteration):
            unplaced.append(name)
    assert unplaced == [], "give these modules a layer in tests/test_layering.py"


def test_every_import_edge_goes_down_or_stays_in_its_layer():
    upward = [
        f"{source} ({layer_of(source)}) imports {target} ({layer_of(target)})"
        for source, target in EDGES
        if RANK[layer_of(source)] < RANK[layer_of(target)]
    ]
    assert upward == []


def test_the_core_and_the_runtime_import_nothing_of_each_other():
    crossing = [
        f"{source} imports {target}"
        for source, target in EDGES
        if {layer_of(source), layer_of(target)} == {CORE, RUNTIME}
    ]
    assert crossing == []


def test_nothing_imports_the_command_line_but_main():
    assert [s for s, t in EDGES if t == "symcnn.cli" and s != "symcnn.__main__"] == []


def test_the_static_check_can_fail():
    """A made-up upward edge is seen: the spec importing the printer."""
    assert RANK[layer_of("symcnn.spec")] < RANK[layer_of("symcnn.printing.notes")]
    assert layer_of("symcnn.layers.pool.notes") == OUTPUT
    assert layer_of("symcnn.layers.conv2d.check") == CHECK
    with pytest.raises(KeyError):
        layer_of("symcnn.layers.conv2d.unknown_concern")


# -- what an import loads, in a fresh interpreter ------------------------------------------------

SCRIPT = """
import importlib, json, sys, types
package = types.ModuleType("symcnn")
package.__path__ = [{path!r}]
sys.modules["symcnn"] = package
for module in {modules!r}:
    importlib.import_module("symcnn." + module)
layers = importlib.import_module("symcnn.layers")
for concern in {concerns!r}:
    layers.table(concern)
print(json.dumps(sorted(name for name, mod in sys.modules.items() if mod is not None)))
"""


def loaded_modules(*modules: str, tables: tuple[str, ...] = ()) -> set[str]:
    """The modules loaded by importing ``modules`` (of symcnn) and loading the registry's
    ``tables`` in a fresh interpreter."""
    script = SCRIPT.format(path=str(PACKAGE), modules=list(modules), concerns=list(tables))
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def own_layers(loaded: set[str]) -> set[str]:
    return {layer_of(name) for name in loaded if name.startswith("symcnn.")}


SYMBOLIC_CORE = [*sorted(MODULES[CORE]), "spec"]


def test_symbolic_core_imports_no_printer_and_no_jinja():
    loaded = loaded_modules(*SYMBOLIC_CORE, tables=("spec", "rule", "identities"))
    assert {f"symcnn.{module}" for module in SYMBOLIC_CORE} <= loaded
    assert {"symcnn.layers.conv2d.rule", "symcnn.layers.pool.identities"} <= loaded
    assert "jinja2" not in top_level(loaded)
    printers = sorted(n for n in loaded if n.startswith(("symcnn.printing", "symcnn.formats")))
    assert printers == []
    assert not any(n.startswith(("symcnn.codegen", "symcnn.check", "symcnn.cli")) for n in loaded)
    assert own_layers(loaded) <= {SPEC, CORE}  # the runtime neither


#: The modules every layer reads: the spec base, the option rows and the registry of specs.
SPEC_MODULES = {"symcnn.spec", "symcnn.options", "symcnn.layers"}


def _is_spec_module(name: str) -> bool:
    if name in SPEC_MODULES:
        return True
    parts = name.split(".")  # a kind's folder, or its spec module
    return parts[:2] == ["symcnn", "layers"] and (len(parts) == 3 or parts[3:] == ["spec"])


def test_runtime_imports_no_sympy():
    loaded = loaded_modules("runtime", tables=("spec", "runtime"))
    assert {"symcnn.layers.conv2d.runtime", "symcnn.layers.pool.runtime"} <= loaded
    assert "sympy" not in top_level(loaded)
    own = sorted(n for n in loaded if n.startswith("symcnn.") and not _is_spec_module(n))
    runtime = {"symcnn.runtime", "symcnn.runtime_base"}
    assert all(n in runtime or n.endswith(".runtime") for n in own), own
    assert own_layers(loaded) <= {SPEC, RUNTIME}


def test_spec_imports_nothing_symbolic():
    loaded = loaded_modules("spec", "layers", tables=("spec",))
    assert {"symcnn.layers.conv2d.spec", "symcnn.layers.pool.spec"} <= loaded
    assert "sympy" not in top_level(loaded)
    assert all(_is_spec_module(n) for n in loaded if n.startswith("symcnn."))


def test_the_check_can_fail():
    """The output formats do pull in a printer: the check would see a violation."""
    loaded = loaded_modules("formats")
    assert any(name.startswith("symcnn.printing") for name in loaded)
