"""Notes of the pools: traced values, the worked example's tie, compiled LaTeX.

These need the pool rules (branch ``pool``); until they are on main the module is skipped with
that reason, and it runs as soon as they land.
"""

from __future__ import annotations

import pytest
from printing_helpers import check_traced
from sympy import Rational
from test_printing_gallery import require_pdflatex

from symcnn import AvgPool2d, MaxPool2d, MinPool2d, derive
from symcnn.derive import RULES
from symcnn.printing import notes
from symcnn.printing.pdf import compile_pdf

pytestmark = pytest.mark.skipif(
    "maxpool2d" not in RULES, reason="the pool rules (branch pool) are not on main yet"
)

POOLS = [
    MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)),
    MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="all"),
    MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="split"),
    MinPool2d(input_shape=(1, 2, 3, 3), kernel=(2, 2), stride=(1, 1), ties="all"),
    MaxPool2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2), padding=(1, 1)),
    AvgPool2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(1, 1)),
    AvgPool2d(input_shape=(2, 1, 3, 3), kernel=(2, 2), padding=(1, 1), count_include_pad=False),
]


@pytest.mark.parametrize("spec", POOLS, ids=lambda s: "-".join(map(str, s.to_dict().values())))
def test_every_traced_value_is_the_derivations(spec):
    printed = notes(derive(spec))
    assert check_traced(printed) > 0
    assert printed.text() and printed.markdown() and printed.latex()


@pytest.mark.parametrize(
    ("ties", "shares"), [("first", [1]), ("all", [1, 1, 1]), ("split", [Rational(1, 3)] * 3)]
)
def test_the_worked_example_shows_the_tie_rule(ties, shares):
    derivation = derive(MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties=ties))
    printed = notes(derivation)
    example = printed.example
    window = [derivation.tensors.X[0, 0, r, c] for r in (0, 1) for c in (0, 1)]
    top = max(example[x] for x in window)
    tied = [x for x in window if example[x] == top]
    assert len(tied) >= 2  # the example has a tie in the first window
    g = derivation.tensors.G[0, 0, 0, 0]
    got = [
        derivation.grads["X"][0, 0, r, c].xreplace(example).coeff(g) for r in (0, 1) for c in (0, 1)
    ]
    assert [share for share in got if share != 0] == shares
    assert "A worked example with a tie" in printed.text()


def test_max_pool_notes_compile():
    require_pdflatex()
    printed = notes(derive(MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="split")))
    assert compile_pdf(printed.latex()).startswith(b"%PDF")
