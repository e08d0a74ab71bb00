"""Layer specs: PyTorch's shapes, and every invalid combination refused with a useful message."""

import dataclasses
import importlib
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sympy import Integer

from symcnn.layers import layer_from_dict, layer_types
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import AvgPool2d, MaxPool2d, MinPool2d
from symcnn.spec import output_size, parse_dims

# -- the output size -------------------------------------------------------------------------


@given(
    size=st.integers(1, 12),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
)
def test_output_size_counts_the_windows_that_fit(size, kernel, stride, padding, dilation):
    """floor((H + 2P - D(K-1) - 1) / S) + 1 is the number of window starts 0, S, 2S, ... whose
    dilated span stays inside the padded input (counted here one by one)."""
    span = dilation * (kernel - 1) + 1
    fitting = [
        start
        for start in range(0, size + 2 * padding, stride)
        if start + span <= size + 2 * padding
    ]
    if span > size + 2 * padding:
        return  # refused by the spec (tested below)
    assert output_size(size, kernel, stride, padding, dilation) == len(fitting)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation", "expected"),
    [
        (28, 5, 1, 0, 1, 24),  # LeNet's first layer
        (32, 3, 1, 1, 1, 32),  # "same" padding
        (4, 2, 2, 0, 1, 2),  # the notes' stride-2 example
        (8, 3, 2, 1, 1, 4),  # Dive into Deep Learning 7.3: kernel 3, padding 1, stride 2
        (7, 3, 1, 0, 2, 3),  # dilation 2: the kernel spans 5
    ],
)
def test_output_size_examples(size, kernel, stride, padding, dilation, expected):
    assert output_size(size, kernel, stride, padding, dilation) == expected


# -- valid specs -----------------------------------------------------------------------------


def test_conv2d_defaults_and_shapes():
    spec = Conv2d(input_shape=(2, 4, 7, 6), out_channels=6, kernel=(3, 2), groups=2)
    assert spec.stride == (1, 1) and spec.padding == (0, 0) and spec.dilation == (1, 1)
    assert spec.bias is True and spec.reduction == "sum"
    assert spec.in_channels == 4
    assert spec.weight_shape == (6, 2, 3, 2)  # (out, in/groups, kh, kw), as PyTorch
    assert spec.bias_shape == (6,)
    assert spec.output_shape == (2, 6, 5, 5)
    assert spec.multiply_terms == 2 * 6 * 5 * 5 * 2 * 3 * 2


def test_conv2d_normalizes_ints_lists_and_hxw():
    spec = Conv2d(input_shape=[5, 5], kernel=3, stride=[2, 1], padding=1, dilation=(1, 2))
    assert spec.input_shape == (1, 1, 5, 5)
    assert spec.kernel == (3, 3) and spec.stride == (2, 1) and spec.padding == (1, 1)
    assert spec.dilation == (1, 2)
    assert spec == Conv2d(
        input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 1), padding=(1, 1), dilation=(1, 2)
    )
    assert hash(spec) == hash(
        Conv2d(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)})
    )


def test_numpy_and_sympy_integers_are_accepted():
    """Regression: np.int64(2) (from a NumPy shape computation) was refused as not an integer."""
    spec = Conv2d(
        input_shape=tuple(np.array([1, 2, 5, 5])),
        kernel=np.int64(2),
        groups=Integer(2),
        out_channels=np.int32(4),
    )
    assert spec.kernel == (2, 2) and spec.groups == 2 and spec.out_channels == 4
    assert all(type(v) is int for v in (*spec.input_shape, *spec.kernel, spec.groups))


def test_conv2d_padding_larger_than_the_kernel_is_allowed():
    """PyTorch accepts it: border outputs then see only padding (they are the bias alone)."""
    spec = Conv2d(input_shape=(1, 1, 2, 2), kernel=1, padding=3)
    assert spec.output_shape == (1, 1, 8, 8)


def test_multiply_terms_bounds_the_derivation():
    from symcnn.derive import derive

    unpadded = Conv2d(input_shape=(2, 2, 5, 4), out_channels=2, kernel=(2, 3), bias=False)
    terms = sum(len(e.expr.args) for e in derive(unpadded).entries)
    assert terms == unpadded.multiply_terms
    padded = dataclasses.replace(unpadded, padding=(1, 1))
    terms = sum(len(e.expr.args) for e in derive(padded).entries)
    assert terms < padded.multiply_terms  # taps on the padding are left out


def test_specs_are_frozen():
    spec = Conv2d(input_shape=(3, 3), kernel=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.kernel = (1, 1)


def test_pool_stride_defaults_to_the_kernel():
    assert MaxPool2d(input_shape=(4, 6), kernel=(2, 3)).stride == (2, 3)
    assert AvgPool2d(input_shape=(4, 6), kernel=2, stride=1).stride == (1, 1)
    assert MinPool2d(input_shape=(4, 4), kernel=2).output_shape == (1, 1, 2, 2)
    assert MaxPool2d(input_shape=(1, 1, 5, 5), kernel=3, padding=1).output_shape == (1, 1, 2, 2)


def test_huge_sizes_are_accepted_by_the_spec_and_refused_by_the_term_limit(monkeypatch):
    """A spec is only numbers; the size check happens before any symbol is made."""
    # ``import symcnn.derive`` would give the function: the package re-exports it by that name
    derive_module = importlib.import_module("symcnn.derive")

    spec = Conv2d(input_shape=(1, 1, 10**9, 10**9), kernel=3)
    assert spec.output_shape == (1, 1, 10**9 - 2, 10**9 - 2)

    def no_work(*args):
        raise AssertionError("symbols were built before the size check")

    monkeypatch.setattr(derive_module.Tensors, "for_layer", no_work)
    with pytest.raises(ValueError, match=r"\(8,999,999,964,000,000,036 multiply terms"):
        derive_module.derive(spec)


# -- refusals --------------------------------------------------------------------------------

INPUT = (1, 2, 5, 5)

#: (layer class, options, the parameter and value named, what the message says is valid)
REFUSALS = [
    (Conv2d, {"input_shape": (1, 1, 1, 3, 3)}, "input_shape=(1, 1, 1, 3, 3)", "4 integers"),
    (Conv2d, {"input_shape": 5}, "input_shape=5", "4 integers"),
    (Conv2d, {"input_shape": "3x3"}, "input_shape='3x3'", "4 integers"),
    (Conv2d, {"input_shape": (0, 3)}, "input_shape=(0, 3)", ">= 1"),
    (Conv2d, {"input_shape": (1, 1, 3, 3.0)}, "input_shape=(1, 1, 3, 3.0)", "integers >= 1"),
    (Conv2d, {"input_shape": (True, 1, 3, 3)}, "input_shape=(True, 1, 3, 3)", "got True"),
    (Conv2d, {"kernel": 0}, "kernel=0", ">= 1"),
    (Conv2d, {"kernel": (2,)}, "kernel=(2,)", "2 of them"),
    (Conv2d, {"kernel": (2, 2, 2)}, "kernel=(2, 2, 2)", "2 of them"),
    (Conv2d, {"kernel": 2.0}, "kernel=2.0", "an integer >= 1"),
    (Conv2d, {"kernel": None}, "kernel=None", "an integer >= 1"),
    (Conv2d, {"stride": 0}, "stride=0", ">= 1"),
    (Conv2d, {"stride": -1}, "stride=-1", ">= 1"),
    (Conv2d, {"stride": (1, 0)}, "stride=(1, 0)", ">= 1"),
    (Conv2d, {"stride": 1.5}, "stride=1.5", "integer"),
    (Conv2d, {"stride": "2"}, "stride='2'", "integer"),
    (Conv2d, {"stride": True}, "stride=True", "integer"),
    (Conv2d, {"padding": -1}, "padding=-1", ">= 0"),
    (Conv2d, {"padding": (0, True)}, "padding=(0, True)", "got True"),
    (Conv2d, {"dilation": 0}, "dilation=0", ">= 1"),
    (Conv2d, {"groups": 0}, "groups=0", ">= 1"),
    (Conv2d, {"groups": True}, "groups=True", "integer"),
    (Conv2d, {"groups": 3}, "groups=3", "divide the input channels (2)"),
    (Conv2d, {"groups": 2, "out_channels": 3}, "groups=2", "divide out_channels (3)"),
    (Conv2d, {"out_channels": 0}, "out_channels=0", ">= 1"),
    (Conv2d, {"out_channels": 1.0}, "out_channels=1.0", "integer"),
    (Conv2d, {"out_channels": False}, "out_channels=False", "integer"),
    (Conv2d, {"bias": 1}, "bias=1", "True or False"),
    (Conv2d, {"bias": "yes"}, "bias='yes'", "True or False"),
    (Conv2d, {"reduction": "avg"}, "reduction='avg'", "sum, mean"),
    (Conv2d, {"reduction": None}, "reduction=None", "sum, mean"),
    (Conv2d, {"kernel": 6}, "kernel=[6, 6]", "spans 6 along the height, more than the padded"),
    (Conv2d, {"kernel": (1, 3), "dilation": 3}, "kernel=[1, 3]", "dilated kernel spans 7"),
    (MaxPool2d, {"kernel": 2, "padding": 2}, "padding=[2, 2]", "at most half the kernel"),
    (MaxPool2d, {"kernel": 2, "ties": "random"}, "ties='random'", "first, all, split"),
    (MinPool2d, {"kernel": 6}, "kernel=[6, 6]", "more than the padded input's 5"),
    (AvgPool2d, {"kernel": 2, "count_include_pad": 0}, "count_include_pad=0", "True or False"),
    (AvgPool2d, {"kernel": 2, "stride": 0}, "stride=0", ">= 1"),
]


@pytest.mark.parametrize(("cls", "options", "named", "valid"), REFUSALS, ids=lambda v: str(v))
def test_refusals_name_the_parameter_the_value_and_what_is_valid(cls, options, named, valid):
    options = {"input_shape": INPUT, "kernel": 2, **options}
    with pytest.raises(ValueError) as caught:
        cls(**options)
    message = str(caught.value)
    assert named in message
    assert valid in message


# -- the contract's layer object -------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        Conv2d(
            input_shape=(2, 4, 6, 5),
            out_channels=2,
            kernel=(3, 1),
            stride=2,
            padding=(1, 0),
            dilation=(1, 2),
            groups=2,
            bias=False,
            reduction="mean",
        ),
        MaxPool2d(input_shape=(4, 4), kernel=2, ties="split"),
        MinPool2d(input_shape=(1, 3, 5, 5), kernel=3, stride=1, padding=1),
        AvgPool2d(input_shape=(4, 4), kernel=2, count_include_pad=False),
    ],
    ids=lambda spec: spec.type,
)
def test_layer_dict_round_trips(spec):
    data = spec.to_dict()
    assert data["type"] == spec.type
    assert all(not isinstance(value, tuple) for value in data.values())  # JSON-ready lists
    assert layer_from_dict(data) == spec


def test_layer_dict_has_every_option_of_the_contract():
    data = Conv2d(input_shape=(3, 3), kernel=2).to_dict()
    assert data == {
        "type": "conv2d",
        "input_shape": [1, 1, 3, 3],
        "out_channels": 1,
        "kernel": [2, 2],
        "stride": [1, 1],
        "padding": [0, 0],
        "dilation": [1, 1],
        "groups": 1,
        "bias": True,
        "reduction": "sum",
    }


def test_layer_from_dict_refuses_unknown_types_and_options():
    with pytest.raises(ValueError, match=r"type='conv3d' is not valid: expected one of avgpool2d"):
        layer_from_dict({"type": "conv3d"})
    with pytest.raises(ValueError, match=r"conv2d has no option 'kernel_size'"):
        layer_from_dict({"type": "conv2d", "input_shape": [3, 3], "kernel_size": [2, 2]})


def test_layers_table_names_every_layer():
    assert sorted(layer_types()) == [
        "avgpool2d",
        "conv2d",
        "flatten",
        "linear",
        "maxpool2d",
        "minpool2d",
        "mse",
        "relu",
        "sigmoid",
        "softmax_cross_entropy",
        "tanh",
    ]
    assert all(layer_types()[name].type == name for name in layer_types())


# -- parsing dimensions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lengths", "expected"),
    [
        ("3", (1, 2), (3,)),
        ("3x4", (1, 2), (3, 4)),
        (" 2 X 3 ", (1, 2), (2, 3)),
        ("2×3", (1, 2), (2, 3)),
        ("1,2,8,8", (2, 4), (1, 2, 8, 8)),
        ("0x3", (2, 4), (0, 3)),
    ],
)
def test_parse_dims(text, lengths, expected):
    assert parse_dims("input", text, lengths) == expected


@pytest.mark.parametrize("text", ["", "x3", "3x", "3x3x3", "-1x3", "3.0x3", "axb", "²x3", "3x3x"])
def test_parse_dims_refusals(text):
    """Regression for '²x3': str.isdigit() accepts superscripts, which int() refuses."""
    with pytest.raises(ValueError, match=rf"input={text!r} is not valid: expected NxN or NxNxNxN"):
        parse_dims("input", text, (2, 4))


def test_every_option_combination_on_a_small_grid_is_valid_or_refused_cleanly():
    """No combination raises anything but ValueError, and every accepted one has a sane shape."""
    for kernel, stride, padding, dilation in itertools.product((1, 3, 6), (1, 2), (0, 2), (1, 2)):
        try:
            spec = Conv2d(
                input_shape=(1, 1, 4, 5),
                kernel=kernel,
                stride=stride,
                padding=padding,
                dilation=dilation,
            )
        except ValueError:
            assert dilation * (kernel - 1) + 1 > 4 + 2 * padding
            continue
        assert all(size >= 1 for size in spec.output_shape)


@pytest.mark.parametrize("layer", [Conv2d, MaxPool2d, MinPool2d, AvgPool2d])
def test_kernel_is_required(layer):
    # Regression: a spec without a kernel silently used 1x1, where the contract requires it.
    with pytest.raises(ValueError, match="needs a kernel"):
        layer(input_shape=(1, 1, 3, 3))
