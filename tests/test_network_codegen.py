"""The generated network module (``symcnn generate --net``): the contract's functions, held
against the runtime network (the same step, to float precision) and finite differences; and
the digits example at a reduced size, which must still learn."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

from symcnn.cli import main
from symcnn.network import runtime as net_runtime
from symcnn.network.codegen import generate_network
from symcnn.network.params import init_params
from symcnn.network.spec import network_from_dict

ROOT = Path(__file__).resolve().parents[1]

NETWORKS = {
    "cnn-ce": {
        "input": [4, 1, 6, 6],
        "layer": [
            {"type": "conv2d", "kernel": [3, 3], "out_channels": 2, "padding": [1, 1]},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel": [2, 2]},
            {"type": "flatten"},
            {"type": "linear", "out_features": 3},
        ],
        "loss": {"type": "softmax_cross_entropy"},
    },
    "smooth-mse": {
        "input": [3, 1, 4, 4],
        "layer": [
            {"type": "conv2d", "kernel": [2, 2], "out_channels": 2, "bias": False},
            {"type": "tanh"},
            {"type": "avgpool2d", "kernel": [3, 3], "stride": [1, 1]},
            {"type": "flatten"},
            {"type": "linear", "out_features": 4},
            {"type": "sigmoid"},
            {"type": "linear", "out_features": 2, "bias": False},
        ],
        "loss": {"type": "mse"},
    },
}


def _load(folder: Path, net, stem: str):
    for name, text in generate_network(net, stem=stem, command=["test"]).items():
        (folder / name).write_text(text)
    spec = importlib.util.spec_from_file_location(stem, folder / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _target(net, rng):
    if net.loss.type == "mse":
        return rng.standard_normal(net.output_shape)
    return rng.integers(0, net.output_shape[1], size=net.output_shape[0])


@pytest.mark.parametrize("key", sorted(NETWORKS))
def test_the_generated_step_equals_the_runtime_step(tmp_path, key):
    net = network_from_dict(NETWORKS[key])
    module = _load(tmp_path, net, key.replace("-", "_"))
    assert net.to_dict() == module.SPEC
    for name in ("init_params", "forward", "loss_and_grads", "sgd_step"):
        assert callable(getattr(module, name))
    assert list(inspect.signature(module.loss_and_grads).parameters) == ["x", "target", "params"]
    params = module.init_params(3)
    reference = init_params(net, seed=3)
    assert list(params) == list(reference)
    assert all((params[name] == reference[name]).all() for name in params)
    rng = np.random.default_rng(0)
    for _ in range(3):  # three SGD steps side by side
        x, target = rng.standard_normal(net.input_shape), _target(net, rng)
        assert np.allclose(module.forward(x, params), net_runtime.forward(net, x, reference))
        loss, grads = module.loss_and_grads(x, target, params)
        ref_loss, ref_grads = net_runtime.loss_and_grads(net, x, target, reference)
        assert np.isclose(loss, ref_loss, rtol=1e-13)
        assert sorted(grads) == sorted(name for name in ref_grads if name != "input")
        for name, grad in grads.items():
            assert np.allclose(grad, ref_grads[name], rtol=1e-12, atol=1e-14), name
        params = module.sgd_step(params, grads, 0.1)
        reference = net_runtime.sgd_step(reference, ref_grads, 0.1)


@pytest.mark.parametrize("key", sorted(NETWORKS))
def test_the_generated_step_runs_any_batch_as_the_runtime_does(tmp_path, key):
    net = network_from_dict(NETWORKS[key])
    module = _load(tmp_path, net, key.replace("-", "_"))
    assert module.SPEC["input"][0] == net.input_shape[0]  # the batch it was derived for
    assert f"Batch: derived for {net.input_shape[0]}" in module.__doc__
    params = module.init_params(5)
    rng = np.random.default_rng(2)
    for batch in (1, net.input_shape[0] + 3):
        other = network_from_dict({**NETWORKS[key], "input": [batch, *net.input_shape[1:]]})
        x, target = rng.standard_normal(other.input_shape), _target(other, rng)
        loss, grads = module.loss_and_grads(x, target, params)
        ref_loss, ref_grads = net_runtime.loss_and_grads(other, x, target, params)
        assert np.isclose(loss, ref_loss, rtol=1e-12, atol=0), batch
        for name in params:
            assert np.allclose(grads[name], ref_grads[name], rtol=1e-10, atol=1e-13), name
        assert module.forward(x, params).shape == other.output_shape


def test_the_generated_gradients_match_finite_differences(tmp_path):
    net = network_from_dict(NETWORKS["smooth-mse"])
    module = _load(tmp_path, net, "smooth")
    rng = np.random.default_rng(1)
    x, target = rng.standard_normal(net.input_shape), _target(net, rng)
    params = module.init_params(0)
    _, grads = module.loss_and_grads(x, target, params)
    for name, array in params.items():
        for index in list(np.ndindex(array.shape))[:5]:
            up, down = dict(params), dict(params)
            up[name], down[name] = array.copy(), array.copy()
            up[name][index] += 1e-6
            down[name][index] -= 1e-6
            numeric = (
                module.loss_and_grads(x, target, up)[0] - module.loss_and_grads(x, target, down)[0]
            ) / 2e-6
            assert np.isclose(grads[name][index], numeric, rtol=1e-5, atol=1e-9), (name, index)


def test_generate_net_writes_the_module_and_its_kernels(tmp_path, capsys):
    path = ROOT / "examples" / "tiny.toml"
    assert main(["generate", "--net", str(path), "-o", str(tmp_path)]) == 0
    written = capsys.readouterr().out.split()
    # every layer and the loss: its own kernel module, the network module last
    assert [Path(p).name for p in written] == [*(f"tiny_layer{p}.py" for p in range(6)), "tiny.py"]
    first = (tmp_path / "tiny.py").read_text()
    assert first.startswith("# Generated by symcnn")
    assert main(["generate", "--net", str(path), "-o", str(tmp_path)]) == 0  # replaces its own
    assert (tmp_path / "tiny.py").read_text() == first  # byte-stable
    capsys.readouterr()
    assert main(["generate", "--net", str(path), "--kernel", "2", "-o", str(tmp_path)]) == 2
    assert "--kernel does not apply with --net" in capsys.readouterr().err
    assert main(["generate", "relu", "--net", str(path)]) == 2
    assert "--net takes no LAYER" in capsys.readouterr().err


def test_the_digits_example_learns_at_a_reduced_size(capsys):
    pytest.importorskip("sklearn", reason="the examples extra: pip install -e '.[examples]'")
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import digits
    finally:
        sys.path.pop(0)
    result = digits.main(
        ["--epochs", "4", "--train-size", "480", "--check-runtime", "5", "--no-figure"]
    )
    losses = result["losses"]
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])  # the loss falls
    assert result["test"] > 0.6  # chance is 0.1
    assert max(result["differences"]) < 1e-12  # the runtime gives the same losses
    assert capsys.readouterr().out.splitlines()[-1].startswith("test accuracy: 0.")
