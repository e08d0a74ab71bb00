"""Whole networks: the file and its errors, the staged exact derivation against sympy.diff of
the fully expanded loss and against the runtime network, the runtime network against finite
differences, and ``symcnn derive --net``."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy

from symcnn.cli import main
from symcnn.evaluate import bind, evaluate
from symcnn.network import runtime as net_runtime
from symcnn.network.derive import derive_network, expand
from symcnn.network.params import init_params, parameter_shapes
from symcnn.network.spec import load_network, network_from_dict
from tests.codegen_helpers import random_fractions

TINY = {  # the tiny network
    "input": [1, 1, 4, 4],
    "layer": [
        {"type": "conv2d", "kernel": [2, 2]},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": [2, 2]},
        {"type": "flatten"},
        {"type": "linear", "out_features": 3},
    ],
    "loss": {"type": "softmax_cross_entropy"},
}
#: Networks whose every value is rational: exact end to end (no exp, no log).
RATIONAL = [
    {
        "input": [2, 1, 3, 3],
        "layer": [
            {"type": "conv2d", "kernel": [2, 2], "out_channels": 2},
            {"type": "relu"},
            {"type": "avgpool2d", "kernel": [2, 2], "stride": [1, 1]},
            {"type": "flatten"},
            {"type": "linear", "out_features": 2},
        ],
        "loss": {"type": "mse"},
    },
    {
        "input": [2, 3],
        "layer": [
            {"type": "linear", "out_features": 4},
            {"type": "relu"},
            {"type": "linear", "out_features": 2, "bias": False},
        ],
        "loss": {"type": "mse"},
    },
    {
        "input": [1, 1, 4, 4],
        "layer": [
            {"type": "conv2d", "kernel": [2, 2], "padding": [1, 1]},
            {"type": "maxpool2d", "kernel": [2, 2]},
            {"type": "flatten"},
            {"type": "linear", "out_features": 2},
        ],
        "loss": {"type": "mse"},
    },
]


def _rational_inputs(net, rng):
    x = random_fractions(rng, net.input_shape)
    params = {name: random_fractions(rng, shape) for name, shape in parameter_shapes(net).items()}
    target = random_fractions(rng, net.output_shape)
    return x, params, target


def _values(expanded, x, params, target):
    values = bind(expanded.leaves["input"], x) | bind(expanded.leaves["target"], target)
    for name, array in params.items():
        values |= bind(expanded.leaves[name], array)
    return values


@pytest.mark.parametrize("data", RATIONAL, ids=lambda d: "-".join(t["type"] for t in d["layer"]))
def test_the_staged_derivation_equals_the_runtime_network_exactly(data):
    net = network_from_dict(data)
    rng = np.random.default_rng(11)
    x, params, target = _rational_inputs(net, rng)
    expanded = expand(derive_network(net))
    values = _values(expanded, x, params, target)
    loss, grads = net_runtime.loss_and_grads(net, x, target, params)
    assert evaluate(np.array([expanded.loss], dtype=object), values)[0] == loss
    assert sorted(grads) == sorted(expanded.grads)
    for name, grad in expanded.grads.items():
        assert (evaluate(grad, values) == grads[name]).all(), name


def _random_point(expanded, rng):
    """Random rationals for the input and parameters, a one-hot target."""
    values = {}
    for name, symbols in expanded.leaves.items():
        if name == "target":
            continue
        for symbol in symbols.flat:
            values[symbol] = sympy.Rational(int(rng.integers(-20, 21)), int(rng.integers(1, 8)))
    classes = expanded.leaves["target"].shape[1]
    for row in expanded.leaves["target"]:
        hot = int(rng.integers(classes))
        for c, symbol in enumerate(row):
            values[symbol] = sympy.Integer(int(c == hot))
    return values


def test_the_staged_form_equals_sympy_diff_of_the_expanded_loss():
    """The tiny network's loss, expanded down to the input and parameter symbols, differentiated
    by sympy.diff; the staged gradients, expanded, agree with it at random points (to 50 digits:
    exp and log have no rational values), and on the rational networks exactly."""
    net = network_from_dict(TINY)
    expanded = expand(derive_network(net))
    rng = np.random.default_rng(0)
    points = [_random_point(expanded, rng) for _ in range(2)]
    for name, grad in expanded.grads.items():
        for index, staged in np.ndenumerate(grad):
            symbol = expanded.leaves[name][index]
            by_diff = sympy.diff(expanded.loss, symbol)
            for point in points:
                a, b = staged.xreplace(point).evalf(50), by_diff.xreplace(point).evalf(50)
                assert abs(a - b) <= sympy.Float(10) ** -40 * (1 + abs(b)), (name, index)


@pytest.mark.parametrize("data", RATIONAL[:2], ids=["conv", "dense"])
def test_rational_networks_equal_sympy_diff_exactly(data):
    net = network_from_dict(data)
    expanded = expand(derive_network(net))
    rng = np.random.default_rng(2)
    x, params, target = _rational_inputs(net, rng)
    point = {
        s: sympy.Rational(v.numerator, v.denominator)
        for s, v in _values(expanded, x, params, target).items()
    }
    for name, grad in expanded.grads.items():
        for index, staged in np.ndenumerate(grad):
            by_diff = sympy.diff(expanded.loss, expanded.leaves[name][index])
            assert staged.xreplace(point) == by_diff.xreplace(point).doit(), (name, index)


def test_the_runtime_network_matches_finite_differences():
    data = dict(TINY, input=[3, 1, 6, 6])
    data["layer"] = [
        {"type": "conv2d", "kernel": [3, 3], "out_channels": 2, "padding": [1, 1]},
        {"type": "tanh"},
        {"type": "avgpool2d", "kernel": [2, 2]},
        {"type": "flatten"},
        {"type": "linear", "out_features": 4},
        {"type": "sigmoid"},
        {"type": "linear", "out_features": 3},
    ]
    net = network_from_dict(data)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(net.input_shape)
    target = np.array([0, 2, 1])
    params = init_params(net, seed=4)
    _, grads = net_runtime.loss_and_grads(net, x, target, params)
    arrays = dict(params, input=x)
    for name, array in arrays.items():
        for index in list(np.ndindex(array.shape))[:6]:
            up, down = dict(arrays), dict(arrays)
            up[name], down[name] = array.copy(), array.copy()
            up[name][index] += 1e-6
            down[name][index] -= 1e-6

            def loss(a):
                rest = {k: v for k, v in a.items() if k != "input"}
                return net_runtime.loss_and_grads(net, a["input"], target, rest)[0]

            numeric = (loss(up) - loss(down)) / 2e-6
            assert np.isclose(grads[name][index], numeric, rtol=1e-5, atol=1e-9), (name, index)


def test_parameters_are_named_as_pytorch_sequential():
    net = network_from_dict(TINY)
    assert list(parameter_shapes(net)) == ["0.weight", "0.bias", "4.weight", "4.bias"]
    assert parameter_shapes(net)["4.weight"] == (3, 1)


def test_init_params_uses_pytorch_default_bounds_from_a_seed():
    net = network_from_dict(dict(TINY, input=[1, 3, 8, 8]))
    first, again = init_params(net, seed=5), init_params(net, seed=5)
    assert all((first[k] == again[k]).all() for k in first)
    bound = 1 / np.sqrt(3 * 2 * 2)  # fan_in = in_channels * kh * kw
    for name in ("0.weight", "0.bias"):
        assert np.abs(first[name]).max() <= bound
    big = init_params(
        network_from_dict(
            {
                "input": [1, 400],
                "layer": [{"type": "linear", "out_features": 300}],
                "loss": {"type": "mse"},
            }
        ),
        seed=0,
    )
    assert 0.95 * (1 / 20) < np.abs(big["0.weight"]).max() <= 1 / 20  # fills the bound


ERRORS = [
    (
        {
            "input": [1, 1, 4, 4],
            "layer": [{"type": "linear", "out_features": 2}],
            "loss": {"type": "mse"},
        },
        r"^layer 0 \(linear\): input_shape=\[1, 1, 4, 4\].*flatten",
    ),
    (
        {
            "input": [1, 1, 4, 4],
            "layer": [{"type": "relu"}, {"type": "conv2d", "kernel": [5, 5]}],
            "loss": {"type": "mse"},
        },
        r"^layer 1 \(conv2d\): kernel=\[5, 5\] is not valid",
    ),
    (
        {"input": [1, 1, 4, 4], "layer": [{"type": "conv3d"}], "loss": {"type": "mse"}},
        r"^layer 0 \(conv3d\): type='conv3d' is not valid: expected one of avgpool2d, conv2d",
    ),
    (
        {
            "input": [1, 1, 4, 4],
            "layer": [{"type": "conv2d", "kernel": 2, "colour": 1}],
            "loss": {"type": "mse"},
        },
        r"^layer 0 \(conv2d\): conv2d has no option 'colour'",
    ),
    (
        {
            "input": [1, 1, 4, 4],
            "layer": [{"type": "conv2d", "kernel": "2"}],
            "loss": {"type": "mse"},
        },
        r"^layer 0 \(conv2d\): kernel='2' is not valid",
    ),
    (
        {"input": [1, 4], "layers": [], "loss": {"type": "mse"}},
        r"^the network has no key 'layers': valid keys are input, layer, loss",
    ),
    (
        {"input": [1, 4], "layer": [], "loss": {"type": "relu"}},
        r"^loss \(relu\): type='relu' is not valid: expected one of mse, softmax_cross_entropy",
    ),
    (
        {"input": [1, 1, 2, 2], "layer": [], "loss": {"type": "softmax_cross_entropy"}},
        r"^loss \(softmax_cross_entropy\): input_shape=\[1, 1, 2, 2\] is not valid",
    ),
    ({"input": "1x4", "layer": [], "loss": {"type": "mse"}}, r"^input='1x4' is not valid"),
    (
        {"input": [1, 4], "layer": [{"type": "mse"}], "loss": {"type": "mse"}},
        r"^layer 0 \(mse\): type='mse' is not valid",
    ),
]


@pytest.mark.parametrize(("data", "message"), ERRORS)
def test_every_mistake_is_one_line_naming_the_layer(data, message):
    with pytest.raises(ValueError, match=message) as caught:
        network_from_dict(data)
    assert "\n" not in str(caught.value)


def test_bad_toml_and_mistakes_exit_2_with_one_line(tmp_path, capsys):
    cases = {
        "broken.toml": "input = [1, 4\n",
        "unknown.toml": 'input = [1, 4]\nextra = 1\n[loss]\ntype = "mse"\n',
        "shape.toml": 'input = [1, 1, 4, 4]\n[[layer]]\ntype = "linear"\n[loss]\ntype = "mse"\n',
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        assert main(["derive", "--net", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("symcnn derive: error: --net "), err
        assert name in err
    assert main(["derive", "--net", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read the network file" in capsys.readouterr().err
    assert main(["derive", "--net", str(tmp_path / "shape.toml"), "--kernel", "2"]) == 2
    assert "--kernel does not apply with --net" in capsys.readouterr().err
    assert main(["derive"]) == 2
    assert "give a LAYER (conv2d, ...) or --net FILE" in capsys.readouterr().err


def test_derive_net_prints_the_sweep_and_json(tmp_path, capsys):
    path = tmp_path / "tiny.toml"
    path.write_text(
        'input = [1, 1, 4, 4]\n[[layer]]\ntype = "conv2d"\nkernel = [2, 2]\n[[layer]]\n'
        'type = "relu"\n[[layer]]\ntype = "maxpool2d"\nkernel = [2, 2]\n[[layer]]\n'
        'type = "flatten"\n[[layer]]\ntype = "linear"\nout_features = 3\n[loss]\n'
        'type = "softmax_cross_entropy"\n'
    )
    assert load_network(path) == network_from_dict(TINY)
    assert main(["derive", "--net", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Step 6. layer 0 (conv2d)" in text
    assert "identity verified: dL/dX = dL/dO W" in text
    assert "dL/dA4[0,0] = W4[0,0]*dL/dA5[0,0] + W4[1,0]*dL/dA5[0,1] + W4[2,0]*dL/dA5[0,2]" in text
    assert main(["derive", "--net", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"] == {
        "0.weight": [1, 1, 2, 2],
        "0.bias": [1],
        "4.weight": [3, 1],
        "4.bias": [3],
    }
    staged = derive_network(network_from_dict(TINY))
    for stage, written in zip(staged.stages, data["stages"], strict=True):
        for name, grad in stage.grads.items():
            read = np.array(written["grads"][name], dtype=object)
            for index, expr in np.ndenumerate(grad):
                assert sympy.sympify(read[index]) == expr


def test_fractions_flow_through_the_runtime_network():
    net = network_from_dict(RATIONAL[1])
    x, params, target = _rational_inputs(net, np.random.default_rng(1))
    loss, _ = net_runtime.loss_and_grads(net, x, target, params)
    assert isinstance(loss, Fraction)


def test_the_networks_page_shows_what_derive_net_prints(capsys):
    """docs/networks.md quotes the sweep of examples/tiny.toml: every quoted line is printed."""
    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "networks.md").read_text()
    block = page.split("$ symcnn derive --net examples/tiny.toml\n", 1)[1].split("```", 1)[0]
    assert main(["derive", "--net", str(root / "examples" / "tiny.toml")]) == 0
    printed = capsys.readouterr().out.splitlines()
    quoted = [line for line in block.splitlines() if line.strip() != "..."]
    assert len(quoted) > 10
    for line in quoted:
        assert line in printed, line


#: A batch of 4 and 5 classes: a loss of 24 terms, long enough to be cut in LaTeX.
WIDE = (
    'input = [4, 1, 4, 4]\n[[layer]]\ntype = "conv2d"\nkernel = [2, 2]\n[[layer]]\n'
    'type = "relu"\n[[layer]]\ntype = "maxpool2d"\nkernel = [2, 2]\n[[layer]]\n'
    'type = "flatten"\n[[layer]]\ntype = "linear"\nout_features = 5\n[loss]\n'
    'type = "softmax_cross_entropy"\n'
)


def _network_file(tmp_path, name: str) -> str:
    if name == "tiny":
        return str(Path(__file__).resolve().parents[1] / "examples" / "tiny.toml")
    path = tmp_path / "wide.toml"
    path.write_text(WIDE)
    return str(path)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("name", ["tiny", "wide"])
def test_derive_net_latex_compiles(tmp_path, name):
    out = tmp_path / f"{name}.tex"  # the format from the extension, as for one layer
    assert main(["derive", "--net", _network_file(tmp_path, name), "-o", str(out)]) == 0
    assert out.read_text().startswith("% Printed by symcnn")
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", out.name],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]


def test_derive_net_latex_and_markdown_show_each_step_and_cut_only_long_sums(tmp_path, capsys):
    path = _network_file(tmp_path, "wide")
    staged = derive_network(load_network(path))
    assert main(["derive", "--net", path, "--format", "markdown"]) == 0
    page = capsys.readouterr().out
    assert main(["derive", "--net", path, "--format", "latex"]) == 0
    document = capsys.readouterr().out
    for step in range(1, len(staged.stages) + 1):
        assert f"## Step {step}." in page
        assert f"\\section*{{Step {step}." in document
    terms = len(sympy.Add.make_args(staged.stages[-1].output[0]))  # the loss: 4 logs, 20 T*A
    assert terms == 24
    assert f"({terms} terms in all)" in page and f"({terms} terms in all)" in document
    assert page.count("$$") % 2 == 0 and "\\begin{aligned}" in page
    assert main(["derive", "--net", _network_file(tmp_path, "tiny"), "--format", "markdown"]) == 0
    assert "terms in all" not in capsys.readouterr().out  # no sum of tiny's is cut


def test_derive_net_refuses_a_format_it_does_not_write(capsys):
    root = Path(__file__).resolve().parents[1]
    path = str(root / "examples" / "tiny.toml")
    assert main(["derive", "--net", path, "--format", "pdf"]) == 2
    error = capsys.readouterr().err
    assert "--format pdf is not available with --net: it takes text, json, latex, markdown" in error


def test_derive_net_to_a_file_says_what_it_wrote_and_refuses_a_figure(tmp_path, capsys):
    path, out = _network_file(tmp_path, "tiny"), tmp_path / "sweep.md"
    assert main(["derive", "--net", path, "-o", str(out)]) == 0
    said = capsys.readouterr().err
    assert f"symcnn derive: wrote {out} (markdown, " in said and "softmax" in said
    assert main(["derive", "--net", path, "-o", str(out), "--quiet", "--force"]) == 0
    assert capsys.readouterr().err == ""
    figure = tmp_path / "sweep.tex"
    assert main(["derive", "--net", path, "-o", str(figure), "--figure"]) == 2
    assert "--figure does not apply with --net" in capsys.readouterr().err
    assert not figure.exists()
