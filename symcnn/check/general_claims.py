"""General-formula claims: ``dL/dW_{m,n} = Σ_{i,j} dL/dO_{i,j} · X_{i+m-1, j+n-1}``, checked.

A teacher writes the general formula first, and students hand it in on exams. This module
reads such a claim in the notations people write, and instantiates it at every index of its
tensor, so that the checker compares each entry with the exact derivation like any other
claim (and names the mistake through the same diagnoses):

- the left side is a derivative of the loss by a tensor entry with *free indices*
  (``\\frac{\\partial L}{\\partial W_{m,n}}``, ``dL/dX_{h,w}``, ``∂L/∂W_{pq}``, ``∂L/∂Bₖ``);
  one free index per axis the entries show (``W_{mn}`` for a one-channel kernel), or one per
  axis of the tensor;
- sums: ``\\sum_{i=1}^{2}``, ``sum_{i=1}^{2}``, ``Σ_{i=1}^{2}``, ``Σ[i=1..2]`` (as the text
  notes print it), ``\\sum_{i,j=1}^{2}``, and ``\\sum_{i,j}`` without bounds, the index then
  running over the axis it reads (``dL/dO_{i,j}``);
- index arithmetic with integer coefficients (``X_{2(i-1)+m}``, ``X_{S(i-1)+m}`` with the
  layer's stride ``S``, padding ``P`` and dilation ``D``), quotients, ``floor``, ``ceil``,
  ``max``, ``min``, ``mod``; ``H_{out}`` and ``W_{out}`` are the output's height and width;
- conditions: Iverson brackets ``[cond]`` (``\\mathbb{1}[cond]``), cases (``\\begin{cases}``,
  ``{a if cond; 0 otherwise}``), with ``=``, ``≠``, ``<``, ``≤``, ``>``, ``≥``, divisibility
  ``S | e`` (``\\mid``), joined by ``and`` or commas;
- an entry read outside its tensor, or at an index that is not a whole number, is zero: a sum
  may run wider than the terms present. Indices count from 1 unless the checker's zero-based
  option is given.

Nothing here evaluates text: the claim is parsed by hand into a small tree, and the tree is
evaluated over exact integers and fractions.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from sympy import Add, Basic, Integer, Mul, Rational, Symbol

from ..derive import Derivation
from ..indexform import derivation as general_derivation
from .source import Statement

#: Most terms (summation points) one general claim may instantiate, over all its entries: a
#: hand derivation's layer is small, and each point costs microseconds in Python.
MAX_POINTS = 200_000
#: Most terms one entry's value may hold while it is multiplied out (a product of sums).
MAX_TERMS = 100_000
#: Longest run of digits read as a number in a general formula.
MAX_DIGITS = 9

Poly = dict  # {sorted symbol names: Fraction}: a polynomial in the tensors' entries


class GeneralFormulaError(ValueError):
    """A general-formula claim that cannot be read or instantiated, with its file offset."""

    def __init__(self, message: str, offset: int, *, not_a_claim: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        # A notation this reader does not take (a Jacobian, a symbolic size M): the statement
        # is reported as not checked, as before; any other error makes the claim unusable.
        self.not_a_claim = not_a_claim
        self.written = ""  # the left side, once it reads: ∂L/∂W_{m,n}


class NotAGradient(Exception):
    """The statement's left side is no derivative of the loss by a tensor of the layer."""


@dataclass(frozen=True)
class GeneralClaim:
    """A general formula instantiated: ``(index, value)`` for every entry of ``tensor``."""

    tensor: str
    entries: tuple[tuple[tuple[int, ...], Basic], ...]
    offset: int
    written: str


# -- does a statement look like one? ---------------------------------------------------------

_SUM_SIGN = re.compile(r"\\sum(?![A-Za-z])|Σ|∑|(?<![A-Za-z\\])sum\s*[_\[]")
_LETTER_INDEX = re.compile(
    r"(?:\\partial\s*|∂|(?<![A-Za-z\\])d)\s*\{?\s*[A-Za-z]\s*"
    r"(?:_\s*\{[^{}=]*[A-Za-z][^{}=]*\}|_\s*[A-Za-z]|[ᵢⱼₖₗₘₙₚₛₜₐₑₒₓₕ]+|\[[^\]=]*[A-Za-z][^\]=]*\])"
)


def looks_general(text: str) -> bool:
    """A sum sign after the first ``=``, or free indices in the left side's derivative."""
    equals = _top_level_equals(text)
    if equals is None:
        return False
    return bool(_SUM_SIGN.search(text, equals) or _LETTER_INDEX.search(text[:equals]))


def _top_level_equals(text: str) -> int | None:
    depth = 0
    for position, char in enumerate(text):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif char == "=" and depth == 0 and text[position + 1 : position + 2] != "=":
            return position
    return None


# -- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "word", "sub" (subscript characters), "cmd", "sym", "end"
    text: str
    position: int  # in the statement's text


_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼ", "0123456789aeoxhklmnpstij")
_SUBSCRIPT_CHARS = "₀₁₂₃₄₅₆₇₈₉ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼ"
#: LaTeX commands that carry no mathematics here.
_SKIPPED = {
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
    "displaystyle", "textstyle", "limits", "nolimits", "quad", "qquad", "!", ",", ";", ":", " ",
}  # fmt: skip
#: LaTeX commands -> the symbol they stand for.
_COMMANDS = {
    "cdot": "*", "times": "*", "ast": "*",
    "le": "<=", "leq": "<=", "leqslant": "<=", "ge": ">=", "geq": ">=", "geqslant": ">=",
    "ne": "!=", "neq": "!=", "lt": "<", "gt": ">",
    "mid": "|", "vert": "|", "land": "and", "wedge": "and",
    "lfloor": "lfloor", "rfloor": "rfloor", "lceil": "lceil", "rceil": "rceil",
    "max": "max", "min": "min", "bmod": "mod", "mod": "mod",
    "sum": "sum", "partial": "partial", "delta": "delta", "frac": "frac", "dfrac": "frac",
    "tfrac": "frac", "{": "{", "}": "}", "lbrack": "[", "rbrack": "]", "lbrace": "{",
    "rbrace": "}",
}  # fmt: skip
_SYMBOLS = {
    "·": "*", "⋅": "*", "×": "*", "−": "-", "≤": "<=", "≥": ">=", "≠": "!=", "∂": "partial",
    "Σ": "sum", "∑": "sum", "δ": "delta", "∧": "and", "∣": "|",
}  # fmt: skip
_TWO = ("<=", ">=", "!=", "==", "..")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if text.startswith(("...", "…", "⋯", "\\cdots", "\\ldots", "\\dots"), position):
            raise GeneralFormulaError(
                "'...' leaves terms out: an abridged sum is not checked (write every term)",
                position,
                not_a_claim=True,
            )
        if char.isspace() or char == "&" or char == "$":
            position += 1
            continue
        if char == "\\":
            position = _command(text, position, tokens)
            continue
        if char.isdigit():
            end = position
            while end < len(text) and text[end].isdigit():
                end += 1
            if end - position > MAX_DIGITS:
                raise GeneralFormulaError(f"a number of {end - position} digits", position)
            tokens.append(Token("num", text[position:end], position))
            position = end
            continue
        if char.isascii() and char.isalpha():
            end = position
            while end < len(text) and text[end].isascii() and text[end].isalpha():
                end += 1
            if end == position + 1:  # c2, i1: an index letter with a number (as printed)
                while end < len(text) and text[end].isdigit() and end - position <= MAX_DIGITS:
                    end += 1
            tokens.append(Token("word", text[position:end], position))
            position = end
            continue
        if char in _SUBSCRIPT_CHARS:
            end = position
            while end < len(text) and text[end] in _SUBSCRIPT_CHARS:
                end += 1
            tokens.append(Token("sub", text[position:end].translate(_SUBSCRIPTS), position))
            position = end
            continue
        if text[position : position + 2] in _TWO:
            tokens.append(Token("sym", text[position : position + 2], position))
            position += 2
            continue
        if char in _SYMBOLS:
            symbol = _SYMBOLS[char]
            tokens.append(Token("cmd" if symbol.isalpha() else "sym", symbol, position))
            position += 1
            continue
        if char in "+-*/()[]{},=<>|_^;'":
            tokens.append(Token("sym", char, position))
            position += 1
            continue
        raise GeneralFormulaError(f"cannot read {char!r} in a general formula", position)
    tokens.append(Token("end", "", len(text)))
    return tokens


_TEXT_COMMAND = re.compile(
    r"\\(?:text|mathrm|operatorname|textrm|mathit|textnormal)\s*\{([^{}]*)\}"
)
_BLACKBOARD_ONE = re.compile(r"\\(?:mathbb|mathbf|mathds|mathbbm)\s*\{\s*[1I]\s*\}")
_ENVIRONMENT = re.compile(r"\\(begin|end)\s*\{\s*([A-Za-z]+\*?)\s*\}")


def _command(text: str, position: int, tokens: list[Token]) -> int:
    """One backslash command at ``position``: its tokens appended, the position after it."""
    for pattern in (_TEXT_COMMAND, _BLACKBOARD_ONE, _ENVIRONMENT):
        match = pattern.match(text, position)
        if match is None:
            continue
        if pattern is _TEXT_COMMAND:
            for word in re.finditer(r"[A-Za-z]+|\d+", match.group(1)):
                kind = "num" if word.group().isdigit() else "word"
                tokens.append(Token(kind, word.group(), position + match.start(1) + word.start()))
        elif pattern is _BLACKBOARD_ONE:
            tokens.append(Token("cmd", "one", position))
        else:
            begin, name = match.groups()
            if name.rstrip("*") not in ("cases", "dcases"):
                raise GeneralFormulaError(f"the environment {name} in a general formula", position)
            tokens.append(Token("cmd", f"{begin}_cases", position))
        return match.end()
    if text.startswith("\\\\", position):  # a row of cases, with its optional spacing
        match = re.compile(r"\\\\\*?(?:\s*\[[^\[\]]{0,20}\])?").match(text, position)
        tokens.append(Token("cmd", "row", position))
        return match.end()
    match = re.compile(r"\\([A-Za-z]+|.)").match(text, position)
    if match is None:
        raise GeneralFormulaError("a lone backslash", position)
    name = match.group(1)
    if name in _SKIPPED:
        return match.end()
    if name in _COMMANDS:
        symbol = _COMMANDS[name]
        kind = "sym" if not symbol.isalpha() or symbol in ("and",) else "cmd"
        kind = "word" if symbol in ("and", "max", "min", "mod") else kind
        tokens.append(Token(kind, symbol, position))
        return match.end()
    raise GeneralFormulaError(
        f"the LaTeX command \\{name} is not read in a general formula", position
    )


# -- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: Fraction


@dataclass(frozen=True)
class Var:
    name: str
    position: int


@dataclass(frozen=True)
class Read:
    """``letter[items]``: a tensor entry; ``tensor`` is its role (X, W, B, G, or O for dL/dO)."""

    tensor: str
    items: tuple  # nodes
    joined: str | None  # "pq": one letter (or digit) per axis, when the axes call for it
    position: int


@dataclass(frozen=True)
class Op:
    """``+`` (args are (sign, node) pairs), ``*``, ``/``, ``mod``, ``max``, ``min``, ``floor``,
    ``ceil``."""

    name: str
    args: tuple
    position: int


@dataclass(frozen=True)
class SumOver:
    var: str
    low: object | None  # None: over the axis the variable reads
    high: object | None
    body: object
    position: int


@dataclass(frozen=True)
class Relation:
    """A chain ``a op b op c``; ``|`` is divisibility (``a | b``: ``a`` divides ``b``)."""

    ops: tuple[str, ...]
    items: tuple
    position: int


@dataclass(frozen=True)
class AllOf:
    items: tuple


@dataclass(frozen=True)
class Cases:
    pieces: tuple  # (value, condition or None for otherwise)


# -- the parser -----------------------------------------------------------------------------


_STOP_WORDS = {"if", "and", "or", "otherwise", "else", "for", "where", "when"}
_FUNCTIONS = {"max": "max", "min": "min", "floor": "floor", "ceil": "ceil", "ceiling": "ceil"}


class _Parser:
    def __init__(self, tokens: list[Token], role: Callable[[str], str | None], loss: str):
        self.tokens = tokens
        self.at = 0
        self.role = role
        self.loss = loss
        self.lhs: tuple | None = None  # (letter, subscript, position) once the left side reads

    # helpers
    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.token
        self.at += 1
        return token

    def is_sym(self, *texts: str) -> bool:
        return self.token.kind == "sym" and self.token.text in texts

    def is_cmd(self, *texts: str) -> bool:
        return self.token.kind == "cmd" and self.token.text in texts

    def is_word(self, *texts: str) -> bool:
        return self.token.kind == "word" and self.token.text in texts

    def expect(self, text: str) -> Token:
        if self.token.text != text or self.token.kind not in ("sym", "cmd", "word"):
            found = "the end" if self.token.kind == "end" else repr(self.token.text)
            raise self.error(f"expected {text!r}, found {found}")
        return self.take()

    def error(self, message: str, token: Token | None = None) -> GeneralFormulaError:
        return GeneralFormulaError(message, (token or self.token).position)

    # the statement
    def statement(self):
        try:
            lhs = self.derivative(left=True)
        except GeneralFormulaError:  # a left side of another shape: the entry reader's
            raise NotAGradient from None
        if lhs is None or not self.is_sym("="):
            raise NotAGradient
        self.lhs = lhs
        self.take()
        rhs = self.expression()
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.token.text!r} here")
        return lhs, rhs

    def derivative(self, left: bool = False) -> tuple[str, Read | None, int] | None:
        """``dL/dT_{...}`` in any spelling, or None (the tokens left as they were)."""
        start = self.at
        token = self.token
        if self.is_cmd("frac"):
            self.take()
            self.expect("{")
            top = self.differential()
            if top is None or not self.is_sym("}"):
                self.at = start
                return None
            self.take()
            self.expect("{")
            bottom = self.differential()
            if bottom is None:
                self.at = start
                return None
            self.expect("}")
        else:
            top = self.differential()
            if top is None or not self.is_sym("/"):
                self.at = start
                return None
            self.take()
            bottom = self.differential()
            if bottom is None:
                self.at = start
                return None
        if top[0] != self.loss or top[1] is not None:
            if left:
                raise NotAGradient
            raise GeneralFormulaError(
                "it holds a local partial or a Jacobian; general formulas are read when written"
                " with the layer's tensors",
                token.position,
                not_a_claim=True,
            )
        letter, subscript = bottom
        return letter, subscript, token.position

    def differential(self) -> tuple[str, tuple | None] | None:
        """``∂X_{..}``, ``\\partial X``, ``dX..``, ``d X``: (letter, subscript items or None)."""
        token = self.token
        if self.is_cmd("partial"):
            self.take()
            if self.token.kind != "word":
                return None
            word = self.take()
            if len(word.text) != 1:
                raise self.error(f"∂ must be followed by one letter, not {word.text!r}", word)
            letter = word.text
        elif token.kind == "word" and token.text == "d" and self.peek().kind == "word":
            self.take()
            word = self.take()
            if len(word.text) != 1:
                return None
            letter = word.text
        elif token.kind == "word" and len(token.text) == 2 and token.text[0] == "d":
            self.take()
            letter = token.text[1]
        else:
            return None
        return letter, self.subscript()

    def subscript(self) -> tuple | None:
        """The items of ``_{a,b}``, ``_a``, ``ᵢⱼ`` or ``[a,b]``; None when there is none."""
        if self.token.kind == "sub":
            token = self.take()
            return ("joined", token.text, token.position)
        if self.is_sym("_"):
            self.take()
            if self.is_sym("{"):
                self.take()
                items = self.index_items("}")
                self.expect("}")
                return items
            token = self.take()
            if token.kind in ("num", "word"):
                return ("joined", token.text, token.position)
            raise self.error("expected an index after _", token)
        if self.is_sym("["):
            self.take()
            items = self.index_items("]")
            self.expect("]")
            return items
        return None

    def index_items(self, closing: str) -> tuple:
        first = self.token
        if (
            first.kind in ("word", "num")
            and self.peek().kind == "sym"
            and self.peek().text == closing
        ):
            self.take()
            return ("joined", first.text, first.position)
        items = [self.expression()]
        while self.is_sym(","):
            self.take()
            items.append(self.expression())
        return ("items", tuple(items), first.position)

    # expressions
    def expression(self):
        terms = []
        sign = 1
        position = self.token.position
        if self.is_sym("+", "-"):
            sign = -1 if self.take().text == "-" else 1
        terms.append((sign, self.term()))
        while self.is_sym("+", "-"):
            sign = -1 if self.take().text == "-" else 1
            terms.append((sign, self.term()))
        if len(terms) == 1 and terms[0][0] == 1:
            return terms[0][1]
        return Op("+", tuple(terms), position)

    def term(self):
        position = self.token.position
        factors = [self.factor()]
        while True:
            if self.is_sym("*"):
                self.take()
                factors.append(self.factor())
            elif self.is_sym("/"):
                self.take()
                factors = [Op("/", (_product(factors, position), self.factor()), position)]
            elif self.is_word("mod"):
                self.take()
                factors = [Op("mod", (_product(factors, position), self.factor()), position)]
            elif self.starts_factor():
                factors.append(self.factor())
            else:
                return _product(factors, position)

    def starts_factor(self) -> bool:
        token = self.token
        if token.kind == "num":
            return True
        if token.kind == "word":
            return token.text not in _STOP_WORDS and token.text != "mod"
        if token.kind == "cmd":
            return token.text in ("frac", "partial", "sum", "one", "begin_cases", "lfloor", "lceil")
        return token.kind == "sym" and token.text in ("(", "[", "{")

    def factor(self):
        token = self.token
        if self.is_cmd("sum") or self.is_word("sum"):
            return self.sum()
        derivative = self.derivative()
        if derivative is not None:
            letter, subscript, position = derivative
            role = self.role(letter)
            if role != "O":
                raise self.error(
                    f"∂{self.loss}/∂{letter} on the right side is a gradient being derived: write"
                    " it with the output's gradient and the layer's tensors",
                    token,
                )
            return self.read("O", subscript, position)
        if token.kind == "num":
            self.take()
            return Num(Fraction(int(token.text)))
        if self.is_cmd("frac"):
            self.take()
            self.expect("{")
            top = self.expression()
            self.expect("}")
            self.expect("{")
            bottom = self.expression()
            self.expect("}")
            return Op("/", (top, bottom), token.position)
        if self.is_sym("("):
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        if self.is_sym("{"):
            self.take()
            inner = self.expression()
            if self.is_word("if"):
                return self.text_cases(inner)
            self.expect("}")
            return inner
        if self.is_sym("[") or self.is_cmd("one"):
            if self.is_cmd("one"):
                self.take()
                if self.is_sym("_"):
                    self.take()
            closing = "]" if self.is_sym("[") else "}"
            self.take()
            condition = self.condition()
            self.expect(closing)
            return Cases(((Num(Fraction(1)), condition),))
        if self.is_cmd("begin_cases"):
            return self.latex_cases()
        if self.is_cmd("lfloor", "lceil"):
            name = "floor" if self.take().text == "lfloor" else "ceil"
            inner = self.expression()
            self.expect("rfloor" if name == "floor" else "rceil")
            return Op(name, (inner,), token.position)
        if token.kind == "word":
            return self.word()
        found = "the end" if token.kind == "end" else repr(token.text)
        raise self.error(f"expected a term, found {found}")

    def word(self):
        token = self.take()
        text = token.text
        numbered = re.fullmatch(r"([A-Za-z])(\d+)", text)
        if numbered:  # X12: an entry (the reader's joined digits); c2: an index variable
            tensor = self.role(numbered.group(1))
            if tensor in ("X", "W", "B", "G"):
                return Read(tensor, (), numbered.group(2), token.position)
            return Var(text, token.position)
        if text in _FUNCTIONS:
            self.expect("(")
            args = [self.expression()]
            while self.is_sym(","):
                self.take()
                args.append(self.expression())
            self.expect(")")
            return Op(_FUNCTIONS[text], tuple(args), token.position)
        if len(text) > 1:
            # "pq" outside a subscript: a product of index letters; the last one may be a tensor
            letters = [Var(char, token.position + k) for k, char in enumerate(text[:-1])]
            last = Token("word", text[-1], token.position + len(text) - 1)
            return Op("*", (*letters, self.letter(last)), token.position)
        return self.letter(token)

    def letter(self, token: Token):
        role = self.role(token.text)
        subscript = self.subscript() if role is not None or self.is_sym("_") else None
        if subscript is None:  # an index letter, or a tensor of one entry (resolved later)
            return Var(token.text, token.position)
        if subscript[0] == "joined" and subscript[1] == "out" and token.text in "HW":
            return Var(token.text + "_out", token.position)
        if role is None and subscript[0] == "joined" and subscript[1].isdigit():
            return Var(token.text + subscript[1], token.position)  # c_{2}: the index c2
        if role is None:
            raise self.error(f"{token.text} with an index is not a tensor of this layer", token)
        if role in ("O", "loss"):
            raise self.error(
                f"{token.text} is the output itself: did you mean its gradient"
                f" ∂{self.loss}/∂{token.text}?",
                token,
            )
        return self.read(role, subscript, token.position)

    def read(self, tensor: str, subscript, position: int) -> Read:
        if subscript is None:
            return Read(tensor, (), None, position)
        if subscript[0] == "joined":
            return Read(tensor, (), subscript[1], position)
        return Read(tensor, subscript[1], None, position)

    def sum(self):
        token = self.take()
        if self.is_sym("["):  # Σ[p=1..3], as the text notes print it
            self.take()
            var = self.variable()
            self.expect("=")
            low = self.expression()
            self.expect("..")
            high = self.expression()
            self.expect("]")
            return SumOver(var, low, high, self.term(), token.position)
        self.expect("_")
        names, low, high = [], None, None
        if self.is_sym("{"):
            self.take()
            names.append(self.variable())
            while self.is_sym(","):
                self.take()
                names.append(self.variable())
            if self.is_sym("="):
                self.take()
                low = self.expression()
            self.expect("}")
        else:
            names.append(self.variable())
        # \sum_{ij}: over i and j; c2 is one index
        names = [part for name in names for part in (name if name.isalpha() else [name])]
        if self.is_sym("^"):
            self.take()
            if low is None:
                raise self.error("an upper bound without a lower one")
            if self.is_sym("{"):
                self.take()
                high = self.expression()
                self.expect("}")
            else:
                bound = self.take()
                if bound.kind == "num":
                    high = Num(Fraction(int(bound.text[0])))
                    if len(bound.text) > 1:
                        raise self.error("write a bound of several digits in braces", bound)
                elif bound.kind == "word" and len(bound.text) == 1:
                    high = Var(bound.text, bound.position)
                else:
                    raise self.error("expected the sum's upper bound", bound)
        elif low is not None:
            raise self.error("a lower bound without an upper one")
        body = self.term()
        for name in reversed(names):
            body = SumOver(name, low, high, body, token.position)
        return body

    def variable(self) -> str:
        token = self.take()
        if token.kind != "word":
            raise self.error("expected an index letter", token)
        if len(token.text) == 1 and self.is_sym("_"):  # c_{2}, c_2: the index c2
            self.take()
            braced = self.is_sym("{")
            if braced:
                self.take()
            number = self.take()
            if number.kind != "num":
                raise self.error("expected an index letter", number)
            if braced:
                self.expect("}")
            return token.text + number.text
        return token.text

    def condition(self):
        items = [self.relation()]
        while self.is_word("and") or self.is_sym(","):
            self.take()
            items.append(self.relation())
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def relation(self):
        position = self.token.position
        items, ops = [self.expression()], []
        while self.is_sym("=", "==", "!=", "<", "<=", ">", ">=", "|"):
            ops.append(self.take().text)
            items.append(self.expression())
        if not ops:
            raise self.error("expected a condition (a comparison) here")
        return Relation(tuple(ops), tuple(items), position)

    def text_cases(self, first):
        """``{a if cond; b otherwise}``, the opening ``{`` and ``a`` read."""
        pieces = []
        value = first
        while True:
            if self.is_word("if"):
                self.take()
                pieces.append((value, self.condition()))
            else:
                self.expect("otherwise")
                pieces.append((value, None))
            if self.is_sym(";", ","):
                self.take()
                value = self.expression()
                continue
            self.expect("}")
            return Cases(tuple(pieces))

    def latex_cases(self):
        self.take()
        pieces = []
        while True:
            value = self.expression()
            if self.is_sym(","):
                self.take()
            if self.is_word("if"):
                self.take()
                pieces.append((value, self.condition()))
            elif self.is_word("otherwise", "else"):
                self.take()
                pieces.append((value, None))
            else:
                pieces.append((value, self.condition()))
            if self.is_cmd("row"):
                self.take()
                if self.is_cmd("end_cases"):
                    break
                continue
            break
        self.expect("end_cases")
        return Cases(tuple(pieces))


def _product(factors: list, position: int):
    return factors[0] if len(factors) == 1 else Op("*", tuple(factors), position)


# -- instantiating ----------------------------------------------------------------------------


class _Zero(Exception):
    """A read outside its tensor or at a fraction: the term is zero."""


class _Evaluator:
    """Evaluates a claim's tree at one assignment of its indices, exactly."""

    def __init__(
        self,
        derivation: Derivation,
        zero_based: bool,
        shown: Callable,
        role: Callable,
        max_terms: int = MAX_TERMS,
    ):
        self.derivation = derivation
        self.max_terms = max_terms
        self.role = role
        self.base = 0 if zero_based else 1
        self.shown = shown
        self.names = {}
        for name, array in vars(derivation.tensors).items():
            if array is not None and name in ("X", "W", "B", "G"):
                self.names[name] = array
        self.scale = Fraction(int(derivation.upstream_scale.p), int(derivation.upstream_scale.q))
        self.points = 0
        window = derivation.spec.window
        self.parameters = {}
        if window is not None:
            self.parameters = {"S": window.stride, "P": window.padding, "D": window.dilation}
        out = derivation.output.shape
        if len(out) == 4:
            self.parameters["H_out"] = (out[2], out[2])
            self.parameters["W_out"] = (out[3], out[3])
        self.ranges: dict[int, tuple[int, int]] = {}

    def value(self, node, env: dict, axis: int | None = None):
        """A Fraction for index arithmetic, a :data:`Poly` for tensor expressions."""
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Var):
            return self.variable(node, env, axis)
        if isinstance(node, Read):
            return self.read(node, env)
        if isinstance(node, SumOver):
            return self.sum(node, env)
        if isinstance(node, Cases):
            for value, condition in node.pieces:
                if condition is None or self.holds(condition, env):
                    return self.value(value, env, axis)
            return {}
        if isinstance(node, Op):
            return self.op(node, env, axis)
        raise GeneralFormulaError("a condition where a value belongs", 0)  # pragma: no cover

    def variable(self, node: Var, env: dict, axis: int | None):
        if node.name in env:
            return Fraction(env[node.name])
        tensor = self.role(node.name)
        if tensor in self.names and self.names[tensor].size == 1:  # B alone: the one bias
            return {(self.names[tensor].flat[0].name,): Fraction(1)}
        if node.name in self.parameters:
            pair = self.parameters[node.name]
            if axis is not None and axis >= 2:
                return Fraction(pair[axis - 2])
            if pair[0] == pair[1]:
                return Fraction(pair[0])
            raise GeneralFormulaError(
                f"{node.name} is {pair[0]} along the height and {pair[1]} along the width:"
                " write the number where it is not an index of a tensor",
                node.position,
            )
        known = ", ".join(sorted(env)) or "none"
        raise GeneralFormulaError(
            f"{node.name} is not an index of this formula (its indices: {known}) nor one of the"
            " layer's numbers S, P, D",
            node.position,
        )

    def op(self, node: Op, env: dict, axis):
        if node.name == "+":
            total = Fraction(0)
            for sign, arg in node.args:
                total = _add(total, _scale(self.value(arg, env, axis), sign))
            return total
        if node.name == "*":
            product = Fraction(1)
            for arg in node.args:
                product = _multiply(product, self.value(arg, env, axis))
            return product
        values = [self.value(arg, env, axis) for arg in node.args]
        if node.name == "/":
            top, bottom = values
            if isinstance(bottom, dict):
                bottom = _number_of(bottom)
                if bottom is None:
                    raise GeneralFormulaError("a division by a tensor entry", node.position)
            if bottom == 0:
                raise GeneralFormulaError("a division by zero", node.position)
            return _scale(top, 1 / bottom)
        numbers = [_number_of(v) if isinstance(v, dict) else v for v in values]
        if any(number is None for number in numbers):
            raise GeneralFormulaError(f"{node.name} of a tensor entry", node.position)
        if node.name == "mod":
            if numbers[1] == 0:
                raise GeneralFormulaError("mod 0", node.position)
            return numbers[0] % numbers[1]
        if node.name == "max":
            return max(numbers)
        if node.name == "min":
            return min(numbers)
        if node.name == "floor":
            return Fraction(math.floor(numbers[0]))
        return Fraction(math.ceil(numbers[0]))  # ceil

    def index_number(self, node, env: dict, axis: int | None) -> Fraction:
        value = self.value(node, env, axis)
        if isinstance(value, dict):
            number = _number_of(value)
            if number is None:
                raise GeneralFormulaError("a tensor entry inside an index", _where(node))
            return number
        return value

    def holds(self, condition, env: dict) -> bool:
        if isinstance(condition, AllOf):
            return all(self.holds(item, env) for item in condition.items)
        try:
            values = [self.index_number(item, env, None) for item in condition.items]
        except GeneralFormulaError as error:
            if not error.message.startswith("a tensor entry"):
                raise
            raise GeneralFormulaError(
                "a condition on the tensors' values (a tie rule) is not read in a general"
                " formula: write the entries",
                error.offset,
                not_a_claim=True,
            ) from None
        for op, left, right in zip(condition.ops, values, values[1:], strict=False):
            if op == "|":
                ok = right == 0 if left == 0 else (right / left).denominator == 1
            else:
                ok = {
                    "=": left == right,
                    "==": left == right,
                    "!=": left != right,
                    "<": left < right,
                    "<=": left <= right,
                    ">": left > right,
                    ">=": left >= right,
                }[op]
            if not ok:
                return False
        return True

    def axes(self, tensor: str, count: int, position: int) -> tuple[tuple[int, ...], tuple]:
        """(the full axes a read of ``count`` indices names, the tensor's shape)."""
        shape = self.shape(tensor)
        shown = self.shown(shape)
        if count == len(shown):
            return tuple(shown), shape
        if count == len(shape):
            return tuple(range(len(shape))), shape
        if count == 0 and int(np.prod(shape)) == 1:
            return (), shape
        letter = "dL/dO" if tensor == "O" else tensor
        indices = "1 index" if count == 1 else f"{count} indices"
        raise GeneralFormulaError(
            f"{letter} with {indices}: this tensor of shape {list(shape)} takes {len(shown)}"
            + (f" (or {len(shape)})" if len(shape) != len(shown) else ""),
            position,
        )

    def shape(self, tensor: str) -> tuple[int, ...]:
        if tensor == "O":
            return self.derivation.output.shape
        if tensor == "G":
            return self.derivation.output.shape
        return self.names[tensor].shape

    def items(self, node: Read) -> tuple:
        if node.joined is None:
            return node.items
        text = node.joined
        count = len(self.axes(node.tensor, len(text), node.position)[0]) if len(text) > 1 else 1
        if len(text) > 1 and count != len(text):  # pragma: no cover - axes() raises first
            raise GeneralFormulaError("ambiguous index", node.position)
        return tuple(
            Num(Fraction(int(c))) if c.isdigit() else Var(c, node.position + k)
            for k, c in enumerate(text)
        )

    def read(self, node: Read, env: dict) -> Poly:
        items = self.items(node)
        axes, shape = self.axes(node.tensor, len(items), node.position)
        index = [0] * len(shape)
        for axis, item in zip(axes, items, strict=True):
            value = self.index_number(item, env, axis if len(shape) == 4 else None) - self.base
            if value.denominator != 1 or not 0 <= value < shape[axis]:
                return {}
            index[axis] = int(value)
        if node.tensor == "O":
            return {(self.names["G"][tuple(index)].name,): self.scale}
        return {(self.names[node.tensor][tuple(index)].name,): Fraction(1)}

    def bounds(self, node: SumOver, env: dict) -> tuple[int, int]:
        """The sum's first and last index (whole numbers) at ``env``."""
        if node.var in env:
            raise GeneralFormulaError(
                f"the sum's index {node.var} is already in use", node.position
            )
        if node.low is None:
            return self.axis_range(node)
        try:
            low = math.ceil(self.index_number(node.low, env, None))
            high = math.floor(self.index_number(node.high, env, None))
        except GeneralFormulaError as error:  # a symbolic size (M, N): not this layer's
            raise GeneralFormulaError(error.message, error.offset, not_a_claim=True) from None
        return low, high

    def count(self, node, env: dict) -> int:
        """How many summation points ``node`` visits at ``env`` (reads are not evaluated)."""
        if isinstance(node, SumOver):
            low, high = self.bounds(node, env)
            total = max(high - low + 1, 0)
            if not _has_sum(node.body):
                return total
            inner = dict(env)
            for value in range(low, high + 1):
                inner[node.var] = value
                total += self.count(node.body, inner)
                if total > MAX_POINTS:
                    break
            return total
        if isinstance(node, Op):
            return sum(self.count(arg[1] if node.name == "+" else arg, env) for arg in node.args)
        if isinstance(node, Cases):
            return sum(self.count(value, env) for value, _ in node.pieces)
        return 0

    def sum(self, node: SumOver, env: dict) -> Poly | Fraction:
        low, high = self.bounds(node, env)
        total: Poly = {}  # accumulated in place: a long sum costs its terms, not their square
        number = Fraction(0)
        inner = dict(env)
        for value in range(low, high + 1):
            inner[node.var] = value
            term = self.value(node.body, inner)
            if not isinstance(term, dict):
                number += term
                continue
            for key, coefficient in term.items():
                updated = total.get(key, 0) + coefficient
                if updated:
                    total[key] = updated
                else:
                    del total[key]
            if len(total) > self.max_terms:
                raise GeneralFormulaError(
                    f"the formula's entry holds more than {self.max_terms:,} terms, the limit"
                    " per claim (raise it with --max-claim-terms)",
                    node.position,
                )
        if not total:
            return number
        return _add(total, number) if number else total

    def axis_range(self, node: SumOver) -> tuple[int, int]:
        """An unbounded sum's range: the axis of a read its variable indexes alone."""
        key = id(node)
        if key not in self.ranges:
            for read in _reads(node.body):
                items = self.items(read)
                axes, shape = self.axes(read.tensor, len(items), read.position)
                for axis, item in zip(axes, items, strict=True):
                    if isinstance(item, Var) and item.name == node.var:
                        self.ranges[key] = (self.base, shape[axis] - 1 + self.base)
                        break
                if key in self.ranges:
                    break
            else:
                raise GeneralFormulaError(
                    f"the sum over {node.var} has no bounds, and {node.var} is no index of a"
                    " tensor on its own: give the bounds",
                    node.position,
                )
        return self.ranges[key]


def _has_sum(node) -> bool:
    if isinstance(node, SumOver):
        return True
    if isinstance(node, Op):
        return any(_has_sum(arg[1] if node.name == "+" else arg) for arg in node.args)
    if isinstance(node, Cases):
        return any(_has_sum(value) for value, _ in node.pieces)
    return False


def _reads(node):
    if isinstance(node, Read):
        yield node
    elif isinstance(node, Op):
        for arg in node.args:
            yield from _reads(arg[1] if node.name == "+" else arg)
    elif isinstance(node, SumOver):
        yield from _reads(node.body)
    elif isinstance(node, Cases):
        for value, _ in node.pieces:
            yield from _reads(value)


def _where(node) -> int:
    return getattr(node, "position", 0)


def _number_of(poly: Poly) -> Fraction | None:
    if not poly:
        return Fraction(0)
    if set(poly) == {()}:
        return poly[()]
    return None


def _as_poly(value) -> Poly:
    if isinstance(value, dict):
        return value
    return {(): value} if value != 0 else {}


def _add(a, b):
    if not isinstance(a, dict) and not isinstance(b, dict):
        return a + b
    total = dict(_as_poly(a))
    for key, coefficient in _as_poly(b).items():
        value = total.get(key, 0) + coefficient
        if value:
            total[key] = value
        else:
            total.pop(key, None)
    return total


def _scale(value, factor: Fraction):
    if not isinstance(value, dict):
        return value * factor
    return {key: c * factor for key, c in value.items() if c * factor != 0}


def _multiply(a, b):
    if not isinstance(a, dict) and not isinstance(b, dict):
        return a * b
    if not isinstance(a, dict):
        return _scale(b, a)
    if not isinstance(b, dict):
        return _scale(a, b)
    if len(a) * len(b) > MAX_TERMS:
        raise GeneralFormulaError(
            f"a product that multiplies out to more than {MAX_TERMS:,} terms", 0
        )
    product: Poly = {}
    for (ka, ca), (kb, cb) in itertools.product(a.items(), b.items()):
        key = tuple(sorted(ka + kb))
        value = product.get(key, 0) + ca * cb
        if value:
            product[key] = value
        else:
            product.pop(key, None)
    return product


def _expression(value, symbols: dict[str, Symbol]) -> Basic:
    """A value (a number or a polynomial) as an exact SymPy expression."""
    if not isinstance(value, dict):
        return Rational(value.numerator, value.denominator)
    terms = [
        Rational(c.numerator, c.denominator) * Mul(*(symbols[name] for name in key))
        for key, c in sorted(value.items())
    ]
    return Add(*terms) if terms else Integer(0)


# -- the claim ------------------------------------------------------------------------------


def read(
    statement: Statement,
    derivation: Derivation,
    role: Callable[[str], str | None],
    loss: str,
    zero_based: bool,
    shown: Callable[[tuple[int, ...]], tuple[int, ...]],
    max_terms: int = MAX_TERMS,
) -> GeneralClaim | None:
    """The general formula of ``statement`` at every index of its tensor (None: not a claim).

    ``role(letter)`` names the tensor a letter stands for (``"X"``, ``"W"``, ``"B"``, ``"O"``,
    ``"loss"``, ``"G"`` or None); ``shown(shape)`` the axes an entry's subscript shows.

    Raises
    ------
    GeneralFormulaError
        When the statement does not read as a general formula of this layer, with its offset
        in the file.
    """
    try:
        return _read(statement, derivation, role, loss, zero_based, shown, max_terms)
    except NotAGradient:
        return None
    except GeneralFormulaError as error:
        located = GeneralFormulaError(
            error.message, statement.offset(error.offset), not_a_claim=error.not_a_claim
        )
        located.written = error.written
        raise located from None
    except RecursionError:
        raise GeneralFormulaError("nested too deeply", statement.offset(0)) from None


def _not_read_over_values(offset: int, written: str) -> GeneralFormulaError:
    """This layer's general formula holds a condition on values: reported as not checked."""
    error = GeneralFormulaError(
        "this layer's gradient depends on which cell wins its window (a condition on the"
        " tensors' values, the tie rule), which general formulas here are not read with:"
        " not checked (the entry-wise claims are)",
        offset,
        not_a_claim=True,
    )
    error.written = written
    return error


def _read(statement, derivation, role, loss, zero_based, shown, max_terms) -> GeneralClaim:
    equals = _top_level_equals(statement.text) or 0
    try:
        tokens = tokenize(statement.text)
    except GeneralFormulaError as error:
        if error.offset < equals:  # a left side of another shape (W⁽ᵏ,ᶜ⁾): not one of these
            raise NotAGradient from None
        raise
    parser = _Parser(tokens, role, loss)
    over_values = general_derivation.over_values(derivation.spec)
    try:
        (letter, subscript, position), rhs = parser.statement()
    except GeneralFormulaError as error:
        error.written = _written(loss, parser.lhs, statement.text)
        if over_values and not error.not_a_claim:
            raise _not_read_over_values(equals, error.written) from None
        raise
    written = _written(loss, parser.lhs, statement.text)
    tensor = role(letter)
    if tensor not in derivation.grads:
        raise NotAGradient
    if over_values:
        raise _not_read_over_values(equals, written)
    evaluator = _Evaluator(derivation, zero_based, shown, role, max_terms)
    lhs = parser.read(tensor, subscript, position)
    items = evaluator.items(lhs)
    axes, shape = evaluator.axes(tensor, len(items), position)
    free: list[tuple[int, str]] = []
    fixed: dict[int, int] = {}
    for axis, item in zip(axes, items, strict=True):
        if isinstance(item, Var):
            if any(name == item.name for _, name in free):
                raise GeneralFormulaError(f"the free index {item.name} twice", item.position)
            free.append((axis, item.name))
        elif isinstance(item, Num):
            fixed[axis] = int(item.value) - evaluator.base
            if not 0 <= fixed[axis] < shape[axis]:
                raise GeneralFormulaError(
                    f"index {item.value} is out of range for axis {axis}", position
                )
        else:
            raise GeneralFormulaError(
                "the left side's indices must be letters (free indices) or numbers", position
            )
    symbols = {}
    for array in evaluator.names.values():
        for symbol in array.flat:
            symbols[symbol.name] = symbol
    points = 0  # counted first: a claim past the limit is refused before any term is built
    for index in np.ndindex(*shape):
        if any(index[axis] != value for axis, value in fixed.items()):
            continue
        points += evaluator.count(rhs, {name: index[axis] + evaluator.base for axis, name in free})
        if points > MAX_POINTS:
            raise GeneralFormulaError(
                f"the formula sums more than {MAX_POINTS:,} terms over the tensor", position
            )
    entries = []
    for index in np.ndindex(*shape):
        if any(index[axis] != value for axis, value in fixed.items()):
            continue
        env = {name: index[axis] + evaluator.base for axis, name in free}
        value = evaluator.value(rhs, env)
        if isinstance(value, dict) and len(value) > max_terms:
            raise GeneralFormulaError(
                f"the formula's entry holds more than {max_terms:,} terms, the limit per claim"
                " (raise it with --max-claim-terms)",
                position,
            )
        entries.append((tuple(index), _expression(value, symbols)))
    return GeneralClaim(tensor, tuple(entries), statement.offset(position), written)


def _written(loss: str, lhs: tuple | None, text: str) -> str:
    """The left side as the reports name it: ``∂L/∂W_{m,n}``, ``∂L/∂W_{i}``."""
    if lhs is None:
        return ""
    letter, subscript, _ = lhs
    if subscript is None:
        return f"∂{loss}/∂{letter}"
    if subscript[0] == "joined":
        return f"∂{loss}/∂{letter}_{{{subscript[1]}}}"
    items = subscript[1]
    start = subscript[2]
    end = _end_of(text, start)
    return f"∂{loss}/∂{letter}_{{{text[start:end].strip()}}}" if items else f"∂{loss}/∂{letter}"


def _end_of(text: str, start: int) -> int:
    """The end of a subscript's items that start at ``start`` (its closing bracket)."""
    depth = 0
    for position in range(start, len(text)):
        char = text[position]
        if char in "({[":
            depth += 1
        elif char in ")}]":
            if depth == 0:
                return position
            depth -= 1
    return len(text)
