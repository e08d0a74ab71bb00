"""PyTorch's spellings of a layer, accepted from Python with PyTorch's meaning.

The expected shapes and paddings are PyTorch's documented semantics, written out by hand:
``nn.Conv2d(..., padding="same")`` keeps H and W at stride 1 by padding ``D(K-1)/2`` per side,
``"valid"`` pads nothing, strided ``"same"`` is refused, and a 3-D input is one unbatched image.
"""

import pytest

from symcnn import AvgPool2d, Conv2d, MaxPool2d, MinPool2d, derive
from symcnn.cli import main


@pytest.mark.parametrize("cls", [Conv2d, MaxPool2d, MinPool2d, AvgPool2d])
def test_kernel_size_is_kernel(cls):
    assert cls(input_shape=(6, 6), kernel_size=3) == cls(input_shape=(6, 6), kernel=3)
    assert cls(input_shape=(6, 6), kernel_size=(3, 2)).kernel == (3, 2)
    assert cls(input_shape=(6, 6), kernel=2, kernel_size=(2, 2)).kernel == (2, 2)  # agree
    assert "kernel_size" not in cls(input_shape=(6, 6), kernel_size=3).to_dict()


def test_kernel_and_kernel_size_that_disagree_are_refused():
    with pytest.raises(ValueError, match=r"kernel_size=3 is not valid: .*kernel=2"):
        Conv2d(input_shape=(6, 6), kernel=2, kernel_size=3)


@pytest.mark.parametrize(
    ("kernel", "dilation", "padding"),
    [
        (1, 1, (0, 0)),
        (3, 1, (1, 1)),
        (5, 1, (2, 2)),
        (3, 2, (2, 2)),
        (5, 3, (6, 6)),
        ((3, 5), 1, (1, 2)),
    ],
)
def test_same_padding_keeps_the_size_at_stride_1(kernel, dilation, padding):
    spec = Conv2d(input_shape=(2, 3, 13, 13), kernel=kernel, dilation=dilation, padding="same")
    assert spec.padding == padding
    assert spec.output_shape[2:] == (13, 13)
    explicit = Conv2d(input_shape=(2, 3, 13, 13), kernel=kernel, dilation=dilation, padding=padding)
    assert spec == explicit  # the spec holds numbers: JSON, codegen and notes are unchanged


def test_valid_padding_is_none():
    spec = Conv2d(input_shape=(5, 5), kernel=3, padding="valid")
    assert spec.padding == (0, 0) and spec.output_shape == (1, 1, 3, 3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kernel": 3, "stride": 2}, r"padding='same' is not valid: only at stride 1"),
        ({"kernel": 2}, r"padding='same' is not valid: the dilated kernel spans \[2, 2\]"),
        ({"kernel": 3, "dilation": (1, 2)}, None),  # spans 3 and 5: both odd, accepted
        ({"kernel": (3, 4)}, r"spans \[3, 4\]"),
    ],
)
def test_same_padding_refusals(options, message):
    if message is None:
        assert Conv2d(input_shape=(7, 7), padding="same", **options).padding == (1, 2)
        return
    with pytest.raises(ValueError, match=message):
        Conv2d(input_shape=(7, 7), padding="same", **options)


def test_unknown_named_padding_is_refused():
    with pytest.raises(ValueError, match=r"padding='full' is not valid: expected 'same', 'valid'"):
        Conv2d(input_shape=(5, 5), kernel=3, padding="full")


@pytest.mark.parametrize("cls", [Conv2d, MaxPool2d, AvgPool2d])
def test_an_unbatched_input_is_a_batch_of_one(cls):
    unbatched = cls(input_shape=(3, 4, 4), kernel=2)
    assert unbatched.input_shape == (1, 3, 4, 4)
    assert unbatched == cls(input_shape=(1, 3, 4, 4), kernel=2)
    assert unbatched.output_shape[0] == 1


def test_unbatched_derivation_equals_the_batch_of_one():
    one = derive(Conv2d(input_shape=(2, 3, 3), kernel=2, out_channels=2))
    batched = derive(Conv2d(input_shape=(1, 2, 3, 3), kernel=2, out_channels=2))
    for name in ("X", "W", "B"):
        assert (one.grads[name] == batched.grads[name]).all()


def test_the_command_line_reads_an_unbatched_input(capsys):
    assert main(["derive", "conv2d", "--input", "2x3x3", "--kernel", "2", "--format", "json"]) == 0
    assert '"input_shape":[1,2,3,3]' in capsys.readouterr().out


def test_a_five_axis_input_is_refused_with_the_valid_ranks():
    with pytest.raises(ValueError, match=r"expected 4 integers \(N, C, H, W\), 3 \(C, H, W\)"):
        Conv2d(input_shape=(1, 1, 1, 3, 3), kernel=2)
