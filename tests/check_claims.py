"""Test helpers for symcnn check: write gradients as a student would, and wrong ones on purpose.

Independent of the checker: the formatter writes claims in plain text, LaTeX or Unicode from
arrays of exact expressions, and the wrong derivations are explicit index formulas (one loop
over output positions and kernel taps each), not the checker's operators.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
from sympy import Add, Mul, Rational, Symbol

SYMBOL = re.compile(r"^([xwbg])((?:_\d+)+)$")
SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def shown(shape) -> list[int]:
    """Axes a reader writes: leading (batch, channel) axes of size 1 are left out."""
    keep_from = max(0, len(shape) - 2)
    return [a for a in range(keep_from) if shape[a] > 1] + list(range(keep_from, len(shape)))


def subscript(index, shape, zero_based=False) -> list[int]:
    base = 0 if zero_based else 1
    return [index[a] + base for a in shown(shape)]


class Writer:
    """Writes claims the way people do, for one layer's shapes."""

    def __init__(self, derivation, letters="XWO", loss="L", style="plain", zero_based=False):
        self.shapes = {n: g.shape for n, g in derivation.grads.items()}
        self.shapes["g"] = derivation.output.shape
        self.scale = derivation.upstream_scale
        self.letters = {"x": letters[0], "w": letters[1], "g": letters[2], "b": "B"}
        self.tensor_letters = {"X": letters[0], "W": letters[1], "B": "B"}
        self.loss = loss
        self.style = style
        self.zero_based = zero_based

    def name(self, letter: str, numbers: list[int]) -> str:
        if self.style == "unicode":
            return letter + ",".join(str(n) for n in numbers).translate(SUBSCRIPT).replace(
                ",", "" if all(n < 10 for n in numbers) else ","
            )
        joined = "".join(map(str, numbers)) if all(n < 10 for n in numbers) else None
        if self.style == "latex":
            return f"{letter}_{{{joined or ','.join(map(str, numbers))}}}"
        return letter + (joined or "_{" + ",".join(map(str, numbers)) + "}")

    def gradient(self, letter: str, numbers: list[int]) -> str:
        name = self.name(letter, numbers)
        if self.style == "latex":
            return f"\\frac{{\\partial {self.loss}}}{{\\partial {name}}}"
        if self.style == "unicode":
            return f"∂{self.loss}/∂{name}"
        return f"d{self.loss}/d{name}"

    def symbol(self, symbol: Symbol) -> tuple[str, bool]:
        prefix, digits = SYMBOL.match(symbol.name).groups()
        index = tuple(int(i) for i in digits[1:].split("_"))
        shape = self.shapes["g" if prefix == "g" else {"x": "X", "w": "W", "b": "B"}[prefix]]
        numbers = subscript(index, shape, self.zero_based)
        if prefix == "g":
            return self.gradient(self.letters["g"], numbers), True
        return self.name(self.letters[prefix], numbers), False

    def expression(self, expr) -> str:
        if expr == 0:
            return "0"
        times = {"plain": "*", "latex": " \\cdot ", "unicode": "·"}[self.style]
        pieces = []
        for term in Add.make_args(expr.expand()):
            coefficient, rest = term.as_coeff_Mul()
            names = []
            for factor in Mul.make_args(rest):
                text, upstream = self.symbol(factor)
                if upstream:
                    coefficient = coefficient / self.scale  # g = (dL/dO) / scale
                names.append(text)
            coefficient = Rational(coefficient)
            body = times.join(names)
            if coefficient == 1:
                pieces.append("+ " + body)
            elif coefficient == -1:
                pieces.append("- " + body)
            else:
                sign = "-" if coefficient < 0 else "+"
                magnitude = abs(coefficient)
                number = (
                    str(magnitude.p)
                    if magnitude.q == 1
                    else (
                        f"\\frac{{{magnitude.p}}}{{{magnitude.q}}}"
                        if self.style == "latex"
                        else f"{magnitude.p}/{magnitude.q}"
                    )
                )
                pieces.append(f"{sign} {number}{times}{body}")
        text = " ".join(pieces)
        return text[2:] if text.startswith("+ ") else text

    def claims(self, grads: dict[str, np.ndarray], tensors=("X", "W", "B")) -> str:
        lines = []
        for name in tensors:
            if name not in grads:
                continue
            for index, expr in np.ndenumerate(grads[name]):
                numbers = subscript(index, self.shapes[name], self.zero_based)
                lhs = self.gradient(self.tensor_letters[name], numbers)
                line = f"{lhs} = {self.expression(expr)}"
                lines.append(f"$${line}$$" if self.style == "latex" else line)
        return "\n".join(lines) + "\n"


# -- explicit gradients of a single-channel conv2d, right and wrong --------------------------------


def planes(derivation):
    """(X, W, G * scale) as 2-D arrays of a single-image, single-channel layer."""
    tensors = derivation.tensors
    upstream = np.vectorize(lambda g: g * derivation.upstream_scale, otypes=[object])
    return tensors.X[0, 0], tensors.W[0, 0], upstream(tensors.G[0, 0])


def _taps(derivation):
    """Every (output u, v) x (kernel p, q) pair with the input position it reads (padded)."""
    spec = derivation.spec
    _, _, out_h, out_w = spec.output_shape
    kh, kw = spec.kernel
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    for u, v, p, q in itertools.product(range(out_h), range(out_w), range(kh), range(kw)):
        yield u, v, p, q, u * sh + p * dh, v * sw + q * dw


def explicit_grads(derivation, *, input_tap=None, weight_tap=None):
    """dL/dX and dL/dW of a single-channel conv2d by the chain rule, term by term.

    ``input_tap(u, v, p, q, i, j)`` returns (row, col, kernel row, kernel col) for the term
    G[u, v] * W[kr, kc] that the *padded* input entry (row, col) receives (None: no term);
    ``weight_tap(u, v, p, q, i, j)`` returns (kernel row, kernel col, padded input row, col)
    for the term G[u, v] * Xpad[row, col] that dW[kr, kc] receives. The defaults are the
    exact chain rule: entry (i, j) of the padded input meets tap (p, q) of output (u, v).
    """
    spec = derivation.spec
    x, w, g = planes(derivation)
    (ph, pw) = spec.padding
    height, width = x.shape
    xpad = np.full((height + 2 * ph, width + 2 * pw), 0, dtype=object)
    xpad[ph : ph + height, pw : pw + width] = x
    input_tap = input_tap or (lambda u, v, p, q, i, j: (i, j, p, q))
    weight_tap = weight_tap or (lambda u, v, p, q, i, j: (p, q, i, j))
    grad_x = np.full(xpad.shape, 0, dtype=object)
    grad_w = np.full(w.shape, 0, dtype=object)
    for u, v, p, q, i, j in _taps(derivation):
        placed = input_tap(u, v, p, q, i, j)
        if placed is not None:
            row, col, kr, kc = placed
            if 0 <= row < xpad.shape[0] and 0 <= col < xpad.shape[1]:
                grad_x[row, col] += g[u, v] * w[kr, kc]
        read = weight_tap(u, v, p, q, i, j)
        if read is not None:
            kr, kc, row, col = read
            if 0 <= row < xpad.shape[0] and 0 <= col < xpad.shape[1]:
                grad_w[kr, kc] += g[u, v] * xpad[row, col]
    grad_x = grad_x[ph : ph + height, pw : pw + width]
    return {"X": grad_x.reshape(spec.input_shape), "W": grad_w.reshape(spec.weight_shape)}
