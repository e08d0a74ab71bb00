"""``symcnn check``: read a hand derivation in the notation it was written in, and check it.

>>> from symcnn.layers.conv2d.spec import Conv2d
>>> report = check_text("dL/dX12 = dL/dO11*W12", Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)))
>>> [record.status for record in report.records if record.offset is not None]
['wrong']
"""

from .checker import Report, check_file, check_source, check_text
from .source import NotationError

__all__ = ["NotationError", "Report", "check_file", "check_source", "check_text"]
