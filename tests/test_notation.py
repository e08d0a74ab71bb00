"""Notation: letter sets, the loss letter, and subscripts that invert to full 0-based indices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from symcnn.notation import LETTER_SETS, Notation


@pytest.mark.parametrize("letter_set", sorted(LETTER_SETS))
def test_letter_sets(letter_set):
    notation = Notation.from_letters(letter_set)
    assert notation.name("X") == LETTER_SETS[letter_set]["X"]
    assert notation.name("W") == LETTER_SETS[letter_set]["W"]
    assert notation.loss == LETTER_SETS[letter_set]["loss"]


def test_the_notes_letters():
    """Seed 001 writes X, F, O and L; seed 002 x, w, o and E; seed 000 A, K (or W), Z."""
    assert [Notation.from_letters("XFO").name(t) for t in "XWO"] == ["X", "F", "O"]
    xwo = Notation.from_letters("xwo")
    assert [xwo.name(t) for t in "XWO"] + [xwo.loss] == ["x", "w", "o", "E"]
    assert [Notation.from_letters("AKZ").name(t) for t in "XWO"] == ["A", "K", "Z"]


def test_loss_letter_can_be_chosen():
    assert Notation.from_letters("XWO", loss="J").loss == "J"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Notation.from_letters("QRS"), "letters='QRS' is not valid: expected one of XWO"),
        (lambda: Notation.from_letters("XWO", loss="LL"), "loss='LL' is not valid"),
        (lambda: Notation.from_letters("XWO", loss="1"), "loss='1' is not valid"),
        (lambda: Notation.from_letters("XWO", loss="X"), "loss='X' is not valid with letters"),
        (lambda: Notation.from_letters("xwo", loss="w"), "other than x, w, o, b"),
    ],
)
def test_refusals(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_subscripts_of_the_notes_example():
    """The notes count from 1 and drop the batch and channel of a single image: X_{23}."""
    notation = Notation()
    assert notation.subscript((0, 0, 1, 2), (1, 1, 3, 3)) == "23"
    assert notation.with_zero_based().subscript((0, 0, 1, 2), (1, 1, 3, 3)) == "12"
    assert notation.subscript((0, 0, 0, 9), (1, 1, 3, 12)) == "1,10"  # commas once past 9
    assert notation.subscript((1, 0, 2, 0), (2, 1, 3, 3)) == "231"  # a batch of 2 shows n
    assert notation.subscript((3,), (4,)) == "4"  # a bias keeps its one axis


def test_shown_axes():
    notation = Notation()
    assert notation.shown_axes((1, 1, 5, 5)) == (2, 3)
    assert notation.shown_axes((2, 1, 5, 5)) == (0, 2, 3)
    assert notation.shown_axes((1, 3, 5, 5)) == (1, 2, 3)
    assert notation.shown_axes((6,)) == (0,)
    assert notation.shown_axes((1,)) == (0,)


def parse_subscript(text):
    """What a reader means by a subscript: digits one by one, or comma-separated numbers."""
    return tuple(int(part) for part in (text.split(",") if "," in text else text))


@st.composite
def shapes_and_indices(draw):
    shape = tuple(draw(st.lists(st.integers(1, 14), min_size=4, max_size=4)))
    index = tuple(draw(st.integers(0, size - 1)) for size in shape)
    return shape, index


@given(shapes_and_indices(), st.booleans())
def test_full_index_inverts_subscript(shape_and_index, zero_based):
    shape, index = shape_and_index
    notation = Notation(zero_based=zero_based)
    shown = parse_subscript(notation.subscript(index, shape))
    assert notation.full_index(shown, shape) == index


def test_full_index_refusals():
    notation = Notation()
    with pytest.raises(ValueError, match=r"index \(1, 2, 3\) has 3 numbers.*takes 2"):
        notation.full_index((1, 2, 3), (1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"index 4 is out of range .* expected 1\.\.3"):
        notation.full_index((4, 1), (1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"index 0 is out of range .* expected 1\.\.3"):
        notation.full_index((0, 1), (1, 1, 3, 3))
    assert Notation(zero_based=True).full_index((0, 2), (1, 1, 3, 3)) == (0, 0, 0, 2)
