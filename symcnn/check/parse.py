"""Statements -> expressions in the reader's notation, through the grammar in ``notation.lark``.

The grammar says how a statement is built (sums of products of slashed factors); this module
decides what each piece means, still in the reader's own letters and indices:

- a *word* is a tensor letter (``X``, ``w``), a differential (``dE``, ``dx`` in ``dE/dx12``), an
  operator (``conv``, ``rot180``, ``full_conv``) or a layer parameter (``stride``);
- ``\\frac{\\partial L}{\\partial X_{12}}``, ``dL/dX12`` and ``∂L/∂X₁₂`` are one
  :class:`Derivative`; ``\\delta x_{11}`` and ``dX12`` standing alone are the shorthand for the
  derivative of the loss;
- ``/`` and ``\\frac`` between anything else must divide by a number.

Which letter is the input, the kernel or the loss is decided later (:mod:`.resolve`), with the
layer in hand. Nothing here evaluates text: SymPy numbers are built from digits through
:class:`fractions.Fraction`, everything else is a plain dataclass.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from importlib import resources

import lark
from sympy import Rational

from .source import DRAWN, MAX_DEPTH, NotationError, Statement

#: Longest run of digits read as an index, and as a number.
MAX_INDEX_DIGITS = 6
MAX_NUMBER_DIGITS = 40
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_TO_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

#: Operator spellings -> the operator's name in :data:`symcnn.check.operators.OPERATORS`.
OPERATOR_NAMES = {
    "conv": "conv",
    "convolution": "conv",
    "convolve": "conv",
    "corr": "conv",
    "correlate": "conv",
    "correlation": "conv",
    "cross_correlation": "conv",
    "xcorr": "conv",
    "full_conv": "full_conv",
    "fullconv": "full_conv",
    "full_convolution": "full_conv",
    "full_convolve": "full_conv",
    "full_corr": "full_conv",
    "full_correlation": "full_conv",
    "rot180": "rot180",
    "rot_180": "rot180",
    "rotate180": "rot180",
    "rotate_180": "rot180",
    "flip180": "rot180",
    "dilate": "dilate",
    "dilation_of": "dilate",
    "upsample": "dilate",
    "pad": "pad",
    "zero_pad": "pad",
    "crop": "crop",
    "transpose_conv": "transpose_conv",
    "transposed_conv": "transpose_conv",
    "conv_transpose": "transpose_conv",
    "deconv": "transpose_conv",
    "transposed_convolution": "transpose_conv",
    "sum": "sum",
    "every": "every",
    "extend": "extend",
    "block": "block",
    # routing through the layer's pooling windows
    "max_unpool": "max_unpool",
    "maxunpool": "max_unpool",
    "min_unpool": "min_unpool",
    "minunpool": "min_unpool",
    "spread": "spread",
    # on single expressions, for max and min pooling
    "max": "max",
    "min": "min",
    "eq": "eq",
    "ne": "ne",
    "piecewise": "piecewise",
    # on single expressions, for the losses
    "exp": "exp",
    "log": "log",
    "ln": "log",
}
#: Words naming the layer's own parameters inside operator arguments: ``dilate(dL/dO, stride)``.
PARAMETER_NAMES = {"stride": "stride", "padding": "padding", "dilation": "dilation"}


# -- the reader-level expression tree ------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    """An index as written: ``groups`` of digits (or letters, for a general formula).

    ``joined`` means one run of digits stands for every index (``x12``, ``X_{12}``, ``x₁₂``);
    ``bracket`` means ``X[...]``; ``underscored`` means ``x_1_2`` or ``w_0_0_1_1``.
    """

    groups: tuple[str, ...]
    offset: int
    joined: bool = False
    bracket: bool = False
    underscored: bool = False

    @property
    def symbolic(self) -> bool:
        """True for ``F_i``, ``O_{k}``: a general formula, not one entry."""
        return not all(group.isdigit() for group in self.groups)


@dataclass(frozen=True)
class Number:
    value: Rational
    offset: int


@dataclass(frozen=True)
class Entry:
    """A tensor letter, whole (``index`` None) or one entry."""

    letter: str
    index: Index | None
    offset: int
    #: One channel (and sample) of the tensor, as written (``W⁽¹,²⁾``: (1, 2)); None: all of it.
    part: tuple[int, ...] | None = None

    def written(self) -> str:
        if self.part is not None:
            label = ",".join(map(str, self.part)).translate(_TO_SUPERSCRIPT)
            return f"{self.letter}⁽{label}⁾"
        if self.index is None:
            return self.letter
        if self.index.bracket:
            return f"{self.letter}[{','.join(self.index.groups)}]"
        if self.index.underscored:
            return self.letter + "".join("_" + group for group in self.index.groups)
        separator = "" if self.index.joined else ","
        return f"{self.letter}_{{{separator.join(self.index.groups)}}}"


@dataclass(frozen=True)
class Derivative:
    """``d numerator / d denominator``; ``numerator`` None is the shorthand ``δX`` (the loss)."""

    numerator: Entry | None
    denominator: Entry
    offset: int

    def written(self) -> str:
        top = self.numerator.written() if self.numerator else "L"
        return f"∂{top}/∂{self.denominator.written()}"


@dataclass(frozen=True)
class Upstream:
    """``δ₁₁`` or ``\\delta_{11}``: the upstream gradient entry ∂L/∂O₁₁ (the output's letter)."""

    index: Index
    offset: int


@dataclass(frozen=True)
class Sum:
    terms: tuple[tuple[int, Node], ...]  # (sign, term)
    offset: int


@dataclass(frozen=True)
class Product:
    """Factors joined by ``*`` (``star``: also a convolution of two matrices) or not.

    ``stars[i]`` tells whether factor ``i + 1`` follows an explicit ``*`` or ``\ast``.
    """

    factors: tuple[Node, ...]
    offset: int
    stars: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Quotient:
    numerator: Node
    denominator: Node
    offset: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    offset: int


@dataclass(frozen=True)
class Parameter:
    """``stride``, ``padding`` or ``dilation`` of the layer, inside an operator's arguments."""

    name: str
    offset: int


@dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple[Node, ...], ...]
    offset: int


@dataclass(frozen=True)
class Relation:
    """``left op right`` with op one of ``>= > <= < == !=``."""

    left: Node
    op: str
    right: Node
    offset: int


@dataclass(frozen=True)
class Logical:
    """Conditions joined by ``and`` or ``or``."""

    op: str
    items: tuple[Node, ...]
    offset: int


@dataclass(frozen=True)
class Boolean:
    value: bool
    offset: int


@dataclass(frozen=True)
class Cases:
    """``\\begin{cases}``, ``{a if c; b otherwise}``: (value, condition or None for otherwise)."""

    pieces: tuple[tuple[Node, Node | None], ...]
    offset: int


@dataclass(frozen=True)
class Iverson:
    """``1[condition]``: 1 when the condition holds, else 0."""

    condition: Node
    offset: int


@dataclass(frozen=True)
class Tuple:
    """``(a, b)``: only as an argument, e.g. of ``Piecewise((1, x >= y), (0, True))``."""

    items: tuple[Node, ...]
    offset: int


Node = (
    Number
    | Entry
    | Derivative
    | Upstream
    | Sum
    | Product
    | Quotient
    | Call
    | Parameter
    | Matrix
    | Relation
    | Logical
    | Boolean
    | Cases
    | Iverson
    | Tuple
)


@dataclass(frozen=True)
class ParsedStatement:
    """A statement read: ``members`` are the sides of ``a = b = c``.

    ``rest`` is the error of a chain read only up to its last side that reads (``a = b = ⎡...``):
    the sides before it are still claims.
    """

    statement: Statement
    members: tuple[Node, ...]
    rest: NotationError | None = None


@dataclass(frozen=True)
class FailedStatement:
    """A statement that could not be read; ``lhs`` is its left side if that alone could be."""

    statement: Statement
    lhs: Node | None
    error: NotationError


# -- raw nodes: what the grammar built, before words get their meaning ---------------------------


@dataclass(frozen=True)
class _Word:
    text: str
    kind: str  # "word", "subscripted" or "text"
    index: Index | None
    offset: int
    part: tuple[int, ...] | None = None  # X⁽¹⁾: one channel's slice


@dataclass(frozen=True)
class _Partial:
    base: _Word | None  # None when a digit follows the ∂ (∂0_{11})
    digit: str
    offset: int
    part: tuple[int, ...] | None = None  # ∂W⁽¹,²⁾: one channel's slice


@dataclass(frozen=True)
class _Frac:
    top: object
    bottom: object
    offset: int


@dataclass(frozen=True)
class _Slash:
    items: tuple
    offsets: tuple[int, ...]  # of each "/"


@dataclass(frozen=True)
class _Product:
    factors: tuple
    stars: tuple = ()  # per factor after the first: joined by an explicit * or \ast


@dataclass(frozen=True)
class _Paren:
    items: tuple
    offset: int


@dataclass(frozen=True)
class _Sum:
    terms: tuple  # (sign, raw)
    offset: int


@dataclass(frozen=True)
class _Matrix:
    rows: tuple
    offset: int


@dataclass(frozen=True)
class _Ellipsis:
    offset: int


@dataclass(frozen=True)
class _Relation:
    left: object
    op: str
    right: object
    offset: int


@dataclass(frozen=True)
class _Logical:
    op: str
    items: tuple
    offset: int


@dataclass(frozen=True)
class _Cases:
    pieces: tuple  # (raw value, raw guards or None)
    offset: int


@dataclass(frozen=True)
class _More:
    """A row of a case's conditions continuing the row above (``& \\quad X > Y``)."""

    guards: object


@dataclass(frozen=True)
class _Iverson:
    guards: object
    offset: int


#: Relation spellings -> one operator each.
RELATIONS = {
    ">=": ">=", "≥": ">=", "\\geq": ">=", "\\ge": ">=", "\\geqslant": ">=",
    "<=": "<=", "≤": "<=", "\\leq": "<=", "\\le": "<=", "\\leqslant": "<=",
    ">": ">", "<": "<",
    "!=": "!=", "≠": "!=", "\\neq": "!=", "\\ne": "!=",
    "=": "==", ":=": "==",
}  # fmt: skip


def _offset(raw) -> int:
    """The file offset where a raw node starts."""
    if isinstance(raw, _Slash):
        return _offset(raw.items[0])
    if isinstance(raw, _Product):
        return _offset(raw.factors[0])
    if isinstance(raw, Number | Upstream):
        return raw.offset
    return raw.offset


class _Builder(lark.Transformer):
    """Grammar rules -> raw nodes with file offsets, called by the LALR parser as it reduces.

    Building nodes during the parse (rather than a tree first) halves the time per statement;
    each callback takes the list of its rule's children. The statement being parsed is per
    thread, so one parser serves every thread.
    """

    def __init__(self) -> None:
        super().__init__()
        self.current = threading.local()

    def at(self, token: lark.Token) -> int:
        return self.current.statement.offset(token.start_pos)

    def start_statement(self, children):
        return tuple(child for child in children if not isinstance(child, lark.Token))

    def start_sum(self, children):
        return children[0]

    def sum(self, children):
        terms, sign, offset = [], 1, None
        for child in children:
            if isinstance(child, tuple) and child and child[0] == "sign":
                sign = -sign if child[1] else sign
                offset = child[2] if offset is None else offset
            else:
                terms.append((sign, child))
                offset = _offset(child) if offset is None else offset
                sign = 1
        return _Sum(tuple(terms), offset)

    def sign(self, children):
        (token,) = children
        return ("sign", token.type == "MINUS", self.at(token))

    def product(self, children):
        factors, stars, star = [], [], False
        for child in children:
            if isinstance(child, lark.Token):
                star = str(child) in ("*", "\\ast")
                continue
            if factors:
                stars.append(star)
            factors.append(child)
            star = False
        return _Product(tuple(factors), tuple(stars))

    def slashed(self, children):
        items = tuple(c for c in children if not isinstance(c, lark.Token))
        slashes = tuple(self.at(c) for c in children if isinstance(c, lark.Token))
        return _Slash(items, slashes)

    def number(self, children):
        (token,) = children
        text = str(token)
        if len(text) > MAX_NUMBER_DIGITS:
            raise NotationError(
                f"a number of {len(text)} digits: at most {MAX_NUMBER_DIGITS}", self.at(token)
            )
        fraction = Fraction(text)  # digits and at most one point: the grammar saw to that
        return Number(Rational(fraction.numerator, fraction.denominator), self.at(token))

    def name(self, children):
        token, index = children[0], (children[1] if len(children) > 1 else None)
        if token.type == "MAXMIN":  # \\max, \\min
            return _Word(str(token)[1:], "word", index, self.at(token))
        kind = {"WORD": "word", "SUBSCRIPTED": "subscripted", "TEXTNAME": "text"}.get(
            token.type, "word"
        )
        return _Word(str(token), kind, index, self.at(token))

    def partial(self, children):
        marker, base = children[0], children[1]
        index = children[2] if len(children) > 2 else None
        if base.type == "INT":
            return _Partial(None, str(base), self.at(marker))
        kind = {"WORD": "word", "SUBSCRIPTED": "subscripted", "TEXTNAME": "text"}[base.type]
        return _Partial(_Word(str(base), kind, index, self.at(base)), "", self.at(marker))

    def _slice(self, token) -> tuple[int, ...]:
        groups = re.findall(r"[0-9]+", str(token).translate(_SUPERSCRIPT_DIGITS))
        if any(len(group) > MAX_INDEX_DIGITS for group in groups):
            message = f"the slice {str(token)[:20]} names too large a channel"
            raise NotationError(message, self.at(token))
        return tuple(int(group) for group in groups)

    def partial_slice(self, children):
        marker, base, part = children
        word = _Word(str(base), "word", None, self.at(base))
        return _Partial(word, "", self.at(marker), self._slice(part))

    def name_slice(self, children):
        base, part = children
        return _Word(str(base), "word", None, self.at(base), self._slice(part))

    def index(self, children):
        return children[0]

    def upstream_shorthand(self, children):
        marker, index = children
        if str(marker) not in ("δ", "\\delta"):
            raise NotationError("∂ must be followed by a letter", self.at(marker))
        return Upstream(index, self.at(marker))

    def _groups(self, tokens, **style) -> Index:
        groups = tuple(str(token) for token in tokens)
        for token in tokens:
            if token.type == "INT" and len(token) > MAX_INDEX_DIGITS:
                raise NotationError(
                    f"index {str(token)[:12]}... has {len(token)} digits: indices are at"
                    f" most {10**MAX_INDEX_DIGITS - 1:,}",
                    self.at(token),
                )
        return Index(groups, self.at(tokens[0]), **style)

    def index_digits(self, children):
        return self._groups(children, joined=True)

    def index_word(self, children):
        (token,) = children
        if token.type == "SUBLETTERS":
            groups = (str(token).translate(_SUBSCRIPT_LETTERS),)
            return Index(groups, self.at(token), joined=True)
        return self._groups(children, joined=True)

    def index_braced(self, children):
        (items,) = children
        return self._groups(items, joined=len(items) == 1)

    def index_bracket(self, children):
        (items,) = children
        return self._groups(items, bracket=True)

    def index_unicode(self, children):
        (token,) = children
        digits = str(token).translate(_SUBSCRIPT_DIGITS)
        index = Index(tuple(digits.split(",")), self.at(token), joined="," not in digits)
        if any(len(group) > MAX_INDEX_DIGITS for group in index.groups):
            raise NotationError(f"index {digits[:12]} is too long", self.at(token))
        return index

    def items(self, children):
        return list(children)

    def frac(self, children):
        token, top, bottom = children
        return _Frac(top, bottom, self.at(token))

    def group(self, children):
        items = tuple(c for c in children if not isinstance(c, lark.Token))
        return _Paren(items, _offset(items[0]))

    def row_vector(self, children):
        cells = [c for c in children if not isinstance(c, lark.Token)]
        return _Matrix((cells,), _offset(cells[0]))

    def matrix(self, children):
        begin = children[0]
        rows = tuple(child for child in children[1:] if isinstance(child, list))
        return _Matrix(rows, self.at(begin))

    def row(self, children):
        return list(children)

    def compare(self, children):
        left, op, right = children
        return _Relation(left, RELATIONS[str(op)], right, _offset(left))

    def all_of(self, children):
        items = tuple(c for c in children if not isinstance(c, lark.Token))
        return _Logical("and", items, _offset(items[0]))

    def any_of(self, children):
        items = tuple(c for c in children if not isinstance(c, lark.Token))
        return _Logical("or", items, _offset(items[0]))

    def guards(self, children):
        items = tuple(c for c in children if not isinstance(c, lark.Token))
        return items[0] if len(items) == 1 else _Logical("and", items, _offset(items[0]))

    def iverson(self, children):
        marker, guards = children
        return _Iverson(guards, self.at(marker))

    def case_if(self, children):
        items = [c for c in children if not isinstance(c, lark.Token)]
        return (items[0], items[1])

    def case_otherwise(self, children):
        return (children[0], None)

    def case_more(self, children):
        items = [c for c in children if not isinstance(c, lark.Token)]
        return _More(items[0])

    def cases(self, children):
        pieces: list[tuple] = []
        for child in children:
            if isinstance(child, _More):  # a row continuing the condition above it
                if not pieces or pieces[-1][1] is None:
                    raise NotationError(
                        "a row of conditions with no case above it", _offset(child.guards)
                    )
                value, guards = pieces[-1]
                pieces[-1] = (value, _Logical("and", (guards, child.guards), _offset(guards)))
            elif isinstance(child, tuple):
                pieces.append(child)
        return _Cases(tuple(pieces), self.at(children[0]))

    def choice(self, children):
        items = [c for c in children if not isinstance(c, lark.Token)]
        first = (items[0], items[1])
        return _Cases((first, *items[2:]), _offset(items[0]))

    def ellipsis(self, children):
        (token,) = children
        return _Ellipsis(self.at(token))


_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SUBSCRIPT_LETTERS = str.maketrans("ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼ", "aeoxhklmnpstij")


@cache
def _parser() -> tuple[lark.Lark, _Builder]:
    """The LALR parser of ``notation.lark`` and its node builder (built once per process)."""
    grammar = resources.files("symcnn.check").joinpath("notation.lark").read_text("utf-8")
    builder = _Builder()
    parser = lark.Lark(
        grammar,
        parser="lalr",
        start=["start_statement", "start_sum"],
        maybe_placeholders=False,
        transformer=builder,
    )
    return parser, builder


# -- words -> meaning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Operator:
    name: str
    offset: int


@dataclass(frozen=True)
class _D:
    """A lone differential ``d`` (``\\mathrm{d}`` or the ``d`` of ``d L``)."""

    offset: int


def _operator_name(text: str) -> str | None:
    text = text.replace("\\_", "_").replace("\\ ", " ").replace("\\,", " ")
    key = re.sub(r"[\s\-]+", "_", text.strip()).lower()
    return OPERATOR_NAMES.get(key)


def _word(word: _Word):
    """A word -> Entry, Derivative (``dE``, ``dx12``), operator, parameter or the ``d`` alone."""
    text, index, offset = word.text, word.index, word.offset
    if word.kind == "subscripted":
        if index is not None:
            raise NotationError(f"{text} has two indices", index.offset)
        groups = tuple(text[2:].split("_"))
        for group in groups:
            if len(group) > MAX_INDEX_DIGITS:
                raise NotationError(f"index {group[:12]}... in {text[:20]} is too large", offset)
        return Entry(
            text[0], Index(groups, offset + 2, joined=len(groups) == 1, underscored=True), offset
        )
    if word.kind == "text":
        content = text[text.index("{") + 1 : -1].strip()
        if len(content) == 1 and content.isalpha():
            return _D(offset) if content == "d" and index is None else Entry(content, index, offset)
        text = content
    operator = _operator_name(text + (index.groups[0] if index and text.lower() == "rot" else ""))
    if operator:
        return _Operator(operator, offset)
    if text in ("True", "False", "true", "false") and index is None:
        return Boolean(text.lower() == "true", offset)
    if text.lower() in PARAMETER_NAMES and index is None:
        return Parameter(PARAMETER_NAMES[text.lower()], offset)
    if len(text) == 1 and text.isalpha():
        return _D(offset) if text == "d" and index is None else Entry(text, index, offset)
    if "_" in text and word.kind == "word":
        letter, *rest = text.split("_")
        if len(letter) == 1 and index is None:  # F_i, O_k: a general formula's index
            return Entry(letter, Index(tuple(rest), offset + 2, joined=len(rest) == 1), offset)
    if "-" in text:
        raise NotationError(f"unknown operator {text!r}", offset)
    if len(text) == 2 and text[0] == "d" and text[1].isalpha():  # dE, dx (in dE/dx12)
        return Derivative(None, Entry(text[1], index, offset + 1), offset)
    raise NotationError(f"unknown name {text!r}: not a tensor letter or an operator", offset)


def _differential(raw) -> Entry | None:
    """The variable of a differential written ``∂X_{12}``, ``dX12``, ``d X`` or ``\\mathrm{d}X``."""
    raw = _single(raw)
    if isinstance(raw, _Partial):
        if raw.base is None:
            hint = " (did you mean O?)" if raw.digit == "0" else ""
            raise NotationError(f"∂{raw.digit}: a digit where a letter belongs{hint}", raw.offset)
        meaning = _word(raw.base)
        if isinstance(meaning, Entry) and raw.part is not None:
            if meaning.index is not None:
                raise NotationError("a channel's slice takes a letter alone", raw.offset)
            return dataclasses.replace(meaning, part=raw.part)
        if isinstance(meaning, Entry):
            return meaning
        raise NotationError(f"∂ must be followed by a letter, not {raw.base.text!r}", raw.offset)
    if isinstance(raw, _Word) and raw.kind == "word" and raw.text[:1] == "d":
        meaning = _word(raw)
        if isinstance(meaning, Derivative) and meaning.numerator is None:
            return meaning.denominator
        return None
    if isinstance(raw, _Product) and len(raw.factors) == 2:
        first, second = (_single(f) for f in raw.factors)
        d_then_word = isinstance(first, _Word) and isinstance(second, _Word)
        if d_then_word and isinstance(_word(first), _D):
            meaning = _word(second)
            return meaning if isinstance(meaning, Entry) else None
    return None


def _single(raw):
    """Unwrap a sum of one unsigned term and a group of one item."""
    while True:
        if isinstance(raw, _Sum) and len(raw.terms) == 1 and raw.terms[0][0] == 1:
            raw = raw.terms[0][1]
        elif isinstance(raw, _Paren | _Slash) and len(raw.items) == 1:
            raw = raw.items[0]
        elif isinstance(raw, _Product) and len(raw.factors) == 1:
            raw = raw.factors[0]
        else:
            return raw


def interpret(raw) -> Node:
    """A raw node -> the reader-level expression tree (raises NotationError with an offset)."""
    if isinstance(raw, Number | Upstream):
        return raw
    if isinstance(raw, _Sum):
        terms = tuple((sign, interpret(term)) for sign, term in raw.terms)
        return terms[0][1] if len(terms) == 1 and terms[0][0] == 1 else Sum(terms, raw.offset)
    if isinstance(raw, _Product):
        return _product(raw)
    if isinstance(raw, _Slash):
        return _slashed(raw)
    if isinstance(raw, _Frac):
        return _frac(raw)
    if isinstance(raw, _Word) and raw.part is not None:
        meaning = _word(dataclasses.replace(raw, part=None))
        if not isinstance(meaning, Entry):
            raise NotationError(f"{raw.text}: only a tensor's letter takes a slice", raw.offset)
        return dataclasses.replace(meaning, part=raw.part)
    if isinstance(raw, _Word):
        meaning = _word(raw)
        if isinstance(meaning, _Operator):
            raise NotationError(f"{raw.text} needs its arguments in parentheses", raw.offset)
        if isinstance(meaning, _D):
            raise NotationError("a lone d: write dL/dX or \\partial", raw.offset)
        return meaning
    if isinstance(raw, _Partial):
        return Derivative(None, _differential(raw), raw.offset)
    if isinstance(raw, _Paren):
        if len(raw.items) != 1:
            return Tuple(tuple(interpret(item) for item in raw.items), raw.offset)
        return interpret(raw.items[0])
    if isinstance(raw, _Relation):
        return Relation(interpret(raw.left), raw.op, interpret(raw.right), raw.offset)
    if isinstance(raw, _Logical):
        return Logical(raw.op, tuple(interpret(item) for item in raw.items), raw.offset)
    if isinstance(raw, _Iverson):
        return Iverson(interpret(raw.guards), raw.offset)
    if isinstance(raw, _Cases):
        pieces = tuple(
            (interpret(value), None if guards is None else interpret(guards))
            for value, guards in raw.pieces
        )
        return Cases(pieces, raw.offset)
    if isinstance(raw, _Matrix):
        rows = tuple(tuple(interpret(cell) for cell in row) for row in raw.rows)
        if len({len(row) for row in rows}) != 1:
            raise NotationError("the rows of this matrix have different lengths", raw.offset)
        return Matrix(rows, raw.offset)
    if isinstance(raw, _Ellipsis):
        raise NotationError(
            "'...' leaves terms out: an abridged sum is not checked (write every term)",
            raw.offset,
            not_a_claim=True,
        )
    raise NotationError("cannot read this", _offset(raw))  # pragma: no cover - grammar bound


#: First words of an operator named in two words: ``full conv(A, K)``, ``transposed conv(A, K)``.
_TWO_WORD_OPERATORS = ("full", "transposed", "transpose")


def _operator_in_words(raw: _Product) -> Node | None:
    """``[the] transposed convolution of A with K``: the operator named in prose, or None.

    The name (one word or two, as :data:`OPERATOR_NAMES` spells them) comes first, after an
    optional ``the``; ``of`` opens the first argument and ``with`` the second. Anything else is
    not this form (and is then read, or reported, as a product).
    """
    factors = list(raw.factors)
    if raw.stars and any(raw.stars):
        return None  # a product written with * or · is arithmetic, not prose
    start = 1 if factors and any(_is_word(factors[0], the) for the in ("the", "The")) else 0
    for width in (2, 1):
        words = factors[start : start + width]
        plain = all(isinstance(w, _Word) and _is_word(w, w.text) for w in words)
        if len(words) < width or not plain:
            continue
        name = _operator_name(" ".join(w.text for w in words))
        rest = factors[start + width :]
        if name is None or not rest or not _is_word(rest[0], "of"):
            continue
        joints = [i for i, factor in enumerate(rest) if _is_word(factor, "with")]
        if len(joints) != 1 or joints[0] in (1, len(rest) - 1):
            return None
        first, second = rest[1 : joints[0]], rest[joints[0] + 1 :]
        args = tuple(
            interpret(part[0] if len(part) == 1 else _Product(tuple(part)))
            for part in (first, second)
        )
        return Call(name, args, words[0].offset)
    return None


def _product(raw: _Product) -> Node:
    in_words = _operator_in_words(raw)
    if in_words is not None:
        return in_words
    factors = list(raw.factors)
    stars = (False, *raw.stars) if raw.stars else (False,) * len(factors)
    nodes: list[Node] = []
    node_stars: list[bool] = []
    position = 0
    while position < len(factors):
        factor = factors[position]
        node_stars.append(stars[position])
        following = factors[position + 1] if position + 1 < len(factors) else None
        two_words = (
            _operator_name(f"{factor.text} {following.text}")
            if isinstance(following, _Word)
            and any(_is_word(factor, first) for first in _TWO_WORD_OPERATORS)
            else None
        )
        if two_words:  # "full conv(A, K)": the operator's name in two words
            meaning = _Operator(two_words, factor.offset)
            del factors[position + 1]
        else:
            meaning = _word(factor) if isinstance(factor, _Word) else None
        if isinstance(meaning, _Operator):
            following = factors[position + 1] if position + 1 < len(factors) else None
            divisors: tuple = ()
            if isinstance(following, _Slash) and isinstance(following.items[0], _Paren):
                following, divisors = following.items[0], following.items[1:]
            if not isinstance(following, _Paren):
                raise NotationError(
                    f"{meaning.name} needs its arguments in parentheses", factor.offset
                )
            args = tuple(interpret(item) for item in following.items)
            node: Node = Call(meaning.name, args, factor.offset)
            for divisor in divisors:  # conv(X, G)/4
                value = interpret(divisor)
                if isinstance(value, Number) and value.value == 0:
                    raise NotationError("division by zero", node.offset)
                node = Quotient(node, value, node.offset)
            nodes.append(node)
            position += 2
            continue
        if isinstance(meaning, _D) and position + 2 < len(factors):
            derivative = _spaced_derivative(factor, factors[position + 1], factors[position + 2])
            if derivative is not None:  # d L / d X_{12}: the slash binds tighter than the space
                nodes.append(derivative)
                position += 3
                continue
        if isinstance(meaning, _D) and position + 1 < len(factors):
            variable = _differential(_Product((factor, factors[position + 1])))
            if variable is not None:  # `d X_{12}` standing alone: the loss's derivative
                nodes.append(Derivative(None, variable, factor.offset))
                position += 2
                continue
        nodes.append(interpret(factor))
        position += 1
    if len(nodes) == 1:
        return nodes[0]
    return Product(tuple(nodes), _offset(raw), tuple(node_stars[1:]))


def _is_word(raw, text: str) -> bool:
    return isinstance(raw, _Word) and raw.kind == "word" and raw.index is None and raw.text == text


def _spaced_derivative(d, middle, last) -> Derivative | None:
    """``d L / d X`` reads as d * (L / d) * X: put the derivative back together."""
    if not (isinstance(middle, _Slash) and len(middle.items) == 2):
        return None
    top, bottom_d = middle.items
    if not (isinstance(bottom_d, _Word) and isinstance(_word(bottom_d), _D)):
        return None
    if not (isinstance(top, _Word) and isinstance(last, _Word)):
        return None
    numerator, denominator = _word(top), _word(last)
    if isinstance(numerator, Entry) and isinstance(denominator, Entry):
        return Derivative(numerator, denominator, d.offset)
    return None


def _slashed(raw: _Slash) -> Node:
    first = raw.items[0]
    accumulated: Node | None = None
    numerator = _differential(first)
    for slash, item in zip(raw.offsets, raw.items[1:], strict=True):
        denominator = _differential(item) if accumulated is None else None
        if accumulated is None and numerator is not None and denominator is not None:
            accumulated = Derivative(numerator, denominator, _offset(first))
            continue
        left = accumulated if accumulated is not None else interpret(first)
        right = interpret(item)
        if isinstance(right, Number) and right.value == 0:
            raise NotationError("division by zero", slash)
        accumulated = Quotient(left, right, _offset(first))
    return accumulated if accumulated is not None else interpret(first)


def _frac(raw: _Frac) -> Node:
    top, bottom = _differential(raw.top), _differential(raw.bottom)
    if top is not None and bottom is not None:
        return Derivative(top, bottom, raw.offset)
    numerator, denominator = interpret(raw.top), interpret(raw.bottom)
    if isinstance(denominator, Number):
        if denominator.value == 0:
            raise NotationError("division by zero", raw.offset)
        if isinstance(numerator, Number):
            return Number(numerator.value / denominator.value, raw.offset)
    return Quotient(numerator, denominator, raw.offset)


# -- statements -----------------------------------------------------------------------------------


def check_depth(statement: Statement) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH`, before the parser sees it."""
    depth = 0
    for position, char in enumerate(statement.text):
        if char in "({[":
            depth += 1
            if depth > MAX_DEPTH:
                raise NotationError(
                    f"brackets nested more than {MAX_DEPTH} deep", statement.offset(position)
                )
        elif char in ")}]":
            depth = max(depth - 1, 0)


def _parse(statement: Statement, start: str, text: str | None = None):
    """Run the LALR parser; turn lark's exceptions into NotationError with a file offset."""
    text = statement.text if text is None else text
    parser, builder = _parser()
    builder.current.statement = statement
    try:
        return parser.parse(text, start=start)
    except lark.exceptions.UnexpectedCharacters as error:
        message, not_a_claim = _unexpected_character(text, error.pos_in_stream)
        offset = statement.offset(error.pos_in_stream)
        raise NotationError(message, offset, not_a_claim=not_a_claim) from None
    except lark.exceptions.UnexpectedToken as error:
        token = error.token
        if token.type == "$END":
            raise NotationError(
                "the statement ends too early", statement.offset(len(text))
            ) from None
        raise NotationError(
            f"unexpected {str(token)!r} here", statement.offset(token.start_pos)
        ) from None
    except lark.exceptions.UnexpectedEOF:
        raise NotationError("the statement ends too early", statement.offset(len(text))) from None


def _unexpected_character(text: str, position: int) -> tuple[str, bool]:
    """The message for a character the grammar cannot read, and whether it ends a claim."""
    rest = text[position : position + 20]
    command = re.match(r"\\[A-Za-z]+", rest)
    if command:
        if command.group() == "\\sum":
            return "\\sum with an index variable is a general formula, not one entry", True
        return f"the LaTeX command {command.group()} is not read in a claim", False
    if rest[:1] in DRAWN:
        # A drawing that reads is rewritten before parsing (drawn.py): this one does not.
        return (
            "a matrix drawn over several lines whose brackets ⎡⎢⎣ ⎤⎥⎦ do not line up (one row"
            " per line, each row's brackets in the same columns) is not read: redraw it, or"
            " write it as \\begin{bmatrix} or entry by entry",
            False,
        )
    if rest[:1] in "Σ∑":
        return "Σ over an index variable is a general formula, not one entry", True
    if rest.startswith("^"):
        return "superscripts are not read: write indices as subscripts", False
    return f"cannot read {rest[:1]!r} here", False


def parse_statement(statement: Statement) -> ParsedStatement | FailedStatement | None:
    """Read one statement.

    Returns a :class:`ParsedStatement` when it reads in full, a :class:`FailedStatement` when
    it does not (with its left side, if that alone reads), and None for a statement with no
    ``=`` that is not a lone expression either (prose).
    """
    label = _LABEL.match(statement.text)
    if label and CLAIM_START.match(statement.text, label.end()):
        # "(b) dL/dX12 = ..." would read as the product b·dL/dX12: the label is no factor.
        statement = statement.slice(label.end(), len(statement.text))
    try:
        check_depth(statement)
        raw = _parse(statement, "start_statement")
        members = tuple(interpret(member) for member in raw)
        return ParsedStatement(statement, members)
    except NotationError as error:
        recovered = _after_words(statement) or _before_prose(statement)
        if recovered is not None:
            return recovered
        return _chain_prefix(statement, error) or FailedStatement(
            statement, _left_side(statement), error
        )
    except RecursionError:  # pragma: no cover - check_depth bounds the nesting
        error = NotationError("nested too deeply", statement.offset(0))
        return FailedStatement(statement, None, error)


#: Where a claim's left side can begin: a derivative (``\\frac{\\partial``, ``∂``, ``dL/``) or
#: the δ shorthand.
CLAIM_START = re.compile(r"\\frac\s*\{\s*\\partial|\\partial|∂|\\delta|δ|(?<![A-Za-z\\])d[A-Za-z]")

#: Words in front of a claim (``Therefore``, ``Answer:``, ``(b)``, ``\\text{Hence }``): letters,
#: spaces, punctuation and ``\\text{...}``, but no ``=`` and no math.
_LEADING_WORDS = re.compile(
    r"(?:\s|\\text\s*\{[^{}=]*\}|\\quad|\\qquad|\([A-Za-z0-9ivx]{1,4}\)|[A-Za-z]{2,}\b|[:.,;!?])+"
)

#: An enumeration label in front of a claim: ``(b)``, ``b)``, ``(iii)``, ``2.``.
_LABEL = re.compile(r"\s*(?:\(?(?:[a-h]|[ivx]{1,4}|\d{1,2})\)|\d{1,2}\.)\s+")

#: Prose after a claim: a comma, semicolon or dash, then a word of three letters or more.
_TRAILING_PROSE = re.compile(r"\s*(?:,|;|—|--|\s\()\s*(?:\\text\s*\{)?[A-Za-z]{3,}")


def _read_whole(statement: Statement) -> ParsedStatement | None:
    """``statement`` read in full as a chain of two sides or more, or None."""
    try:
        raw = _parse(statement, "start_statement")
        members = tuple(interpret(member) for member in raw)
    except NotationError:
        return None
    return ParsedStatement(statement, members) if len(members) >= 2 else None


def _after_words(statement: Statement) -> ParsedStatement | None:
    """``Therefore dL/dX12 = ...``: the claim after the words in front of it, if it reads.

    Only words may stand in front (:data:`_LEADING_WORDS`), and only before the first ``=``;
    what follows them must read in full, or with prose after it (:func:`_before_prose`).
    """
    text = statement.text
    equals = text.find("=")
    if equals < 0:
        return None
    for match in CLAIM_START.finditer(text, 0, equals):
        start = match.start()
        if start == 0 or not _LEADING_WORDS.fullmatch(text[:start]):
            continue
        rest = statement.slice(start, len(text))
        found = _read_whole(rest) or _before_prose(rest)
        if found is not None:
            return found
    return None


def _before_prose(statement: Statement) -> ParsedStatement | None:
    """``dL/dX12 = ..., written out with ...``: the claim before the prose after it, if it reads."""
    text = statement.text
    equals = text.find("=")
    if equals < 0:
        return None
    depth = 0
    for position, char in enumerate(text):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        if position <= equals or depth != 0:
            continue
        if _TRAILING_PROSE.match(text, position):
            found = _read_whole(statement.slice(0, position))
            if found is not None:
                return found
    return None


def _chain_prefix(statement: Statement, error: NotationError) -> ParsedStatement | None:
    """``a = b = <unreadable>``: the chain up to its last ``=`` before the error, if it reads."""
    if error.offset is None:
        return None
    cut = None
    for position in _top_level_equals(statement.text):
        if statement.offset(position) < error.offset:
            cut = position
    if cut is None:
        return None
    try:
        raw = _parse(statement, "start_statement", statement.text[:cut])
        members = tuple(interpret(member) for member in raw)
    except NotationError:
        return None
    if len(members) < 2:
        return None
    return ParsedStatement(statement, members, error)


def _top_level_equals(text: str) -> list[int]:
    """Positions of the ``=`` outside brackets (the sides of a chain)."""
    positions, depth = [], 0
    for position, char in enumerate(text):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif char == "=" and depth == 0:
            positions.append(position)
    return positions


def _left_side(statement: Statement) -> Node | None:
    """The left side of ``lhs = ...`` read alone, or None if it does not read."""
    depth = 0
    for position, char in enumerate(statement.text):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif char == "=" and depth == 0:
            try:
                return interpret(_parse(statement, "start_sum", statement.text[:position]))
            except NotationError:
                return None
    return None
