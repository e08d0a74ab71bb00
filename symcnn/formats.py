"""Output formats of ``symcnn derive``: format name -> function rendering a derivation.

Each renderer takes the derivation and the parsed command-line arguments (for the notation
options of the printers) and returns text, or bytes for binary formats.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from . import jsonio
from .derive import Derivation
from .printing import text

Renderer = Callable[[Derivation, argparse.Namespace], "str | bytes"]

FORMATS: dict[str, Renderer] = {
    "json": lambda derivation, args: jsonio.dumps(derivation),
    "text": lambda derivation, args: text.render(derivation),
}
