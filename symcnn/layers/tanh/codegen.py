"""How the generator reads and writes tanh: as sigmoid, the elementwise reading and printer."""

from __future__ import annotations

from ..sigmoid.codegen import kind_codegen
from .spec import Tanh

TABLE = {Tanh.type: kind_codegen()}
