"""The right forms the pools' diagnoses suggest, written in the checker's notation and proven.

A pool's diagnosis ends with "the right form is ...". It used to be words alone ("dL/dO of each
window to its maximum only", "dL/dO divided by the window size"), which were not always true of
the layer (an average that leaves the padding out does not divide by the window size). Now each
suggestion is an operator form the checker reads, ``max_unpool(dL/dO)``, ``min_unpool(dL/dO)``
or ``spread(dL/dO)`` (routed through the layer's own windows, by its own tie rule or divisor),
followed by what it means in words; :func:`right_forms` reads it with the checker against the
exact gradient of a single-channel layer of the same geometry and options before it returns the
text. A form that does not hold raises.
"""

from __future__ import annotations

import dataclasses
from functools import cache

from ...check.checker import check_text
from .spec import AvgPool2d, MaxPool2d, MinPool2d, Pool2d

#: Each pool's operator: the one routing dL/dO through its windows as its gradient does.
OPERATOR = {MaxPool2d: "max_unpool", MinPool2d: "min_unpool", AvgPool2d: "spread"}

#: What each tie rule does, in words (the extreme's name filled in).
TIES = {
    "first": "its first {extreme} in row-major order (ties: first)",
    "all": "every tied {extreme} (ties: all)",
    "split": "its tied {extreme}s in equal shares (ties: split)",
}


def _single_channel(spec: Pool2d) -> Pool2d:
    """The same geometry and options with one sample and one channel: one matrix per form."""
    _, _, height, width = spec.input_shape
    return dataclasses.replace(spec, input_shape=(1, 1, height, width))


def _words(spec: Pool2d) -> str:
    if isinstance(spec, AvgPool2d):
        cells = spec.kernel[0] * spec.kernel[1]
        if spec.padding == (0, 0):
            divisor = f"its {cells} cells"
        elif spec.count_include_pad:
            divisor = f"the whole window ({cells} cells, padding included)"
        else:
            divisor = "the number of its real cells (padding left out)"
        return f"each window's dL/dO divided by {divisor}, a share to each real cell"
    extreme = "maximum" if isinstance(spec, MaxPool2d) else "minimum"
    return "each window's dL/dO given to " + TIES[spec.ties].format(extreme=extreme)


@cache
def right_forms(spec: Pool2d) -> dict[str, str]:
    """``{"right_X": ...}``: the pool's routing form and its meaning, proven before use.

    Raises
    ------
    AssertionError
        When the form does not read back as the exact gradient (a bug, never a report).
    """
    form = f"{OPERATOR[type(spec)]}({{dO}})"
    single = _single_channel(spec)
    report = check_text("dL/dX = " + form.format(dO="dL/dO"), single)
    statuses = {record.status for record in report.records}
    if statuses != {"correct"}:
        raise AssertionError(f"the right form {form} is not dL/dX for {spec}: {statuses}")
    return {"right_X": f"{form}, {_words(spec)}"}
