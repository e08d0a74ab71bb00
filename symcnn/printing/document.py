"""Whole documents: the printed notes put into the templates of ``templates/notes.*.j2``.

Templates hold the boilerplate (document class, packages, page header and footer); the printers
write every piece of math. The templates ship inside the wheel (``symcnn/templates``) and are
found through ``importlib.resources``; in a checkout they are read from the top-level
``templates/`` folder.
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from pathlib import Path

import jinja2

_CHECKOUT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def template_folder() -> Path:
    """The folder holding the templates: inside the installed package, or the checkout's."""
    packaged = importlib.resources.files("symcnn") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return _CHECKOUT_TEMPLATES


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_folder())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, **values: str) -> str:
    """Fill one template (``notes.tex.j2``, ``notes.md.j2``) with printed strings."""
    return environment().get_template(template).render(**values)
