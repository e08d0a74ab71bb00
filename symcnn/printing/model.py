"""The notes as a small document: steps made of headings, prose and displayed equations.

The model is format-neutral: prose is a sequence of plain strings and inline math (SymPy trees,
see :mod:`symcnn.printing.nodes`), equations are sequences of sides, and every printer (LaTeX,
Markdown, text) walks the same steps.

>>> from sympy import Symbol
>>> from symcnn.printing.nodes import Element
>>> eq = Equation((Element("O", (0, 0, 0, 0)), Symbol("x_0_0_0_0")))
>>> eq.lhs, eq.rhs
(Element(O, (0, 0, 0, 0)), (x_0_0_0_0,))
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field

from sympy import Basic


@dataclass(frozen=True)
class Equation:
    """``sides[0] = sides[1] = ...``; equations of one ``group`` may share a printed line.

    ``checked``: every ``=`` was evaluated on this layer, both sides equal in shape and entries
    (:func:`symcnn.printing.checked.checked` builds such equations).
    """

    sides: tuple[Basic, ...]
    group: Hashable = None
    checked: bool = False

    @property
    def lhs(self) -> Basic:
        return self.sides[0]

    @property
    def rhs(self) -> tuple[Basic, ...]:
        return self.sides[1:]


@dataclass(frozen=True)
class Elision:
    """Entries left out of a display: how many are shown of how many, and of what."""

    shown: int
    total: int
    what: str
    where: str = ""  # which positions along each axis are shown, in words


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a step: plain strings and inline math."""

    parts: tuple[str | Basic, ...]


@dataclass(frozen=True)
class Paragraph:
    """Prose: plain strings and inline math, in reading order."""

    parts: tuple[str | Basic, ...]


@dataclass(frozen=True)
class Display:
    """Displayed equations, one per line (``packed``: short equations of a group share a line)."""

    equations: tuple[Equation, ...]
    packed: bool = False
    elision: Elision | None = None


Block = Heading | Paragraph | Display


@dataclass(frozen=True)
class Step:
    """One step of the notes (setup, forward pass, local gradients, ...)."""

    key: str
    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def equations(self) -> Iterator[Equation]:
        """Every displayed equation of the step, in order."""
        for block in self.blocks:
            if isinstance(block, Display):
                yield from block.equations

    def math(self) -> Iterator[Basic]:
        """Every piece of math of the step: equation sides and inline math in prose."""
        for block in self.blocks:
            if isinstance(block, Display):
                for equation in block.equations:
                    yield from equation.sides
            else:
                yield from (part for part in block.parts if isinstance(part, Basic))
