"""symcnn: exact symbolic backpropagation for convolutional layers.

Derive the exact gradients of a concrete layer, print them as lecture notes, generate
specialized NumPy kernels from them, and check hand derivations against them.

>>> import symcnn
>>> d = symcnn.derive(symcnn.Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)))
>>> d.grads["B"][0]
g_0_0_0_0 + g_0_0_0_1 + g_0_0_1_0 + g_0_0_1_1
"""

from .derive import Derivation, derive
from .layers import layer_from_dict
from .layers.conv2d.spec import Conv2d
from .layers.pool.spec import AvgPool2d, MaxPool2d, MinPool2d
from .printing import notes
from .printing.figure import figure

__all__ = [
    "AvgPool2d",
    "Conv2d",
    "Derivation",
    "MaxPool2d",
    "MinPool2d",
    "derive",
    "figure",
    "layer_from_dict",
    "notes",
]
__version__ = "0.1.0"


def _register_with_ipython() -> None:
    """Inside a running IPython (Jupyter), show a Derivation as its summary and gradients."""
    import sys

    ipython_module = sys.modules.get("IPython")
    ipython = ipython_module.get_ipython() if ipython_module is not None else None
    if ipython is not None:
        from .printing import display

        display.register(ipython)


_register_with_ipython()
