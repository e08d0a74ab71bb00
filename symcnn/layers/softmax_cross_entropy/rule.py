"""The softmax cross-entropy rule: one entry, the loss, with the partial
``(softmax(X)[n, c] - T[n, c]) / N`` for every logit.

The target T is one-hot (each row sums to 1), so ``-sum_c T log softmax`` is
``log sum_c exp(X) - sum_c T X``, the form written here; its derivative is the textbook
``softmax - T`` over N, which the tests hold against ``sympy.diff``.

>>> from symcnn.tensors import Tensors
>>> from .spec import SoftmaxCrossEntropy
>>> spec = SoftmaxCrossEntropy(input_shape=(1, 2))
>>> entry = next(cross_entropy_entries(spec, Tensors.for_layer(spec)))
>>> entry.expr
-t_0_0*x_0_0 - t_0_1*x_0_1 + log(exp(x_0_0) + exp(x_0_1))
"""

from __future__ import annotations

from collections.abc import Iterator

from sympy import Add, Rational, exp, log

from ...rules import Entry
from ...tensors import Tensors
from .spec import SoftmaxCrossEntropy


def cross_entropy_entries(spec: SoftmaxCrossEntropy, tensors: Tensors) -> Iterator[Entry]:
    """The loss, averaged over the batch, and its partial for every logit."""
    scale = Rational(1, spec.batch)
    samples, partials = [], []
    for n in range(spec.batch):
        logits = list(tensors.X[n])
        total = Add(*(exp(x) for x in logits))
        picked = Add(*(t * x for t, x in zip(tensors.T[n], logits, strict=True)))
        samples.append(log(total) - picked)
        for x, t in zip(logits, tensors.T[n], strict=True):
            partials.append((x, scale * (exp(x) / total - t)))
    yield Entry((0,), scale * Add(*samples), tuple(partials))


TABLE = {SoftmaxCrossEntropy.type: cross_entropy_entries}
