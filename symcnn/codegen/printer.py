"""The printer: derived expressions and tap regions as NumPy code.

:class:`KernelPrinter` is a SymPy ``NumPyPrinter`` that writes the math of a generated kernel:
derived expressions over whole batches (a tensor symbol ``x_0_c_h_w`` becomes the row
``x_c_h_w``, every sample at once), exact rational coefficients (``/ 4``, never ``0.25``, so the
same code is exact on object arrays of rationals), and the strided regions of a tap. The layout
helpers at the end break long statements the way ``ruff format`` does, so generated files are
ruff-clean without running ruff.

>>> from sympy import Rational, symbols
>>> x, y, g = symbols("x_0_0_1_2 x_0_0_1_3 g_0_0_0_0")
>>> KernelPrinter().doprint(Rational(1, 4) * x + Rational(1, 4) * y + g)
'g_0_0_0 + (x_0_1_2 + x_0_1_3) / 4'
>>> KernelPrinter().region("x", 2, slice(0, 24, 1), slice(1, 25, 2))
'x[:, :, 0:24, 1:25:2]'

Comparisons and extremes print with Python's operators and NumPy's ufuncs (the name tables
:data:`EXTREME_UFUNCS`), so the same text runs on rows of a batch, on Python scalars and on
object arrays of exact rationals; a ``Piecewise`` that is a value or 0 prints as ``np.where``:

>>> from sympy import Max, Piecewise
>>> KernelPrinter().doprint(Max(x, y))
'np.maximum.reduce([x_0_1_2, x_0_1_3])'
>>> KernelPrinter().doprint(Piecewise((g, x > y), (0, True)))
'np.where(x_0_1_2 > x_0_1_3, g_0_0_0, 0)'
"""

from __future__ import annotations

from sympy import And, Basic, Max, Min, Mul, Piecewise, Rational, Symbol
from sympy.core.relational import Relational
from sympy.printing.numpy import NumPyPrinter

from ..tensors import parse_symbol

LINE_LENGTH = 100
INDENT = "    "

#: Tensors whose symbols become batch rows (the leading index is the sample, which every
#: statement runs over at once) and tensors whose symbols stay scalars.
ROW_TENSORS = ("X", "G")

#: What a window keeps -> the NumPy ufunc that keeps it elementwise (NaN propagates, as in the
#: runtime; object arrays compare with Python's operators, exactly).
EXTREME_UFUNCS = {"max": "np.maximum", "min": "np.minimum"}
#: SymPy's extremes -> the names above.
_EXTREMES = {Max: "max", Min: "min"}


class KernelPrinter(NumPyPrinter):
    """NumPy code for derived expressions, with tensor symbols named as kernel variables."""

    def __init__(self, settings: dict | None = None) -> None:
        super().__init__({"fully_qualified_modules": False, **(settings or {})})

    def _module_format(self, fqn: str, register: bool = True) -> str:
        # The generated modules import NumPy as np.
        name = super()._module_format(fqn, register)
        return "np." + name[len("numpy.") :] if name.startswith("numpy.") else name

    # -- names -----------------------------------------------------------------------------------

    def _print_Symbol(self, expr: Symbol) -> str:
        return variable_name(expr)

    # -- sums and products of tensor entries ---------------------------------------------------

    def _print_Add(self, expr: Basic, order: str | None = None) -> str:
        """Terms grouped by their rational coefficient: ``(a + b) / 4`` reads like the notes."""
        groups: dict[Rational, list[str]] = {}
        for term in expr.args:
            coefficient, rest = term.as_coeff_Mul()
            groups.setdefault(coefficient, []).append(self._print_monomial(rest))
        parts = []
        for coefficient in sorted(groups, key=lambda c: (c != 1, abs(c), c < 0)):
            body = " + ".join(groups[coefficient])
            parts.append(self._scaled(body, coefficient, len(groups[coefficient]) > 1))
        return " + ".join(parts).replace("+ -", "- ")

    def _print_Mul(self, expr: Basic) -> str:
        coefficient, rest = expr.as_coeff_Mul()
        return self._scaled(self._print_monomial(rest), coefficient, False)

    def _print_monomial(self, expr: Basic) -> str:
        """Factors joined by ``*``; a factor ``d**-1`` divides (``a / d``: exact on integers)."""
        numerator, denominators = [], []
        for factor in Mul.make_args(expr):
            if factor.is_Pow and factor.exp == -1:
                base = self._print(factor.base)
                denominators.append(base if factor.base.is_Symbol else f"({base})")
            else:
                printed = self._print(factor)
                # A sum among the factors keeps its parentheses: g * (1 - t**2), not g * 1 - t**2.
                numerator.append(f"({printed})" if factor.is_Add else printed)
        return " / ".join([" * ".join(numerator or ["1"]), *denominators])

    def _scaled(self, body: str, coefficient: Rational, is_sum: bool) -> str:
        """``body`` times an exact rational, printed as integer arithmetic."""
        if coefficient == 1:
            return body
        if coefficient == -1:
            return f"-({body})" if is_sum else f"-{body}"
        if is_sum:
            body = f"({body})"
        numerator, denominator = int(coefficient.p), int(coefficient.q)
        if numerator != 1:
            body = f"{numerator} * {body}" if numerator != -1 else f"-{body}"
        return body if denominator == 1 else f"{body} / {denominator}"

    def _print_Rational(self, expr: Rational) -> str:
        return str(expr.p) if expr.q == 1 else f"{expr.p} / {expr.q}"

    def _print_Integer(self, expr: Basic) -> str:
        return str(int(expr))

    # -- comparisons, extremes and selections ------------------------------------------------

    def _print_Relational(self, expr: Relational) -> str:
        return f"{self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)}"

    def conjuncts(self, condition: Basic) -> list[str]:
        """The parts of ``a & b & ...``, each parenthesized (``&`` binds tighter than ``>``)."""
        return [f"({self._print(part)})" for part in And.make_args(condition)]

    def _print_And(self, expr: Basic) -> str:
        return " & ".join(self.conjuncts(expr))

    def _print_Max(self, expr: Basic) -> str:
        return self.extreme_function(expr) + f"([{', '.join(self.extreme_items(expr))}])"

    _print_Min = _print_Max

    def extreme_function(self, expr: Basic) -> str:
        """The reduction that computes a ``Max`` or ``Min``: ``np.maximum.reduce``, ..."""
        return EXTREME_UFUNCS[_EXTREMES[type(expr)]] + ".reduce"

    def extreme_items(self, expr: Basic) -> list[str]:
        """The printed arguments of a ``Max`` or ``Min``."""
        return [self._print(arg) for arg in expr.args]

    def _print_Piecewise(self, expr: Piecewise) -> str:
        """``Piecewise((v, c), (0, True))`` as ``np.where(c, v, 0)``; others as SymPy does."""
        if len(expr.args) == 2 and expr.args[1].cond == True and expr.args[1].expr == 0:  # noqa: E712
            value, condition = expr.args[0]
            return f"np.where({self._print(condition)}, {self._print(value)}, 0)"
        return super()._print_Piecewise(expr)

    # -- regions of a tap ------------------------------------------------------------------------

    def region(self, name: str, leading: int, rows: slice, cols: slice) -> str:
        """``name[:, ..., rows, cols]`` with ``leading`` whole axes before the two spatial ones."""
        return f"{name}[{', '.join([':'] * leading + [span(rows), span(cols)])}]"


def span(part: slice) -> str:
    """A slice as NumPy text: ``0:24``, ``1:25:2``.

    >>> span(slice(3, 4, 1)), span(slice(0, 9, 2))
    ('3:4', '0:9:2')
    """
    text = f"{part.start}:{part.stop}"
    return text if part.step == 1 else f"{text}:{part.step}"


def variable_name(symbol: Symbol) -> str:
    """A tensor symbol as a kernel variable: rows drop the sample index, scalars keep all.

    >>> variable_name(Symbol("x_0_2_1_0")), variable_name(Symbol("w_1_0_2_2"))
    ('x_2_1_0', 'w_1_0_2_2')
    """
    parsed = parse_symbol(symbol)
    if parsed is None:
        return symbol.name
    tensor, index = parsed
    if tensor in ROW_TENSORS:
        if index[0] != 0:
            raise ValueError(f"{symbol} is not of sample 0: unrolled kernels print one sample")
        index = index[1:]
    return symbol.name[0] + "".join(f"_{i}" for i in index)


# -- layout: long statements broken the way ruff format breaks them ------------------------------


def statement(indent: str, target: str, operator: str, operands: list[str], joiner: str) -> str:
    """``target op a joiner b joiner c`` on one line, or wrapped in parentheses as ruff does.

    >>> print(statement("", "y", "=", ["a" * 50, "b" * 50], " + "))
    y = (
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
    )
    """
    head = f"{indent}{target} {operator} "
    line = head + joiner.join(operands)
    if len(line) <= LINE_LENGTH or len(operands) == 1:
        return line
    inner = indent + INDENT
    flat = inner + joiner.join(operands)
    if len(flat) <= LINE_LENGTH:
        return f"{head}(\n{flat}\n{indent})"
    first, *rest = operands
    glue = joiner.lstrip()
    body = "\n".join([inner + first, *(f"{inner}{glue}{operand}" for operand in rest)])
    return f"{head}(\n{body}\n{indent})"


def call(indent: str, target: str, operator: str, function: str, arguments: list[str]) -> str:
    """``target op function(arguments)``, the arguments wrapped as ruff wraps them.

    >>> print(call("", "y", "=", "f", ["a" * 60, "b" * 40]))
    y = f(
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,
        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,
    )
    """
    return bare_call(indent, f"{target} {operator} {function}", arguments)


def bare_call(indent: str, function: str, arguments: list[str]) -> str:
    """``function(arguments)`` as a statement, the arguments wrapped as ruff wraps them.

    >>> print(bare_call("", "f", ["a" * 50, "b" * 50]))
    f(
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,
        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,
    )
    """
    head = f"{indent}{function}("
    line = head + ", ".join(arguments) + ")"
    if len(line) <= LINE_LENGTH:
        return line
    inner = indent + INDENT
    flat = inner + ", ".join(arguments)
    if len(flat) <= LINE_LENGTH:
        return f"{head}\n{flat}\n{indent})"
    body = "\n".join(f"{inner}{argument}," for argument in arguments)
    return f"{head}\n{body}\n{indent})"


def list_call(indent: str, target: str, function: str, items: list[str]) -> str:
    """``target = function([items])``: the list on its own line, or one item per line, as ruff.

    >>> print(list_call("", "result", "f", ["a" * 28, "b" * 28, "c" * 28]))
    result = f(
        [aaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccccccccccccccccc]
    )
    """
    listed = f"[{', '.join(items)}]"
    head = f"{indent}{target} = {function}("
    if len(head + listed + ")") <= LINE_LENGTH:
        return head + listed + ")"
    inner = indent + INDENT
    if len(inner + listed) <= LINE_LENGTH:
        return f"{head}\n{inner}{listed}\n{indent})"
    body = "\n".join(f"{inner}{INDENT}{item}," for item in items)
    return f"{head}\n{inner}[\n{body}\n{inner}]\n{indent})"


def unpack(indent: str, names: list[str], source: str) -> str:
    """``a, b, c = source``, or the names one per line in parentheses when too long.

    >>> print(unpack("", ["a", "b"], "x.T"))
    a, b = x.T
    """
    line = f"{indent}{', '.join(names)} = {source}"
    if len(names) == 1:
        return f"{indent}({names[0]},) = {source}"
    if len(line) <= LINE_LENGTH:
        return line
    inner = indent + INDENT
    body = "\n".join(f"{inner}{name}," for name in names)
    return f"{indent}(\n{body}\n{indent}) = {source}"
