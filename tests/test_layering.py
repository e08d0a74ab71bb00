"""The one-way layers, held by imports: each module is imported alone in a fresh interpreter.

- the symbolic core (spec, tensors, canonical, rules, derive, identities) never imports Jinja or
  a printer;
- the runtime never imports SymPy (it is the reference that shares nothing with the core);
- spec imports neither SymPy nor NumPy-dependent symbolic code: every layer reads it.

The package ``symcnn/__init__.py`` imports the public API, so the check loads ``symcnn`` as a bare
package (its ``__path__`` only) and imports the one module under test: what ends up in
``sys.modules`` is that module's own dependencies.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "symcnn"

SCRIPT = """
import importlib, json, sys, types
package = types.ModuleType("symcnn")
package.__path__ = [{path!r}]
sys.modules["symcnn"] = package
for module in {modules!r}:
    importlib.import_module("symcnn." + module)
print(json.dumps(sorted(name for name, mod in sys.modules.items() if mod is not None)))
"""


def loaded_modules(*modules: str) -> set[str]:
    """The modules loaded by importing ``modules`` (of symcnn) in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(path=str(PACKAGE), modules=list(modules))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


SYMBOLIC_CORE = ["spec", "tensors", "canonical", "rules", "derive", "identities"]


def test_symbolic_core_imports_no_printer_and_no_jinja():
    loaded = loaded_modules(*SYMBOLIC_CORE)
    assert {f"symcnn.{module}" for module in SYMBOLIC_CORE} <= loaded
    assert "jinja2" not in top_level(loaded)
    printers = sorted(n for n in loaded if n.startswith(("symcnn.printing", "symcnn.formats")))
    assert printers == []
    assert not any(n.startswith(("symcnn.codegen", "symcnn.check", "symcnn.cli")) for n in loaded)


#: The modules every layer reads: the spec base, the option rows and the registry of specs.
SPEC_MODULES = {"symcnn.spec", "symcnn.options", "symcnn.layers"}


def _is_spec_module(name: str) -> bool:
    if name in SPEC_MODULES:
        return True
    parts = name.split(".")  # a kind's folder, or its spec module
    return parts[:2] == ["symcnn", "layers"] and (len(parts) == 3 or parts[3:] == ["spec"])


def test_runtime_imports_no_sympy():
    loaded = loaded_modules("runtime")
    assert "sympy" not in top_level(loaded)
    own = sorted(n for n in loaded if n.startswith("symcnn.") and not _is_spec_module(n))
    runtime = {"symcnn.runtime", "symcnn.runtime_base"}
    assert all(n in runtime or n.endswith(".runtime") for n in own), own


def test_spec_imports_nothing_symbolic():
    loaded = loaded_modules("spec", "layers")
    assert "sympy" not in top_level(loaded)
    assert all(_is_spec_module(n) for n in loaded if n.startswith("symcnn."))


def test_the_check_can_fail():
    """The output formats do pull in a printer: the check would see a violation."""
    loaded = loaded_modules("formats")
    assert any(name.startswith("symcnn.printing") for name in loaded)
