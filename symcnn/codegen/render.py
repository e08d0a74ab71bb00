"""Rendering: the Jinja environment that lays printed kernels out as a Python module.

Templates hold only boilerplate (header, imports, constants, argument checks, signatures); every
expression arrives printed. They live in the checkout's top-level ``templates/`` folder, which the
wheel carries as ``symcnn/templates`` (see ``pyproject.toml``), so generation works from an
installed wheel as well as from a checkout.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined


def template_root() -> Traversable:
    """The folder of templates: inside the installed package, else the checkout's ``templates/``."""
    packaged = resources.files("symcnn") / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def _load(name: str) -> str | None:
    source = template_root() / name
    return source.read_text(encoding="utf-8") if source.is_file() else None


def environment() -> Environment:
    """Jinja with undefined names as errors and the whitespace control the modules need."""
    return Environment(
        loader=FunctionLoader(_load),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, context: dict[str, Any]) -> str:
    """Render one template with ``context``."""
    return environment().get_template(template).render(**context)
