"""Notation: the letters and index style a reader writes, shared by the printers and the checker.

Lecture notes name the same tensors differently (X/F/O with loss L, x/w/o with loss E, A/K/Z
or A/W/Z in blog posts), count from 1, and drop the batch and channel indices when there is only
one of each. A :class:`Notation` holds those choices; :meth:`Notation.index` turns a contract
index (0-based, full tensor) into the subscript the reader expects and back.

>>> n = Notation.from_letters("xwo")
>>> n.name("X"), n.loss
('x', 'E')
>>> n.subscript((0, 0, 1, 2), (1, 1, 3, 3))
'23'
>>> n.subscript((0, 0, 1, 11), (1, 1, 3, 12))
'2,12'
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .options import check_loss_letter

#: Letter sets people use: input, kernel, output (and the loss letter that goes with them).
LETTER_SETS: dict[str, dict[str, str]] = {
    "XWO": {"X": "X", "W": "W", "O": "O", "B": "B", "loss": "L"},
    "XFO": {"X": "X", "W": "F", "O": "O", "B": "B", "loss": "L"},
    "xwo": {"X": "x", "W": "w", "O": "o", "B": "b", "loss": "E"},
    "AKZ": {"X": "A", "W": "K", "O": "Z", "B": "B", "loss": "L"},
    "AWZ": {"X": "A", "W": "W", "O": "Z", "B": "B", "loss": "L"},
}


@dataclass(frozen=True)
class Notation:
    """Letters for the tensors and the loss, and how indices are written.

    ``letters`` maps the contract's tensor names (``X``, ``W``, ``B``, ``O``) to the reader's.
    """

    letters: tuple[tuple[str, str], ...] = tuple(LETTER_SETS["XWO"].items())
    zero_based: bool = False

    @classmethod
    def from_letters(
        cls, letter_set: str = "XWO", *, loss: str | None = None, zero_based: bool = False
    ) -> Notation:
        """A notation from a letter set name (``XWO``, ``XFO``, ``xwo``, ``AKZ``, ``AWZ``)."""
        if letter_set not in LETTER_SETS:
            raise ValueError(
                f"letters={letter_set!r} is not valid: expected one of " + ", ".join(LETTER_SETS)
            )
        letters = dict(LETTER_SETS[letter_set])
        if loss is not None:
            taken = "".join(letters[tensor] for tensor in ("X", "W", "O", "B"))
            letters["loss"] = check_loss_letter(loss, taken, letter_set)
        return cls(tuple(letters.items()), zero_based)

    def name(self, tensor: str) -> str:
        """The reader's letter for a contract tensor name (``X``, ``W``, ``B``, ``O``)."""
        return dict(self.letters)[tensor]

    @property
    def loss(self) -> str:
        return dict(self.letters)["loss"]

    def with_zero_based(self, zero_based: bool = True) -> Notation:
        return replace(self, zero_based=zero_based)

    def shown_axes(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Axes that appear in subscripts: leading (batch, channel) axes of size 1 are dropped.

        A 4-D tensor always shows its last two (spatial) axes; a bias (1-D) shows its one.
        """
        keep_from = max(0, len(shape) - 2)
        leading = [axis for axis in range(keep_from) if shape[axis] > 1]
        return (*leading, *range(keep_from, len(shape)))

    def subscript(self, index: tuple[int, ...], shape: tuple[int, ...]) -> str:
        """The subscript of ``index`` as the reader writes it: ``'12'`` or ``'2,12'``."""
        base = 0 if self.zero_based else 1
        shown = [index[axis] + base for axis in self.shown_axes(shape)]
        separator = "," if any(value > 9 for value in shown) else ""
        return separator.join(str(value) for value in shown)

    def full_index(self, shown: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
        """Invert :meth:`subscript`: the reader's numbers -> the 0-based full-tensor index."""
        axes = self.shown_axes(shape)
        if len(shown) != len(axes):
            raise ValueError(
                f"index {shown} has {len(shown)} numbers; this tensor of shape {list(shape)}"
                f" takes {len(axes)}"
            )
        base = 0 if self.zero_based else 1
        index = [0] * len(shape)
        for axis, value in zip(axes, shown, strict=True):
            position = value - base
            if not 0 <= position < shape[axis]:
                low, high = base, shape[axis] - 1 + base
                raise ValueError(
                    f"index {value} is out of range for axis {axis} of a tensor of shape"
                    f" {list(shape)}: expected {low}..{high}"
                )
            index[axis] = position
        return tuple(index)
