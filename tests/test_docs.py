"""The examples in docs/ run, and print what the docs show.

In a ```console block of a page in ``docs/`` (generated pages excepted), every line
``$ symcnn derive ...`` is run (through ``symcnn.cli.main``, in an empty folder) and the
lines after it, up to the next ``$``, are its expected output: stdout and stderr, compared line by
line with trailing spaces ignored. A line ``...`` stands for any number of lines. A command whose
expected output is a ``symcnn derive: error:`` line must exit with 2, every other with 0.
Every ```python block runs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from symcnn.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Pages written by scripts (their commands are not symcnn's examples).
GENERATED = {"benchmarks.md", "generated-kernels.md", "kernel-speed.md"}
CONSOLE_BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples():
    """(page, command line, expected output lines) for every `$ symcnn derive` in docs/."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        if page.name in GENERATED:
            continue
        for block in CONSOLE_BLOCK.findall(page.read_text()):
            command, expected = None, []
            for line in block.splitlines():
                if line.startswith("$ "):
                    if command:
                        found.append((page.name, command, expected))
                    command, expected = line[2:], []
                elif command is not None:
                    expected.append(line)
            if command:
                found.append((page.name, command, expected))
    return [
        (page, command, expected)
        for page, command, expected in found
        if command.startswith("symcnn derive")
    ]


EXAMPLES = examples()


def matches(actual: list[str], expected: list[str]) -> bool:
    """True when ``actual`` is ``expected`` with each ``...`` standing for any lines."""
    pieces = [[]]
    for line in expected:
        if line.strip() == "...":
            pieces.append([])
        else:
            pieces[-1].append(line.rstrip())
    actual = [line.rstrip() for line in actual]
    if len(pieces) == 1:
        return actual == pieces[0]
    head, *middle, tail = pieces
    if actual[: len(head)] != head or (tail and actual[len(actual) - len(tail) :] != tail):
        return False
    position, end = len(head), len(actual) - len(tail)
    for piece in middle:
        while position + len(piece) <= end and actual[position : position + len(piece)] != piece:
            position += 1
        if position + len(piece) > end:
            return False
        position += len(piece)
    return True


def test_the_docs_have_examples():
    pages = {page for page, _, _ in EXAMPLES}
    assert {"cli.md", "index.md"} <= pages
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(
    ("page", "command", "expected"), EXAMPLES, ids=lambda v: v if isinstance(v, str) else ""
)
def test_docs_example(page, command, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(shlex.split(command)[1:])
    except SystemExit as exit_:  # argparse's own refusals
        status = exit_.code
    out, err = capsys.readouterr()
    failing = bool(expected) and expected[0].startswith("symcnn derive: error:")
    assert status == (2 if failing else 0), err
    assert "Traceback" not in err
    if expected:
        output = (err if failing else out).splitlines()
        assert matches(output, expected), f"{page}: {command}\n" + "\n".join(output[:60])


def test_matches_itself():
    assert matches(["a", "b", "c", "d"], ["a", "...", "c", "..."])
    assert matches(["a", "b", "c"], ["a", "...", "c"])
    assert not matches(["a", "b", "c"], ["a", "...", "b"])
    assert not matches(["a", "x"], ["a", "b"])
    assert matches(["a", "b"], ["...", "b"])


PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
PYTHON_EXAMPLES = [
    (page.name, number, code)
    for page in sorted(DOCS.glob("*.md"))
    if page.name not in GENERATED
    for number, code in enumerate(PYTHON_BLOCK.findall(page.read_text()))
]


@pytest.mark.parametrize(("page", "number", "code"), PYTHON_EXAMPLES, ids=lambda v: str(v)[:20])
def test_docs_python_example_runs(page, number, code):
    exec(compile(code, f"{page}[python block {number}]", "exec"), {})
