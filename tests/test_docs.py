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
import shutil
from pathlib import Path

import pytest

from symcnn.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Pages written by scripts (their commands are not symcnn's examples).
GENERATED = {"benchmarks.md", "generated-kernels.md", "kernel-speed.md"}
CONSOLE_BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)


def pages():
    """The hand-written pages: docs/ and its tutorials and reference (not the gallery)."""
    found = [*DOCS.glob("*.md"), *DOCS.glob("tutorials/*.md"), *DOCS.glob("reference/*.md")]
    return sorted(page for page in found if page.name not in GENERATED)


def examples():
    """(page, command line, expected output lines) for every `$ symcnn ...` in docs/."""
    found = []
    for path in pages():
        page = str(path.relative_to(DOCS))
        for block in CONSOLE_BLOCK.findall(path.read_text()):
            command, expected = None, []
            for line in block.splitlines():
                if line.startswith("$ "):
                    if command:
                        found.append((page, command, expected))
                    command, expected = line[2:], []
                elif command is not None:
                    expected.append(line)
            if command:
                found.append((page, command, expected))
    return [
        (page, command, expected)
        for page, command, expected in found
        if command.split()[:2] in (["symcnn", "derive"], ["symcnn", "check"])
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
    with_examples = {page for page, _, _ in EXAMPLES}
    assert {"cli.md", "index.md", "tutorials/print.md", "tutorials/check.md"} <= with_examples
    assert len(EXAMPLES) >= 10


def expected_status(command: str, expected: list[str], output: list[str]) -> int:
    """2 for a shown error line; 1 for a check whose report finds a wrong or unusable claim."""
    if expected and re.match(r"symcnn \w+: error:", expected[0]):
        return 2
    if command.startswith("symcnn check") and any(
        re.match(r"WRONG|UNUSABLE", line) or re.search(r"  (wrong|unusable)  ", line)
        for line in output
    ):
        return 1
    return 0


@pytest.mark.parametrize(
    ("page", "command", "expected"), EXAMPLES, ids=lambda v: v if isinstance(v, str) else ""
)
def test_docs_example(page, command, expected, tmp_path, monkeypatch, capsys):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")  # the pages' files, as a checkout
    monkeypatch.chdir(tmp_path)
    try:
        status = main(shlex.split(command)[1:])
    except SystemExit as exit_:  # argparse's own refusals
        status = exit_.code
    out, err = capsys.readouterr()
    failing = bool(expected) and bool(re.match(r"symcnn \w+: error:", expected[0]))
    assert status == expected_status(command, expected, out.splitlines()), err
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
    (str(page.relative_to(DOCS)), number, code)
    for page in pages()
    for number, code in enumerate(PYTHON_BLOCK.findall(page.read_text()))
]


@pytest.mark.parametrize(("page", "number", "code"), PYTHON_EXAMPLES, ids=lambda v: str(v)[:20])
def test_docs_python_example_runs(page, number, code):
    exec(compile(code, f"{page}[python block {number}]", "exec"), {})


README = ROOT / "README.md"
README_COMMANDS = [
    line
    for block in CONSOLE_BLOCK.findall(README.read_text())
    for line in block.splitlines()
    if line.startswith("symcnn ")
]


def test_the_readme_has_commands():
    assert len(README_COMMANDS) >= 8
    assert any(command.startswith("symcnn check examples/") for command in README_COMMANDS)


@pytest.mark.parametrize("command", README_COMMANDS)
def test_readme_command_runs_as_written(command, tmp_path, monkeypatch, capsys):
    """Each command of the README, run from a copy of the checkout's examples/ and generated/.

    A `symcnn check` whose report finds a wrong or unusable claim exits 1; every other command
    exits 0. No output is a traceback or an error.
    """
    for folder in ("examples", "generated"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    try:
        status = main(shlex.split(command)[1:])
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "error:" not in err, err
    assert status == expected_status(command, [], out.splitlines()), out + err
    for written in re.findall(r"(?:-o|--summary-md) (\S+)", command):
        assert (tmp_path / written).exists(), written


README_PYTHON = PYTHON_BLOCK.findall(README.read_text())


@pytest.mark.parametrize("number", range(len(README_PYTHON)))
def test_readme_python_example_runs(number):
    exec(compile(README_PYTHON[number], f"README.md[python block {number}]", "exec"), {})


def test_the_cli_reference_is_every_commands_help():
    """docs/reference/cli-help.md asks for the help; the build hook puts in every command's."""
    import importlib.util

    from symcnn.cli import COMMANDS

    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = (DOCS / "reference" / "cli-help.md").read_text()
    assert hooks.MARKER in page
    rendered = hooks.on_page_markdown(page, None, None, None)
    assert hooks.MARKER not in rendered
    for command in COMMANDS:
        assert f"## symcnn {command.name}\n" in rendered
        assert f"usage: symcnn {command.name} " in rendered
        assert command.epilog.splitlines()[1] in rendered  # its first example


def test_every_page_is_in_the_site_nav():
    """mkdocs --strict fails on a broken link; a page missing from the nav only warns."""
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in pages():
        assert str(page.relative_to(DOCS)) in nav, page
