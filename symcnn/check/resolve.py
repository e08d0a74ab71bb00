"""Reader notation -> contract symbols: which letter is which tensor, what each side means.

A claim's left side names a gradient entry (``∂L/∂X_{12}``) or a whole gradient (``dL/dX``);
its right side is evaluated to an exact SymPy expression (or a 2-D array, for operator claims)
in the contract's symbols:

- an input, kernel or bias entry (``X_{12}``, ``w21``) is its symbol (``x_0_0_0_1``);
- ``∂L/∂O_{11}`` is dL/dO, which is ``upstream_scale * g_0_0_0_0`` (the derivation's loss is
  ``upstream_scale * sum(G * O)``, so a claim written with ∂L/∂O is right under either
  reduction; the contract symbol ``g_...`` written directly means G itself);
- a local partial ``∂O_{11}/∂F_{12}`` is its exact value from the forward expression;
- contract symbols (``w_0_0_1_1``) are read as they are (0-based, every axis).

Letters come from ``--letters``/``--loss`` or are inferred from the file (:func:`infer_letters`).
Indices are 1-based unless ``zero_based``; ``X[0,0,1,1]`` with one number per axis is a contract
index (0-based), as ``symcnn derive --format text`` writes it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from sympy import (
    Add,
    And,
    Basic,
    Eq,
    Ge,
    Gt,
    Integer,
    Le,
    Lt,
    Max,
    Min,
    Mul,
    Ne,
    Or,
    Piecewise,
    Pow,
    Rational,
    S,
    Symbol,
    exp,
    log,
)
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

from .. import identities
from ..derive import Derivation
from ..notation import LETTER_SETS, Notation
from ..options import check_loss_letter
from . import general_claims, operators
from .kinds import kind_check
from .parse import (
    Boolean,
    Call,
    Cases,
    Derivative,
    Entry,
    FailedStatement,
    Iverson,
    Logical,
    Matrix,
    Node,
    Number,
    Parameter,
    ParsedStatement,
    Product,
    Quotient,
    Relation,
    Sum,
    Tuple,
    Upstream,
)
from .source import DRAWN, NotationError, Source

#: The letter of the upstream gradient itself (the contract's g): ∂L/∂O = upstream_scale * G.
UPSTREAM_LETTER = "G"
#: Most terms a claim's right side may expand to (a product of sums multiplies out), by default
#: (``--max-claim-terms``): comparing expands the claim, and 8 kB of products of sums under a
#: limit of 100,000 took minutes. A hand-written entry has tens to hundreds of terms.
MAX_TERMS = 10_000

#: Conventional letters, when the file's letters match no known set.
_INPUT_LETTERS = ("X", "x", "A", "a", "I")
_KERNEL_LETTERS = ("W", "w", "F", "f", "K", "k")
_OUTPUT_LETTERS = ("O", "o", "Z", "z", "Y", "y")
_BIAS_LETTERS = ("B", "b")
_CONTRACT_RANK = {"x": 4, "w": 4, "g": 4, "b": 1}
#: Letters people mistype for one another (a typo is reported with a suggestion).
_LOOKALIKES = {"Q": "O", "0": "O", "o": "O", "D": "O", "C": "O", "G": "O"}


@dataclass(frozen=True)
class Letters:
    """The reader's letters for the input, kernel, output, bias and loss."""

    input: str
    output: str
    loss: str
    kernel: str | None = None
    bias: str | None = None

    def role(self, letter: str) -> str | None:
        """``"X"``, ``"W"``, ``"B"``, ``"O"``, ``"loss"``, ``"G"`` or None for no tensor.

        ``G`` (when no other tensor takes it) is the upstream gradient as the contract's ``g``:
        printed notes write ∂L/∂O = 1/N·G under the mean reduction.
        """
        if letter == UPSTREAM_LETTER and letter not in (
            self.input,
            self.kernel,
            self.bias,
            self.output,
            self.loss,
        ):
            return "G"
        for role, name in (
            ("X", self.input),
            ("W", self.kernel),
            ("B", self.bias),
            ("O", self.output),
            ("loss", self.loss),
        ):
            if name == letter:
                return role
        return None

    def notation(self, zero_based: bool) -> Notation:
        letters = {
            "X": self.input,
            "W": self.kernel or "W",
            "O": self.output,
            "B": self.bias or "B",
            "loss": self.loss,
            "T": TARGET_LETTERS[self.input.islower()],  # a loss's target, in the input's case
        }
        return Notation(tuple(letters.items()), zero_based)

    def describe(self) -> str:
        parts = [f"input {self.input}"]
        if self.kernel:
            parts.append(f"kernel {self.kernel}")
        parts.append(f"output {self.output}")
        if self.bias:
            parts.append(f"bias {self.bias}")
        parts.append(f"loss {self.loss}")
        return ", ".join(parts)


def parse_letters(text: str, has_kernel: bool, loss: str | None = None) -> Letters:
    """``--letters``: input, kernel, output[, bias] (``XFO``, ``xwob``); pools: input, output."""
    letters = text.strip()
    valid = "IKO or IKOB (input, kernel, output, bias)" if has_kernel else "IO (input, output)"
    sizes = (3, 4) if has_kernel else (2,)
    if len(letters) not in sizes or not letters.isalpha() or len(set(letters)) != len(letters):
        raise ValueError(f"letters={text!r} is not valid: expected {valid}, distinct letters")
    if loss is not None:
        check_loss_letter(loss, letters, letters)
    if has_kernel:
        bias = letters[3] if len(letters) == 4 else _free(_bias_letters(letters), letters)
        default_loss = "E" if letters[0].islower() else "L"
        return Letters(letters[0], letters[2], loss or default_loss, letters[1], bias)
    return Letters(letters[0], letters[1], loss or ("E" if letters[0].islower() else "L"))


def _bias_letters(input_letter: str) -> tuple[str, ...]:
    """Bias letters to try, in the input letter's case first."""
    return ("b", "B") if input_letter.islower() else ("B", "b")


def _free(candidates: tuple[str, ...], used: str) -> str | None:
    return next((letter for letter in candidates if letter not in used), None)


# -- walking the trees ----------------------------------------------------------------------------


def walk(node: Node) -> Iterator[Node]:
    """Every node of an expression tree, the node itself first."""
    yield node
    children: tuple = ()
    if isinstance(node, Sum):
        children = tuple(term for _, term in node.terms)
    elif isinstance(node, Product):
        children = node.factors
    elif isinstance(node, Quotient):
        children = (node.numerator, node.denominator)
    elif isinstance(node, Call):
        children = node.args
    elif isinstance(node, Matrix):
        children = tuple(cell for row in node.rows for cell in row)
    elif isinstance(node, Relation):
        children = (node.left, node.right)
    elif isinstance(node, Logical | Tuple):
        children = node.items
    elif isinstance(node, Iverson):
        children = (node.condition,)
    elif isinstance(node, Cases):
        children = tuple(part for piece in node.pieces for part in piece if part is not None)
    for child in children:
        yield from walk(child)


def _left_sides(statements) -> Iterator[Node]:
    """Left sides of equations, and whole-line headers such as ``dL/dX``."""
    for statement in statements:
        if isinstance(statement, ParsedStatement):
            if len(statement.members) > 1 or statement.statement.whole_line:
                yield statement.members[0]
        elif statement.lhs is not None:
            yield statement.lhs


def _right_sides(statements) -> Iterator[Node]:
    """Right sides of equations whose left side is a derivative (claims and chain rules)."""
    for statement in statements:
        if isinstance(statement, ParsedStatement) and any(
            True for _ in _lhs_derivatives(statement.members[0])
        ):
            yield from statement.members[1:]


def _lhs_derivatives(node: Node) -> Iterator[Derivative]:
    if isinstance(node, Derivative):
        yield node
    elif isinstance(node, Matrix):
        for row in node.rows:
            for cell in row:
                if isinstance(cell, Derivative):
                    yield cell


def _is_contract(entry: Entry) -> bool:
    index = entry.index
    return (
        index is not None
        and index.underscored
        and _CONTRACT_RANK.get(entry.letter) == len(index.groups)
        and entry.letter != "b"
    )


# -- inferring the letters ------------------------------------------------------------------------


def infer_letters(
    statements, has_kernel: bool, *, letters: str | None = None, loss: str | None = None
) -> Letters:
    """The file's letters: from ``letters``/``loss`` when given, else from how the file uses them.

    The loss is the letter most often differentiated (``∂L/∂...``); the output the letter
    whose derivatives of the loss appear on right sides (``∂L/∂O_{11}``); the input and kernel
    come from the derivatives on left sides and the entries on right sides, named by the known
    letter sets (:data:`symcnn.notation.LETTER_SETS`) or the usual letters.

    Raises
    ------
    NotationError
        When the letters cannot be told apart; the message says to pass ``--letters``.
    """
    statements = list(statements)
    if letters is not None:
        return parse_letters(letters, has_kernel, loss or _infer_loss(statements))
    loss = loss or _infer_loss(statements)
    lhs_letters: Counter[str] = Counter()
    for node in _left_sides(statements):
        for derivative in _lhs_derivatives(node):
            if _of_loss(derivative, loss):
                lhs_letters[derivative.denominator.letter] += 1
    outputs: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    for side in _right_sides(statements):
        for node in walk(side):
            if isinstance(node, Derivative):
                if _of_loss(node, loss):
                    outputs[node.denominator.letter] += 1
                elif node.numerator is not None and node.numerator.index is not None:
                    outputs[node.numerator.letter] += 1  # ∂O_11/∂F_12: O is the output
                    entries[node.denominator.letter] += 1
            elif isinstance(node, Entry) and not _is_contract(node):
                entries[node.letter] += 1
    usage = lhs_letters + entries
    output = _pick(outputs, exclude=set(lhs_letters) | {loss}, preferred=_OUTPUT_LETTERS)
    upstream = {UPSTREAM_LETTER} - set(lhs_letters)  # G₁₁: the upstream gradient, not a tensor
    tensors = Counter({k: v for k, v in usage.items() if k not in {loss, output, *upstream}})
    known = _known_set(tensors, has_kernel)
    if output is None:
        output = known["O"] if known else _free(_OUTPUT_LETTERS, "".join(tensors) + loss)
    if not has_kernel:
        return Letters(_only_input(tensors, known), output, loss)
    if known:
        input_letter, kernel = known["X"], known["W"]
    else:
        input_letter, kernel = _conventional(list(tensors))
    bias_candidates = [c for c in tensors if c in _BIAS_LETTERS and c not in (input_letter, kernel)]
    bias = bias_candidates[0] if bias_candidates else (known or {}).get("B")
    if bias in (input_letter, kernel, output, loss) or bias is None:
        bias = _free(_bias_letters(input_letter), input_letter + kernel + output + loss)
    return Letters(input_letter, output, loss, kernel, bias)


def _of_loss(derivative: Derivative, loss: str) -> bool:
    numerator = derivative.numerator
    return numerator is None or (numerator.letter == loss and numerator.index is None)


def _infer_loss(statements) -> str:
    counts: Counter[str] = Counter()
    for node in _left_sides(statements):
        for derivative in _lhs_derivatives(node):
            numerator, denominator = derivative.numerator, derivative.denominator
            if numerator is not None and numerator.index is None and denominator.index is not None:
                counts[numerator.letter] += 2  # ∂L/∂X_{12}: an entry claim names the loss
            elif numerator is not None and numerator.index is None:
                counts[numerator.letter] += 1
    return _pick(counts, exclude=set(), preferred=("L", "E", "J", "C")) or "L"


def _pick(counts: Counter, *, exclude: set, preferred: tuple[str, ...]) -> str | None:
    """The most frequent letter (ties: the preferred letters, then alphabetical)."""
    ranked = sorted(
        (letter for letter in counts if letter not in exclude),
        key=lambda letter: (
            -counts[letter],
            preferred.index(letter) if letter in preferred else len(preferred),
            letter,
        ),
    )
    return ranked[0] if ranked else None


def _known_set(usage: Counter, has_kernel: bool) -> dict[str, str] | None:
    """The known letter set that names the most of the file's tensor letters.

    A set qualifies when it names its input letter or its kernel letter among them; ties go to
    the order of :data:`symcnn.notation.LETTER_SETS`. Letters no set names (a typo) are left
    for the claims that use them to report.
    """
    best, best_count = None, 0
    for letters in LETTER_SETS.values():
        roles = ("X", "W", "B") if has_kernel else ("X",)
        named = {letters[role] for role in roles}
        if letters["X"] not in usage and (not has_kernel or letters["W"] not in usage):
            continue
        count = sum(usage[letter] for letter in named)
        if count > best_count:
            best, best_count = letters, count
    if best is None and set(usage) <= {"B"}:
        best = LETTER_SETS["XWO"]  # nothing but a bias (or nothing): the default letters
    elif best is None and set(usage) == {"b"}:
        best = LETTER_SETS["xwo"]
    return best


def _conventional(tensors: list[str]) -> tuple[str, str]:
    inputs = [letter for letter in tensors if letter in _INPUT_LETTERS]
    kernels = [letter for letter in tensors if letter in _KERNEL_LETTERS]
    if len(inputs) == 1 and len(kernels) == 1:
        return inputs[0], kernels[0]
    raise NotationError(
        "cannot tell which letter is the input and which the kernel (the file uses "
        + ", ".join(sorted(tensors) or ["none"])
        + "): pass --letters, e.g. --letters XWO"
    )


def _only_input(tensors: list[str], known: dict[str, str] | None) -> str:
    if known:
        return known["X"]
    inputs = [letter for letter in tensors if letter in _INPUT_LETTERS]
    if len(tensors) == 1:
        return tensors[0]
    if len(inputs) == 1:
        return inputs[0]
    raise NotationError(
        "cannot tell which letter is the input (the file uses "
        + ", ".join(sorted(tensors) or ["none"])
        + "): pass --letters, e.g. --letters XO"
    )


# -- claims ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One claimed gradient entry: ``tensor[index] = value`` written at ``offset``.

    ``group`` numbers the statement the claim comes from (claims of one statement share it).
    """

    tensor: str
    index: tuple[int, ...]
    value: Basic
    offset: int
    written: str
    kind: str  # "entry", "operator" or "matrix"
    group: int
    note: str = ""


@dataclass(frozen=True)
class Unusable:
    """A claim that could not be read: its message and place, and its entry when known."""

    message: str
    offset: int
    written: str
    tensor: str | None = None
    index: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Skipped:
    """A statement about the loss's gradient that is not a checkable claim (with the reason)."""

    reason: str
    offset: int
    written: str


@dataclass
class Claims:
    """What a file claims, what it could not say, what it skips, and its input's values.

    ``values`` maps input symbols to the numbers the file gives them (``X_{11} = 4``, or
    ``X = \\begin{bmatrix} ... \\end{bmatrix}``): a max-pool example with numbers is checked
    at those numbers.
    """

    claims: list[Claim] = field(default_factory=list)
    unusable: list[Unusable] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    values: dict[Symbol, Rational] = field(default_factory=dict)


class _GeneralFormula(Exception):
    """A formula with index variables or Jacobians (``F_i``, ``∂O/∂F``): not one entry."""


@dataclass(frozen=True)
class _Target:
    tensor: str
    index: tuple[int, ...] | None  # None: the whole tensor
    written: str
    offset: int
    part: tuple[int, ...] | None = None  # 0-based leading indices of one channel's slice


class Reader:
    """Turns parsed statements into claims for one layer and one choice of letters."""

    def __init__(
        self,
        derivation: Derivation,
        letters: Letters,
        *,
        zero_based: bool = False,
        max_terms: int = MAX_TERMS,
        deadline: Callable[[int], None] | None = None,
    ):
        self.derivation = derivation
        self.max_terms = max_terms
        self.deadline = deadline  # called with each statement's offset; raises past the budget
        self.letters = letters
        self.zero_based = zero_based
        self.notation = letters.notation(zero_based)
        self.contract_mode = False
        self.shapes = {name: grad.shape for name, grad in derivation.grads.items()}
        self.shapes["O"] = derivation.output.shape
        if derivation.tensors.T is not None:  # a loss: its target is indexed like its input
            self.shapes["T"] = derivation.tensors.T.shape

    @cached_property
    def local_partials(self) -> dict[tuple[int, ...], dict[Symbol, Basic]]:
        return {entry.index: dict(entry.partials) for entry in self.derivation.entries}

    # -- statements -> claims ---------------------------------------------------------------

    def read(self, statements, source: Source) -> Claims:
        statements = list(statements)
        self.contract_mode = any(
            isinstance(node, Entry) and _is_contract(node) and node.letter in "xwg"
            for side in _right_sides(statements)
            for node in walk(side)
        )
        result = Claims()
        section: str | None = None
        previous_end = 0
        for group, statement in enumerate(statements):
            start = statement.statement.offset(0)
            if self.deadline is not None:
                self.deadline(start)
            if "\n\n" in re.sub(r"[ \t]+", "", source.text[previous_end:start]):
                section = None  # a blank line ends a section such as "dL/dX" + entries
            previous_end = statement.statement.offset(len(statement.statement.text))
            if self._general(statement.statement, group, result):
                continue
            if isinstance(statement, FailedStatement):
                self._failed(statement, section, result)
                continue
            members = statement.members
            if len(members) == 2 and self._input_values(members, result):
                continue
            if len(members) == 1:
                header = self._header(members[0]) if statement.statement.whole_line else None
                section = header if header is not None else section
                continue
            self._claim(members, section, group, result, complete=statement.rest is None)
            if statement.rest is not None:  # the chain's sides after the last one that reads
                self._failed(
                    FailedStatement(statement.statement, members[0], statement.rest),
                    section,
                    result,
                )
        return result

    def _general(self, statement, group: int, result: Claims) -> bool:
        """A general formula (``dL/dW_{m,n} = Σ ...``), claimed at every entry of its tensor."""
        if not general_claims.looks_general(statement.text):
            return False
        try:
            found = general_claims.read(
                statement,
                self.derivation,
                self.letters.role,
                self.letters.loss,
                self.zero_based,
                self.notation.shown_axes,
                self.max_terms,
            )
        except general_claims.GeneralFormulaError as error:
            written = error.written or statement.text[: statement.text.find("=")].strip()[:60]
            message = f"a general formula: {error.message}"
            if error.not_a_claim:
                result.skipped.append(Skipped(message, error.offset, written))
            else:
                result.unusable.append(Unusable(message, error.offset, written))
            return True
        if found is None:
            return False
        try:
            for index, value in found.entries:
                target = _Target(found.tensor, index, found.written, found.offset)
                self._add(result, target, value, found.offset, "general", group)
        except NotationError as error:  # an entry past the claim's term limit
            result.unusable.append(Unusable(error.message, error.offset, found.written))
        return True

    def _input_values(self, members, result: Claims) -> bool:
        """``X_{11} = 4`` or ``X = [numbers]``: the file gives its input's values."""
        lhs, rhs = members
        if not (isinstance(lhs, Entry) and self.letters.role(lhs.letter) == "X"):
            return False
        symbols = self.derivation.tensors.X
        try:
            if lhs.index is not None and _number(rhs) is not None:
                result.values[symbols[self.entry_index(lhs, "X")]] = _number(rhs)
                return True
            if lhs.index is None and isinstance(rhs, Matrix):
                numbers = [[_number(cell) for cell in row] for row in rhs.rows]
                if any(n is None for row in numbers for n in row):
                    return False
                plane = symbols[0, 0]
                if (len(numbers), len(numbers[0])) != plane.shape or symbols.shape[:2] != (1, 1):
                    return False
                for (r, c), symbol in np.ndenumerate(plane):
                    result.values[symbol] = numbers[r][c]
                return True
        except (NotationError, _GeneralFormula):
            return False
        return False

    def _header(self, node: Node) -> str | None:
        if isinstance(node, Derivative) and _of_loss(node, self.letters.loss):
            role = self.letters.role(node.denominator.letter)
            if role in self.derivation.grads and node.denominator.index is None:
                return role
        return None

    def _failed(self, statement: FailedStatement, section, result: Claims) -> None:
        if statement.lhs is None:
            return
        try:
            targets = self._targets(statement.lhs, section)
        except _GeneralFormula as reason:
            if self._about_loss(statement.lhs):
                result.skipped.append(
                    Skipped(str(reason), statement.lhs.offset, _written(statement.lhs))
                )
            return
        except NotationError:
            return
        if not targets:
            return
        error = statement.error
        if error.not_a_claim:
            result.skipped.append(Skipped(error.message, error.offset, targets[0].written))
            return
        for target in targets:
            result.unusable.append(
                Unusable(error.message, error.offset, target.written, target.tensor, target.index)
            )

    def _claim(self, members, section, group: int, result: Claims, complete=True) -> None:
        """Claims of one statement; ``complete`` False: its chain goes on past what was read."""
        lhs = members[0]
        try:
            targets = self._targets(lhs, section)
        except _GeneralFormula as reason:
            result.skipped.append(Skipped(str(reason), _node_offset(lhs), _written(lhs)))
            return
        except NotationError as error:
            if self._about_loss(lhs):
                tensor = self._lhs_tensor(lhs)
                result.unusable.append(Unusable(error.message, error.offset, _written(lhs), tensor))
            return
        if not targets:
            self._skip_unknown(lhs, result)
            return
        sides = [(lhs, targets)]
        values = list(members[1:])
        while len(values) > 1 and isinstance(values[0], Derivative):
            more = self._chained_target(values[0])
            if more is None:
                break
            sides.append((values.pop(0), more))  # dL/dX11 = dL/dX12 = 0: both are claims
        for position, member in enumerate(values):
            last = complete and position == len(values) - 1
            for side, side_targets in sides:
                self._claim_value(side, side_targets, member, group, result, last)

    def _chained_target(self, node: Derivative) -> list[_Target] | None:
        """A gradient of the loss inside a chain (``a = b = 0``), or None if it is a value."""
        try:
            target = self._derivative_target(node)
        except (NotationError, _GeneralFormula):
            return None
        return [target] if target is not None else None

    def _claim_value(self, lhs, targets, member, group, result: Claims, last=True) -> None:
        try:
            value = self._cropped(member, targets)
            value = self.value(member) if value is None else value
            if not last and self._a_step(targets, value):
                shape = "x".join(map(str, value.shape))
                result.skipped.append(
                    Skipped(
                        f"a {shape} step of a chain (the tensor has another shape): the chain's"
                        " last member is the claim",
                        _node_offset(member),
                        _written(lhs),
                    )
                )
                return
            self._assign(targets, lhs, value, member, group, result)
        except _GeneralFormula as reason:
            result.skipped.append(Skipped(str(reason), _node_offset(member), _written(lhs)))
        except NotationError as error:
            if error.not_a_claim:
                result.skipped.append(Skipped(error.message, error.offset, _written(lhs)))
                return
            for target in targets:
                result.unusable.append(
                    Unusable(
                        error.message, error.offset, target.written, target.tensor, target.index
                    )
                )

    def _a_step(self, targets: list[_Target], value) -> bool:
        """A matrix of another shape than the whole tensor it is set equal to."""
        if len(targets) != 1 or targets[0].index is not None or not isinstance(value, np.ndarray):
            return False
        tensor = targets[0].tensor
        if tensor == "B":
            return value.size != self.shapes["B"][0]
        return value.shape != self.shapes[tensor][2:]

    def _cropped(self, member: Node, targets: list[_Target]):
        """``dL/dX = crop(A, P)``: the tensor's window of A starting P in, as the identity crops.

        Rows and columns no strided window reached are missing from A at the bottom and right;
        they get no gradient, so A is extended with zeros first (None when this does not apply).
        """
        if not (isinstance(member, Call) and member.name == "crop" and len(targets) == 1):
            return None
        target = targets[0]
        if target.index is not None or target.tensor != "X" or len(member.args) not in (2, 3):
            return None
        height, width = self.plane_shape("X", member.offset)
        inner = self.value(member.args[0])
        if not isinstance(inner, np.ndarray):
            return None
        amounts = [self._whole_number(arg, member, False) for arg in member.args[1:]]
        before = operators._pair(tuple(amounts))
        size = (height + 2 * before[0], width + 2 * before[1])
        return identities.crop(operators.extend(inner, size), before, (height, width))

    def _lhs_tensor(self, lhs: Node) -> str | None:
        """The gradient a left side is about, even when its index cannot be read."""
        for derivative in _lhs_derivatives(lhs):
            role = self.letters.role(derivative.denominator.letter)
            if role in self.derivation.grads:
                return role
        return None

    def _about_loss(self, lhs: Node) -> bool:
        return any(_of_loss(d, self.letters.loss) for d in _lhs_derivatives(lhs))

    def _skip_unknown(self, lhs: Node, result: Claims) -> None:
        """A derivative of the loss by a letter of no tensor: say so rather than stay silent."""
        for derivative in _lhs_derivatives(lhs):
            if derivative.numerator is None or not _of_loss(derivative, self.letters.loss):
                continue
            letter = derivative.denominator.letter
            if self.letters.role(letter) is None:
                result.skipped.append(
                    Skipped(
                        f"{letter} is not a letter of this layer ({self.letters.describe()})",
                        derivative.offset,
                        derivative.written(),
                    )
                )
                return

    def _targets(self, lhs: Node, section: str | None) -> list[_Target]:
        """The gradient entries a left side names ([] for a statement that is not a claim)."""
        if isinstance(lhs, Derivative):
            target = self._derivative_target(lhs)
            return [target] if target else []
        if isinstance(lhs, Entry) and section is not None:
            if self.letters.role(lhs.letter) == section and lhs.index is not None:
                index = self.entry_index(lhs, section)
                return [_Target(section, index, lhs.written(), lhs.offset)]
            return []
        if isinstance(lhs, Matrix):
            cells = [cell for row in lhs.rows for cell in row]
            targets = [
                self._derivative_target(c) if isinstance(c, Derivative) else None for c in cells
            ]
            if targets and all(t is not None and t.index is not None for t in targets):
                return targets
        return []

    def _derivative_target(self, lhs: Derivative) -> _Target | None:
        if not _of_loss(lhs, self.letters.loss):
            return None
        role = self.letters.role(lhs.denominator.letter)
        if role not in self.derivation.grads:
            return None
        entry = lhs.denominator
        if entry.part is not None:
            part = self.slice_part(entry, role)
            return _Target(role, None, lhs.written(), lhs.offset, part)
        index = None if entry.index is None else self.entry_index(entry, role)
        return _Target(role, index, lhs.written(), lhs.offset)

    def slice_part(self, entry: Entry, tensor: str) -> tuple[int, ...]:
        """The 0-based leading indices of ``W⁽¹,²⁾``: one number per leading axis of size > 1.

        The notes label a channel's matrix with the sample and channel axes that have more
        than one entry (``W⁽ᵏ,ᶜ⁾``, ``X⁽ᶜ⁾`` for one sample), as :mod:`symcnn.printing.text`
        prints them.
        """
        shape = self.shapes[tensor]
        leading = shape[:-2]
        shown = [axis for axis, size in enumerate(leading) if size > 1]
        if len(entry.part) != len(shown):
            raise NotationError(
                f"{entry.written()}: {len(entry.part)} numbers for the {len(shown)} axes of"
                f" size > 1 before the matrix (shape {list(shape)})",
                entry.offset,
            )
        base = 0 if self.zero_based else 1
        part = [0] * len(leading)
        for axis, number in zip(shown, entry.part, strict=True):
            if not base <= number < leading[axis] + base:
                raise NotationError(
                    f"{entry.written()}: {number} is out of range for axis {axis}: expected"
                    f" {base}..{leading[axis] - 1 + base}",
                    entry.offset,
                )
            part[axis] = number - base
        return tuple(part)

    def _assign(self, targets, lhs, value, member, group: int, result: Claims) -> None:
        offset = _node_offset(member)
        if isinstance(lhs, Matrix):
            rows, cols = len(lhs.rows), len(lhs.rows[0])
            if not isinstance(value, np.ndarray) or value.shape != (rows, cols):
                raise NotationError(
                    f"the left side is a {rows}x{cols} matrix; the right side is "
                    + (
                        f"{value.shape[0]}x{value.shape[1]}"
                        if isinstance(value, np.ndarray)
                        else "one expression"
                    ),
                    offset,
                )
            for target, cell in zip(targets, value.flat, strict=True):
                self._add(result, target, cell, offset, "matrix", group)
            return
        (target,) = targets
        if target.index is not None:
            if isinstance(value, np.ndarray):
                raise NotationError(f"a matrix for the single entry {target.written}", offset)
            self._add(result, target, value, offset, "entry", group)
            return
        shape = self.shapes[target.tensor]
        if not isinstance(value, np.ndarray):
            if int(np.prod(shape)) != 1:
                raise NotationError(
                    f"one expression for all of {target.written}, a tensor of shape {list(shape)}",
                    offset,
                )
            index = (0,) * len(shape)
            self._add(
                result,
                _Target(target.tensor, index, target.written, target.offset),
                value,
                offset,
                "operator",
                group,
            )
            return
        if target.tensor == "B":  # [a  b], a row or a column of the biases
            if value.size != int(np.prod(shape)):
                raise NotationError(
                    f"{value.size} entries for {target.written}, which has {int(np.prod(shape))}",
                    offset,
                )
            for k, cell in enumerate(value.flat):
                entry_target = _Target("B", (k,), target.written, target.offset)
                self._add(result, entry_target, cell, offset, "operator", group)
            return
        if target.part is not None:  # one channel's matrix: its plane of the tensor
            plane, lead = tuple(shape[-2:]), target.part
        else:
            plane, lead = self.plane_shape(target.tensor, offset), (0,) * (len(shape) - 2)
        fitted, note = _fit(value, plane)
        # A matrix written out (drawn or \begin{bmatrix}) places each entry's verdict at it.
        cells = member.rows if isinstance(member, Matrix) and value.shape == plane else None
        for position, cell in np.ndenumerate(fitted):
            index = lead + position
            entry_target = _Target(target.tensor, index, target.written, target.offset)
            at = offset if cells is None else _node_offset(cells[position[0]][position[1]])
            self._add(result, entry_target, cell, at, "operator", group, note)

    def _add(self, result, target: _Target, value, offset, kind, group, note="") -> None:
        _check_terms(value, offset, self.max_terms)
        result.claims.append(
            Claim(target.tensor, target.index, value, offset, target.written, kind, group, note)
        )

    # -- indices ----------------------------------------------------------------------------

    def entry_index(self, entry: Entry, tensor: str) -> tuple[int, ...]:
        """The 0-based full index of an entry as the reader wrote it."""
        index = entry.index
        shape = self.shapes[tensor]
        if index.symbolic:
            raise _GeneralFormula(
                f"{entry.written()} has an index variable: a general formula, not one entry"
            )
        numbers = tuple(int(group) for group in index.groups)
        contract = index.bracket or (index.underscored and self.contract_mode)
        if contract and len(numbers) == len(shape):
            return self._in_range(entry, numbers, shape, base=0)
        if len(numbers) == len(shape) and len(shape) > 1 and not index.joined:
            base = 0 if self.zero_based else 1
            return self._in_range(entry, tuple(n - base for n in numbers), shape, base=base)
        axes = self.notation.shown_axes(shape)
        if index.joined and len(axes) > 1:
            digits = index.groups[0]
            first = "0" if self.zero_based else "1"
            hidden = len(shape) - len(axes)
            extra = len(digits) - len(axes)
            single_digit = all(shape[axis] <= 9 for axis in axes)  # no index of two digits
            if 0 < extra <= hidden and digits[:extra] == first * extra and single_digit:
                # δX111 on a one-sample, one-channel layer: the leading digits name axes of
                # size 1 (a sample or a channel, either reading gives the same entry).
                digits = digits[extra:]
            if len(digits) != len(axes):
                raise NotationError(
                    f"{entry.written()}: {len(digits)} digits for {len(axes)} indices is"
                    f" ambiguous; separate them with commas ({entry.letter}_{{1,23}})",
                    index.offset,
                )
            numbers = tuple(int(digit) for digit in digits)
        try:
            return self.notation.full_index(numbers, shape)
        except ValueError as error:
            raise NotationError(
                f"{entry.written()}: {error}{self._base_hint(numbers, shape)}", index.offset
            ) from None

    def _in_range(self, entry: Entry, index, shape, base: int) -> tuple[int, ...]:
        for axis, (value, size) in enumerate(zip(index, shape, strict=True)):
            if not 0 <= value < size:
                raise NotationError(
                    f"{entry.written()}: index {value + base} is out of range for axis {axis} of"
                    f" a tensor of shape {list(shape)}: expected {base}..{size - 1 + base}",
                    entry.index.offset,
                )
        return tuple(index)

    def _base_hint(self, numbers, shape) -> str:
        if not self.zero_based and 0 in numbers:
            return " (a 0 in 1-based indices: if the file counts from 0, pass --zero-based)"
        sizes = [shape[axis] for axis in self.notation.shown_axes(shape)]
        if self.zero_based and any(n == s for n, s in zip(numbers, sizes, strict=False)):
            return " (the file may count from 1: drop --zero-based)"
        return ""

    def plane_shape(self, tensor: str, offset: int) -> tuple[int, int]:
        """The 2-D shape of a tensor for operator claims (its leading axes must have size 1)."""
        shape = self.shapes[tensor]
        if len(shape) != 4 or any(size != 1 for size in shape[:2]):
            raise NotationError(
                f"an operator claim on a tensor of shape {list(shape)}: operators act on single"
                " images and channels (batch 1, 1 channel); write the entries instead",
                offset,
            )
        return shape[2], shape[3]

    # -- values -----------------------------------------------------------------------------

    def value(self, node: Node):
        """The exact value of a right side: a SymPy expression or a 2-D object array."""
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Entry):
            return self._entry(node)
        if isinstance(node, Derivative):
            return self._derivative(node)
        if isinstance(node, Upstream):  # δ₁₁: ∂L/∂O₁₁
            return self._upstream(Entry(self.letters.output, node.index, node.offset))
        if isinstance(node, Sum):
            return self._sum(node)
        if isinstance(node, Product):
            return self._product(node)
        if isinstance(node, Quotient):
            numerator, denominator = self.value(node.numerator), self.value(node.denominator)
            if isinstance(denominator, np.ndarray):
                raise NotationError("division by a matrix", _node_offset(node.denominator))
            _number_only(numerator, node.numerator)
            _number_only(denominator, node.denominator)
            if denominator == 0:
                raise NotationError("division by zero", _node_offset(node.denominator))
            return numerator * Pow(denominator, -1)
        if isinstance(node, Relation):
            left, right = self._scalar(node.left), self._scalar(node.right)
            return RELATIONS[node.op](left, right)
        if isinstance(node, Logical):
            items = [self._condition(item) for item in node.items]
            return And(*items) if node.op == "and" else Or(*items)
        if isinstance(node, Boolean):
            return S.true if node.value else S.false
        if isinstance(node, Iverson):
            return Piecewise((1, self._condition(node.condition)), (0, True))
        if isinstance(node, Cases):
            return self._cases(node.pieces)
        if isinstance(node, Tuple):
            raise NotationError("a list (a, b) outside an operator's parentheses", node.offset)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Matrix):
            cells = [[self.value(cell) for cell in row] for row in node.rows]
            if any(isinstance(cell, np.ndarray) for row in cells for cell in row):
                raise NotationError("a matrix inside a matrix", node.offset)
            array = np.empty((len(cells), len(cells[0])), dtype=object)
            for r, row in enumerate(cells):
                for c, cell in enumerate(row):
                    array[r, c] = cell
            return array
        if isinstance(node, Parameter):
            raise NotationError(
                f"{node.name} is read only inside an operator's arguments", node.offset
            )
        raise NotationError("cannot read this", _node_offset(node))  # pragma: no cover

    def _entry(self, entry: Entry):
        if _is_contract(entry) and (self.contract_mode or self.letters.role(entry.letter) is None):
            return self._contract_symbol(entry)
        role = self.letters.role(entry.letter)
        if role in ("X", "W", "B") and role in self.derivation.grads:
            symbols = {
                "X": self.derivation.tensors.X,
                "W": self.derivation.tensors.W,
                "B": self.derivation.tensors.B,
            }[role]
            if entry.part is not None:
                return symbols[self.slice_part(entry, role)]
            if entry.index is None:
                if role == "B" and symbols.size == 1:
                    return symbols.flat[0]
                return symbols[0, 0] if role != "B" and self._plane(role, entry) else symbols
            return symbols[self.entry_index(entry, role)]
        if role == "G":
            if entry.part is not None:
                return self.derivation.tensors.G[self.slice_part(entry, "O")]
            if entry.index is None:
                self.plane_shape("O", entry.offset)
                return self.derivation.tensors.G[0, 0]
            return self.derivation.tensors.G[self.entry_index(entry, "O")]
        if role == "O":
            raise NotationError(
                f"{entry.written()} is the output itself; did you mean its gradient"
                f" ∂{self.letters.loss}/∂{entry.written()}?",
                entry.offset,
            )
        if role == "loss":
            raise NotationError(f"the loss {entry.letter} alone on the right side", entry.offset)
        target = self.derivation.tensors.T
        if role is None and target is not None and entry.letter in TARGET_LETTERS:
            if entry.index is None:
                raise NotationError(f"{entry.written()}: which entry of the target?", entry.offset)
            return target[self.entry_index(entry, "T")]  # a loss's target, T like X
        raise NotationError(self._unknown(entry.letter), entry.offset)

    def _scalar(self, node: Node):
        value = self.value(node)
        if isinstance(value, np.ndarray):
            raise NotationError("a matrix in a condition", _node_offset(node))
        _number_only(value, node)
        return value

    def _condition(self, node: Node):
        value = self.value(node)
        if not is_condition(value):
            raise NotationError("a condition (a comparison) is expected here", _node_offset(node))
        return value

    def _cases(self, pieces) -> Basic:
        """Piecewise from (value, condition) pairs; no 'otherwise' leaves the rest undefined."""
        pairs = []
        for value_node, condition_node in pieces:
            value = self._scalar(value_node)
            condition = S.true if condition_node is None else self._condition(condition_node)
            pairs.append((value, condition))
        if pairs[-1][1] is not S.true:
            pairs.append((S.NaN, S.true))
        return Piecewise(*pairs)

    def _plane(self, role: str, entry: Entry) -> bool:
        self.plane_shape(role, entry.offset)
        return True

    def _contract_symbol(self, entry: Entry) -> Symbol:
        prefix = entry.letter
        tensor = {"x": "X", "w": "W", "b": "B", "g": "O"}[prefix]
        if tensor != "O" and tensor not in self.derivation.grads:
            raise NotationError(f"{entry.written()}: this layer has no {tensor}", entry.offset)
        index = tuple(int(group) for group in entry.index.groups)
        self._in_range(entry, index, self.shapes[tensor], base=0)
        return Symbol(entry.written())

    def _unknown(self, letter: str) -> str:
        guess = _LOOKALIKES.get(letter)
        letters = [self.letters.input, self.letters.kernel, self.letters.output, self.letters.loss]
        known = ", ".join(name for name in letters if name)
        hint = ""
        if guess and guess.lower() == self.letters.output.lower():
            hint = f"; did you mean {self.letters.output}?"
        return f"unknown letter {letter!r}: this file's letters are {known}{hint}"

    def _derivative(self, node: Derivative):
        numerator, denominator = node.numerator, node.denominator
        if _of_loss(node, self.letters.loss):
            role = self.letters.role(denominator.letter)
            if role == "O":
                return self._upstream(denominator)
            if role in ("X", "W", "B"):
                raise NotationError(
                    f"{node.written()} on the right side is a gradient being derived: write it"
                    f" with ∂{self.letters.loss}/∂{self.letters.output} and the layer's tensors",
                    node.offset,
                )
            raise NotationError(self._unknown(denominator.letter), denominator.offset)
        if numerator is not None and self.letters.role(numerator.letter) == "O":
            role = self.letters.role(denominator.letter)
            if role not in ("X", "W", "B"):
                raise NotationError(self._unknown(denominator.letter), denominator.offset)
            if numerator.index is None or denominator.index is None:
                raise _GeneralFormula(
                    f"{node.written()} is a Jacobian: a general formula, not one entry"
                )
            output = self.entry_index(numerator, "O")
            symbol = self._entry(denominator)
            return self.local_partials[output].get(symbol, Integer(0))
        if numerator is not None and self.letters.role(numerator.letter) is None:
            raise NotationError(self._unknown(numerator.letter), numerator.offset)
        raise NotationError(f"{node.written()}: not a derivative this layer has", node.offset)

    def _upstream(self, entry: Entry):
        scale = self.derivation.upstream_scale
        upstream = self.derivation.tensors.G
        if entry.part is not None:
            plane = upstream[self.slice_part(entry, "O")]
            return np.vectorize(lambda g: scale * g, otypes=[object])(plane)
        if entry.index is None:
            self.plane_shape("O", entry.offset)
            return np.vectorize(lambda g: scale * g, otypes=[object])(upstream[0, 0])
        return scale * upstream[self.entry_index(entry, "O")]

    def _sum(self, node: Sum):
        total = None
        for sign, term in node.terms:
            value = self.value(term)
            _number_only(value, term)
            value = -value if sign < 0 else value
            if total is None:
                total = value
                continue
            if isinstance(total, np.ndarray) != isinstance(value, np.ndarray):
                raise NotationError("a matrix added to a number", _node_offset(term))
            if isinstance(total, np.ndarray) and total.shape != value.shape:
                raise NotationError(
                    f"matrices of shapes {total.shape[0]}x{total.shape[1]} and"
                    f" {value.shape[0]}x{value.shape[1]} added",
                    _node_offset(term),
                )
            total = total + value
        return total

    def _product(self, node: Product):
        result = None
        stars = (False, *node.stars) if node.stars else (False,) * len(node.factors)
        for factor, star in zip(node.factors, stars, strict=True):
            value = self.value(factor)
            masks = any(isinstance(other, Derivative | Upstream) for other in node.factors)
            if is_condition(value) and masks and not isinstance(value, Symbol):
                # dL/dO11 * (X11 >= max(...)): a comparison times a value is the mask students
                # write, 1 where it holds and 0 elsewhere (the Iverson bracket).
                value = Piecewise((1, value), (0, True))
            _number_only(value, factor)
            if result is None:
                result = value
                continue
            if isinstance(result, np.ndarray) and isinstance(value, np.ndarray):
                if not star:
                    raise NotationError(
                        "a product of two matrices: write A * K or conv(A, K) for a"
                        " convolution, or the entries one by one",
                        _node_offset(factor),
                    )
                # Lecture notes write the layer's operation as X * W: a convolution.
                result = self._call(Call("conv", (), node.offset), arrays=[result, value])
                continue
            result = result * value if not isinstance(value, np.ndarray) else value * result
        return result

    def _call(self, node: Call, arrays: list | None = None):
        if node.name in SCALAR_OPERATORS:
            return self._scalar_call(node)
        if node.name in ROUTING_OPERATORS:
            return self._routing_call(node)
        operator = operators.OPERATORS[node.name]
        arrays, numbers = list(arrays or []), []
        for arg in node.args:
            if len(arrays) < operator.arrays:
                value = self.value(arg)
                if not isinstance(value, np.ndarray):
                    raise NotationError(
                        f"{node.name} takes a matrix here ({operator.usage})", _node_offset(arg)
                    )
                arrays.append(value)
            else:
                numbers.append(self._whole_number(arg, node, operator.positive))
        fewest, most = operator.numbers
        if len(arrays) < operator.arrays or not fewest <= len(numbers) <= most:
            raise NotationError(f"{node.name} takes {operator.usage}", node.offset)
        pair = operators._pair(tuple(numbers)) if numbers else (1, 1)
        shape, work = operator.shape([a.shape for a in arrays], pair)
        if shape is not None and (shape[0] < 1 or shape[1] < 1):
            raise NotationError(f"{node.name} leaves an empty matrix", node.offset)
        if shape is not None and shape[0] * shape[1] > operators.MAX_ENTRIES:
            raise NotationError(
                f"{node.name} would build a {shape[0]}x{shape[1]} matrix, more"
                f" than {operators.MAX_ENTRIES:,} entries",
                node.offset,
            )
        if work > operators.MAX_WORK:
            raise NotationError(f"{node.name} would cost {work:,} multiplications", node.offset)
        return operator.apply(*arrays, *numbers)

    def _scalar_call(self, node: Call):
        """max, min, Eq, Ne and Piecewise, on single expressions."""
        name, args = node.name, node.args
        if name == "piecewise":
            pairs = []
            for arg in args:
                if not (isinstance(arg, Tuple) and len(arg.items) == 2):
                    raise NotationError("Piecewise takes pairs (value, condition)", arg.offset)
                pairs.append(arg.items)
            if not pairs:
                raise NotationError("Piecewise takes pairs (value, condition)", node.offset)
            return self._cases(pairs)
        values = [self._scalar(arg) for arg in args]
        if name in FUNCTIONS:
            if len(values) != 1:
                raise NotationError(f"{name} takes one expression", node.offset)
            return FUNCTIONS[name](values[0])
        if name in ("max", "min"):
            if not values:
                raise NotationError(f"{name} of nothing", node.offset)
            return (Max if name == "max" else Min)(*values)
        if len(values) != 2:
            raise NotationError(f"{name} compares two expressions", node.offset)
        return (Eq if name == "eq" else Ne)(*values)

    def _routing_call(self, node: Call):
        """max-unpool(A), min-unpool(A), spread(A, window): A routed through the pool's windows.

        max/min-unpool give each window's value to its extreme cell by the layer's tie rule
        (``first`` for a layer without one); spread divides it among the window's cells.
        """
        spec = self.derivation.spec
        routing = kind_check(spec).routing
        if routing is None:
            raise NotationError(f"{node.name} routes through pooling windows", node.offset)
        ties, include = routing(spec)
        if not node.args:
            raise NotationError(f"{node.name} takes the matrix to route", node.offset)
        array = self.value(node.args[0])
        plane = self.plane_shape("O", node.offset)
        if not isinstance(array, np.ndarray) or array.shape != plane:
            raise NotationError(
                f"{node.name} routes a {plane[0]}x{plane[1]} matrix (the output's shape)",
                node.offset,
            )
        image = self.derivation.tensors.X[0, 0]
        if node.name == "spread":
            window = spec.kernel
            if len(node.args) > 1:
                window = self._whole_number(node.args[1], node, True)
                if window[0] * window[1] != spec.kernel[0] * spec.kernel[1]:
                    raise NotationError(
                        f"spread over {window[0]}x{window[1]} cells; the layer's window is"
                        f" {spec.kernel[0]}x{spec.kernel[1]}",
                        node.offset,
                    )

            weights = identities.average_weights(image, spec, include)
        else:
            route = identities.ROUTES[ties]
            extreme = Max if node.name == "max_unpool" else Min

            def share(values: list) -> list:
                return route(values, extreme(*values, evaluate=False))

            weights = identities.window_weights(image, spec, share)
        window = spec.window
        return identities.unpool(
            array, weights, image.shape, window.stride, window.padding, window.dilation
        )

    def _whole_number(self, arg: Node, call: Call, positive: bool) -> tuple[int, int]:
        spec = self.derivation.spec
        if isinstance(arg, Product) and len(arg.factors) == 2:  # 2×2: rows and columns
            rows, cols = (self._whole_number(f, call, positive)[0] for f in arg.factors)
            return (rows, cols)
        if isinstance(arg, Parameter):
            if not hasattr(spec, arg.name):
                raise NotationError(f"this layer has no {arg.name}", arg.offset)
            return tuple(getattr(spec, arg.name))
        if isinstance(arg, Entry) and arg.index is None and self.letters.role(arg.letter) is None:
            named = {"S": "stride", "s": "stride", "P": "padding", "p": "padding"}
            if arg.letter in named and hasattr(spec, named[arg.letter]):
                return tuple(getattr(spec, named[arg.letter]))
        if isinstance(arg, Number) and arg.value.is_Integer:
            value = int(arg.value)
            low = 1 if positive else 0
            if not low <= value <= 64:
                raise NotationError(
                    f"{call.name}: {value} is not a sensible amount (expected {low}..64)",
                    arg.offset,
                )
            return (value, value)
        raise NotationError(f"{call.name} takes a whole number here", _node_offset(arg))


#: Relations as the reader writes them -> SymPy's relational classes.
RELATIONS = {">=": Ge, ">": Gt, "<=": Le, "<": Lt, "==": Eq, "!=": Ne}
#: Operators on single expressions (the others act on matrices: :mod:`.operators`).
SCALAR_OPERATORS = ("max", "min", "eq", "ne", "piecewise", "exp", "log")
#: Functions of one expression (the losses' softmax and log-sum-exp).
FUNCTIONS = {"exp": exp, "log": log}
#: The letters of a loss's target (``T₁₁``, ``t11``), when no tensor of the file takes them.
TARGET_LETTERS = ("T", "t")
#: Operators routing a matrix through the layer's pooling windows.
ROUTING_OPERATORS = ("max_unpool", "min_unpool", "spread")


def is_condition(value) -> bool:
    """True for comparisons, and/or/not and True/False (a SymPy Symbol is a Boolean too: not)."""
    return isinstance(value, Relational | BooleanFunction | BooleanAtom)


def _number_only(value, node: Node) -> None:
    """Refuse a condition where a number belongs (``2 * (X11 > X12)``)."""
    if is_condition(value):
        raise NotationError(
            "a condition where a number belongs: write 1[condition] for 1 or 0",
            _node_offset(node),
        )


def _fit(value: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, str]:
    """Fit an operator's result to a tensor: zeros where it is smaller, cut where it is larger.

    Rows and columns a strided window never reached get no gradient (the zeros), which is how
    :func:`symcnn.identities.conv2d_input_form` pads too. A note records any difference.
    """
    if value.shape == shape:
        return value, ""
    fitted = np.full(shape, S.Zero, dtype=object)
    rows, cols = min(shape[0], value.shape[0]), min(shape[1], value.shape[1])
    fitted[:rows, :cols] = value[:rows, :cols]
    note = (
        f"the right side is {value.shape[0]}x{value.shape[1]}, the tensor {shape[0]}x{shape[1]}:"
        " compared from the top-left corner"
    )
    return fitted, note


def _check_terms(value: Basic, offset: int, limit: int) -> None:
    if _expanded_terms(value, limit) > limit:
        raise NotationError(
            f"the right side multiplies out to more than {limit:,} terms, the limit per claim"
            " (raise it with --max-claim-terms)",
            offset,
        )


def _expanded_terms(expr: Basic, limit: int) -> int:
    """An upper bound on the terms of ``expand(expr)``, without expanding it (``limit + 1``
    once past ``limit``)."""
    if isinstance(expr, Add):
        return sum(_expanded_terms(arg, limit) for arg in expr.args)
    if isinstance(expr, Mul):
        count = 1
        for arg in expr.args:
            count *= _expanded_terms(arg, limit)
            if count > limit:
                return count
        return count
    if isinstance(expr, Pow) and expr.exp.is_Integer and expr.exp > 1:
        base = _expanded_terms(expr.base, limit)
        if base == 1:
            return 1
        # base ** exp past the limit without computing a huge power: 2 ** exp > limit suffices
        return (
            limit + 1
            if int(expr.exp) > limit.bit_length()
            else min(base ** int(expr.exp), limit + 1)
        )
    return 1


def _number(node: Node) -> Rational | None:
    """The number a node is (``4``, ``-3``, ``\\frac{1}{2}``), or None."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Sum) and len(node.terms) == 1 and isinstance(node.terms[0][1], Number):
        sign, number = node.terms[0]
        return sign * number.value
    return None


def _node_offset(node: Node) -> int:
    return node.offset


def _written(node: Node) -> str:
    if isinstance(node, Derivative | Entry):
        return node.written()
    return "the left side"


# -- the net: a line that holds a claim is checked or said not to be read -------------------------


def _claim_pattern(letters: Letters) -> re.Pattern:
    """A derivative of the loss with respect to X, W or B (or the δ shorthand), then ``=``."""
    tensors = "".join(re.escape(t) for t in (letters.input, letters.kernel, letters.bias) if t)
    loss = re.escape(letters.loss)
    denominator = rf"(?:\\partial\s*|∂|(?<![A-Za-z\\])d)\s*\{{?\s*[{tensors}](?![A-Za-z])"
    return re.compile(
        rf"(?:\\frac\s*\{{\s*\\partial\s*{loss}\s*\}}\s*\{{\s*{denominator}"
        rf"|(?:\\partial\s*|∂|(?<![A-Za-z\\])d){loss}\s*/\s*{denominator}"
        rf"|(?:\\delta\s*|δ)\s*\{{?\s*[{tensors}](?![A-Za-z]))"
        r"[^=]*="
    )


def unread_claims(statements, parsed, claims: Claims, letters: Letters) -> None:
    """Statements that hold a claim (a gradient of the loss, then ``=``) and gave no verdict.

    Each is added to ``claims`` at its first character, with why it was not read: no line that
    looks like a claim is passed over in silence. A claim of entries or of a whole gradient is
    :class:`Unusable` (the file does not exit 0), and so is a matrix drawn over several lines
    that did not read back (:mod:`symcnn.check.drawn`); a general formula over a slice
    (``∂L/∂W⁽ᵏ,ᶜ⁾ = ...``) is listed as :class:`Skipped`: not read, and said so.
    """
    answered = [c.offset for c in claims.claims]
    answered += [u.offset for u in claims.unusable] + [s.offset for s in claims.skipped]
    pattern = _claim_pattern(letters)
    for statement, reading in zip(statements, parsed, strict=True):
        match = pattern.search(statement.text)
        if match is None:
            continue
        # min and max, not first and last: a drawn matrix read back puts the lines above its
        # equation's own after it (see drawn.py).
        start, end = min(statement.offsets), max(statement.offsets) + 1
        if isinstance(reading, ParsedStatement):
            start = min(start, *reading.statement.offsets)
        if any(start <= offset <= end for offset in answered):
            continue
        if isinstance(reading, FailedStatement):
            why = reading.error.message
        elif re.search(r"[A-Za-z]\s*_?\{?\s*[-−]\s*\d", statement.text[: statement.text.find("=")]):
            why = "a negative index names no entry (indices count from 1, or 0 with --zero-based)"
        elif isinstance(reading, ParsedStatement):
            why = "its left side is not one gradient entry or whole gradient of the layer"
        else:
            why = "it does not read as an equation"
        written = statement.text.strip()
        written = written if len(written) <= 60 else written[:57] + "..."
        offset = statement.offset(match.start())
        # A drawing that did not read back (its brackets do not line up) is a claim not read;
        # a slice labelled with index variables (W⁽ᵏ,ᶜ⁾ = ...) is a general formula.
        drawn = any(char in DRAWN for char in statement.text)
        general = re.search(r"⁽[^⁾]*[ᵏᶜⁿ]|\^\s*\{?\s*\([^)]*[A-Za-z]", statement.text)
        if not drawn and (
            general or (isinstance(reading, FailedStatement) and reading.error.not_a_claim)
        ):
            claims.skipped.append(Skipped(f"not read: {why}", offset, written))
        else:
            claims.unusable.append(Unusable(f"not read: {why}", offset, written))
