"""Tanh end to end through the registry (symcnn/layers/tanh/): the exact derivation, the
runtime, finite differences, the generated module, the notes and the checker."""

from __future__ import annotations

import json

import pytest
import sympy

from symcnn import derive, layer_from_dict, notes
from symcnn.check import check_text
from symcnn.cli import main
from symcnn.jsonio import dumps
from symcnn.layers.tanh.spec import Tanh
from tests import activation_helpers as helpers

SPECS = [
    Tanh(input_shape=s, reduction=r) for s in [(1, 1, 2, 2), (2, 3), (3,)] for r in ("sum", "mean")
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_the_local_partial_is_the_derivative(spec):
    helpers.check_partials_are_the_derivative(spec)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_the_derivation_equals_the_runtime(spec):
    helpers.check_derivation_against_runtime(spec)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_the_runtime_gradient_matches_finite_differences(spec):
    helpers.check_runtime_against_finite_differences(spec)


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (5, 7)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_generated_module_matches_the_runtime(shape, dtype):
    helpers.check_generated_module(Tanh(input_shape=shape), dtype)


def test_json_follows_the_contract_and_reads_back():
    spec = Tanh(input_shape=(1, 2))
    d = derive(spec)
    data = json.loads(dumps(d))
    assert data["layer"] == {"type": "tanh", "input_shape": [1, 2], "reduction": "sum"}
    assert layer_from_dict(data["layer"]) == spec
    for text, expr in zip(data["grads"]["X"][0], d.grads["X"][0], strict=True):
        assert sympy.sympify(text) == expr


@pytest.mark.parametrize("form", ["text", "markdown", "latex"])
def test_the_notes_print_every_entry(form):
    printed = getattr(notes(derive(Tanh(input_shape=(1, 1, 2, 2)))), form)()
    spell = "X{}{}" if form == "text" else "X_{{{}{}}}"
    digits = "₁₂" if form == "text" else "12"
    for i in digits:
        for j in digits:
            assert spell.format(i, j) in printed


def test_the_derivative_left_out_is_named():
    layer = Tanh(input_shape=(1, 2))
    wrong = "dL/dX11 = dL/dO11\ndL/dX12 = dL/dO12"
    report = check_text(wrong, layer)
    assert report.summary["wrong"] == 2
    assert [d.pattern.key for d in report.diagnoses] == ["tanh_no_derivative"]


def test_every_command_takes_tanh(tmp_path, capsys):
    assert main(["derive", "tanh", "--input", "1x1x2x2"]) == 0
    assert main(["derive", "tanh", "--input", "2x3", "--format", "json"]) == 0
    assert main(["generate", "tanh", "--input", "2x3", "-o", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["derive", "tanh", "--input", "2x3", "--kernel", "2"]) == 2
    assert "--kernel does not apply to tanh" in capsys.readouterr().err
