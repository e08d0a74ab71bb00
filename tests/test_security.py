"""Hostile and careless input: nothing the user types runs, nothing is clobbered, nothing hangs.

One regression test (or a few) per item of the reliability and security pass; each failed before
its fix.
"""

import dataclasses
import importlib.util
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symcnn import cli
from symcnn.cli import main
from symcnn.codegen import generate as generate_module
from symcnn.codegen.catalog import entries
from symcnn.codegen.generate import CATALOG_MARKER, generate, random_arrays
from symcnn.codegen.naming import module_filename
from symcnn.codegen.structure import codegen_of
from symcnn.layers import layer_from_dict
from symcnn.layers.conv2d.spec import Conv2d

GENERATED = Path(__file__).parent.parent / "generated"
CONV = ["conv2d", "--input", "3x3", "--kernel", "2"]


def run(capsys, *args):
    status = main([*map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# -- 1. user text never becomes code ------------------------------------------------------------


def test_a_folder_name_with_a_line_break_is_refused_and_nothing_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = 'out\nimport os;os.system("touch pwned")\n#'
    status, _, err = run(capsys, "generate", *CONV, "--strategy", "unrolled", "-o", folder)
    assert status == 2
    assert err.count("\n") == 1 and "-o 'out\\nimport os" in err and "control character" in err
    assert sorted(os.listdir(tmp_path)) == []  # no folder, no module, no pwned
    with pytest.raises(ValueError, match=r"directory=.*control character '\\r'"):
        generate(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)), directory="a\rb")


def test_the_header_quotes_the_folder_and_timing_never_runs_the_users_text(monkeypatch):
    folder = "my kernels/$(touch pwned) 'x'"
    executed = []
    real_load = generate_module.load
    monkeypatch.setattr(generate_module, "load", lambda m: executed.append(m.text) or real_load(m))
    spec = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
    module = generate(spec, strategy="auto", directory=folder)
    assert executed and not any("pwned" in text for text in executed)
    header = [line for line in module.text.splitlines() if line.startswith("#")]
    command = " ".join(line.lstrip("#").strip().removesuffix("\\") for line in header[1:3])
    assert shlex.split(command)[-2:] == ["-o", folder]  # one word, as the shell reads it back
    compile(module.text, module.filename, "exec")


# -- 2. only regular files are written, and they keep their mode ------------------------------


def test_force_never_replaces_a_fifo_or_what_a_link_names(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    for target in (fifo, link):
        status, _, err = run(capsys, "derive", *CONV, "-o", target, "--force")
        assert status == 2 and "named pipe (FIFO)" in err and "regular files only" in err
        assert stat.S_ISFIFO(target.stat().st_mode)
    status, _, err = run(capsys, "derive", *CONV, "-o", "/dev/null", "--force")
    assert status == 2 and "character device" in err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_force_keeps_the_mode_and_writes_through_a_link(tmp_path, capsys):
    private = tmp_path / "private.txt"
    private.write_text("old")
    private.chmod(0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(private)
    status, _, err = run(capsys, "derive", *CONV, "-o", link)
    assert status == 2 and "--force to replace it" in err
    assert run(capsys, "derive", *CONV, "-o", link, "--force")[0] == 0
    assert link.is_symlink() and "Backpropagation" in private.read_text()
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_the_help_says_what_force_replaces(capsys):
    for command in ("derive", "generate", "check"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "regular file" in capsys.readouterr().out


# -- 3. the catalog: decide before writing, remove only its own modules -----------------------


def test_catalog_refuses_before_writing_and_force_works(tmp_path, capsys):
    first = sorted(module_filename(entry.spec, dtype) for entry, dtype in entries())[0]
    (tmp_path / first).write_text("# my own notes\n")
    status, _, err = run(capsys, "generate", "--catalog", "-o", tmp_path)
    assert status == 2 and "nothing was written" in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == [first]  # not one module written
    # A module the user generated one by one, and a catalog module the catalog no longer lists.
    assert (
        run(
            capsys,
            "generate",
            "conv2d",
            "--input",
            "5x5",
            "--kernel",
            "2",
            "--strategy",
            "unrolled",
            "-o",
            tmp_path,
        )[0]
        == 0
    )
    own = tmp_path / "conv2d_1x1x5x5_k2x2_float64.py"
    dropped = tmp_path / "conv2d_9x9_k2x2_float64.py"
    dropped.write_text((GENERATED / first).read_text())
    assert CATALOG_MARKER in dropped.read_text() and CATALOG_MARKER not in own.read_text()
    assert run(capsys, "generate", "--catalog", "-o", tmp_path, "--force")[0] == 0
    assert (tmp_path / first).read_text() == (GENERATED / first).read_text()
    assert own.exists() and not dropped.exists()


def test_catalog_refuses_a_folder_in_place_of_a_module(tmp_path, capsys):
    name = "relu_64x6x24x24_float64.py"
    (tmp_path / name).mkdir()
    status, _, err = run(capsys, "generate", "--catalog", "-o", tmp_path, "--force")
    assert status == 2 and f"{tmp_path / name}: it is a folder" in err
    assert os.listdir(tmp_path) == [name]


def test_an_empty_output_folder_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # before the fix, '' meant generated/ in the working folder
    status, _, err = run(capsys, "generate", *CONV, "-o", "")
    assert status == 2 and "-o '' names no folder" in err


# -- 5. out= must not alias an input ----------------------------------------------------------


def _load(path: Path):
    loader = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def _over(buffer: np.ndarray, shape) -> np.ndarray:
    return buffer[: int(np.prod(shape))].reshape(shape)


@pytest.mark.parametrize("path", sorted(GENERATED.glob("*.py")), ids=lambda p: p.stem)
def test_every_generated_module_refuses_an_out_that_overlaps_an_input(path):
    kernels = _load(path)
    spec = layer_from_dict(kernels.SPEC)
    kind = codegen_of(spec)
    arrays = random_arrays(spec, str(kernels.DTYPE), seed=0)
    shared = np.zeros(max(array.size for array in arrays.values()), dtype=kernels.DTYPE)
    # forward(x, ..., out=x): the output over the input
    x = _over(shared, spec.input_shape)
    x[...] = arrays["x"]
    forward = [dict(arrays, x=x).get(name) for name in kind.forward_arguments]
    with pytest.raises(ValueError, match="out shares memory with x"):
        kernels.forward(*forward, out=_over(shared, spec.output_shape))
    # backward(..., grad_out, out=grad_out): the input gradient over the upstream gradient
    grad_out = _over(shared, spec.output_shape)
    grad_out[...] = arrays["grad_out"]
    backward = [dict(arrays, grad_out=grad_out).get(name) for name in kind.backward_arguments]
    grad_x = _over(shared, spec.input_shape)
    if "w" in arrays:
        grad_b = np.empty_like(arrays["b"]) if "b" in arrays else None
        out = (grad_x, np.empty_like(arrays["w"]), grad_b)
    else:
        out = grad_x
    with pytest.raises(ValueError, match="grad_x shares memory with grad_out"):
        kernels.backward(*backward, out=out)


def test_disjoint_views_of_one_buffer_are_accepted():
    kernels = _load(GENERATED / "maxpool2d_1x1x4x4_k2x2_float64.py")
    buffer = np.zeros((4, 8))
    x = buffer[:, :4].reshape(1, 1, 4, 4)  # columns 0-3 of every row
    x[...] = np.arange(16.0).reshape(1, 1, 4, 4)
    out = buffer[1, 4:].reshape(1, 1, 2, 2)  # within x's bounds, on none of its cells
    assert np.may_share_memory(x, out) and not np.shares_memory(x, out)
    assert kernels.forward(x, out=out) is out
    assert np.array_equal(out, [[[[5.0, 7.0], [13.0, 15.0]]]])


# -- 7 and 8. no tracebacks, no hangs ---------------------------------------------------------


def test_a_fifo_given_to_check_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "answer.txt"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "symcnn", "check", str(fifo), *CONV],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"symcnn check: error: {fifo}:1:1: cannot read the file: it is not a regular file;"
        " give a text file\n"
    )


def test_a_device_is_refused_before_reading_it():
    from symcnn.check.source import NotationError, read_source

    with pytest.raises(NotationError, match="not a regular file"):
        read_source("/dev/zero", max_bytes=10**12)


def test_a_file_that_cannot_be_read_gets_its_own_row_in_a_grade_table(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("dL/dX12 = dL/dO11*W12 + dL/dO12*W11\n")
    os.mkfifo(tmp_path / "b.txt")
    (tmp_path / "c.txt").symlink_to(tmp_path / "missing")
    status, out, err = run(capsys, "check", tmp_path, *CONV)
    assert status == 1 and err == ""
    assert "a.txt" in out and "b.txt" in out and "c.txt" in out
    assert "not a regular file" in out and "cannot read the file" in out


def test_a_path_component_too_long_for_the_system_is_one_line(tmp_path, capsys):
    long = tmp_path / ("a" * 300)
    for argv in (["check", long, *CONV], ["derive", *CONV, "-o", long]):
        status, _, err = run(capsys, *argv)
        assert status == 2 and err.count("\n") == 1 and "File name too long" in err


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [(KeyboardInterrupt, 130, "interrupted"), (MemoryError, 2, "out of memory")],
)
def test_ctrl_c_and_memory_errors_are_one_line(monkeypatch, capsys, error, status, words):
    def interrupted(args):
        raise error

    derive = next(c for c in cli.COMMANDS if c.name == "derive")
    monkeypatch.setattr(cli, "COMMANDS", [dataclasses.replace(derive, run=interrupted)])
    got, out, err = run(capsys, "derive", *CONV)
    assert got == status and out == "" and err.count("\n") == 1 and words in err


# -- 4. check: bounded work per file and per claim ---------------------------------------------


def test_joining_continued_lines_is_linear_in_the_file(monkeypatch):
    from symcnn.check import source as sources

    built = []
    real = sources.Statement

    def counting(text, *args, **kwargs):
        built.append(len(text))
        return real(text, *args, **kwargs)

    monkeypatch.setattr(sources, "Statement", counting)
    text = "dL/dX11 = (\n" * 2000  # every line continues the one before (a bracket is open)
    statements = sources.split_statements(sources.source_from_text(text))
    assert len(statements) == 1 and statements[0].text.count("(") == 2000
    # Rebuilding the joined text at every join built ~12 million characters here.
    assert sum(built) < 10 * len(text)


def test_a_claim_past_the_term_limit_is_refused_at_its_place_and_the_flag_raises_it(
    tmp_path, capsys
):
    claim = tmp_path / "a.txt"
    claim.write_text("dL/dX11 = (dL/dO11 + W11 + W12 + W21) * (W11 + W12 + W21 + W22)\n")
    status, _, err = run(capsys, "check", claim, *CONV, "--max-claim-terms", "15")
    assert status == 2
    assert err == (
        f"symcnn check: error: {claim}:1:12: dL/dX11: the right side multiplies out to more than"
        " 15 terms, the limit per claim (raise it with --max-claim-terms)\n"
    )
    assert run(capsys, "check", claim, *CONV, "--max-claim-terms", "16")[0] == 1  # read: wrong


# -- 10. the Python API: ValueError naming the parameter, the value and what is valid ----------


def _api_cases():
    import symcnn
    from symcnn.check import check_file, check_text

    spec = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
    derivation = symcnn.derive(spec)
    return [
        (lambda: symcnn.derive(spec, term_limit="10"), "term_limit='10'"),
        (lambda: symcnn.derive(spec, term_limit=float("nan")), "term_limit=nan"),
        (lambda: symcnn.derive(spec, term_limit=True), "term_limit=True"),
        (lambda: symcnn.notes(derivation, loss=5), "loss=5"),
        (lambda: symcnn.notes(derivation, zero_based="no"), "zero_based='no'"),
        (lambda: symcnn.layer_from_dict(None), "data=None"),
        (lambda: check_text(5, spec), "text=5"),
        (lambda: check_text("dL/dX11 = 0", spec, zero_based="no"), "zero_based='no'"),
        (lambda: check_text("dL/dX11 = 0", spec, loss=5), "loss=5"),
        (lambda: check_file("/nonexistent", spec), "/nonexistent:1:1: cannot read the file"),
        (lambda: check_file(5, spec), "path=5"),
        (lambda: generate(None), "spec=None"),
        (lambda: generate(spec, directory=5), "directory=5"),
    ]


@pytest.mark.parametrize("case", range(13))
def test_the_public_api_raises_value_error_naming_the_parameter(case):
    call, named = _api_cases()[case]
    with pytest.raises(ValueError) as raised:
        call()
    assert type(raised.value).__name__ in ("ValueError", "NotationError")
    assert str(raised.value).startswith(named) and "\n" not in str(raised.value)
    assert "expected" in str(raised.value) or "cannot read" in str(raised.value)


# -- 9. grade tables: no formulas, no control characters ----------------------------------------


def test_grade_tables_neutralise_formulas_and_control_characters(tmp_path, capsys):
    import csv

    folder = tmp_path / "submissions"
    folder.mkdir()
    formula = '=HYPERLINK("x","y")'
    escape = "a\x1b[31mred\nnext.txt"
    for name in (formula, escape):
        (folder / name).write_text("dL/dX12 = dL/dO11*W12 + dL/dO12*W11\n")
    table, markdown = tmp_path / "grades.csv", tmp_path / "grades.md"
    status, out, _ = run(
        capsys, "check", folder, *CONV, "--summary-csv", table, "--summary-md", markdown
    )
    assert status == 0
    for text in (out, table.read_text(), markdown.read_text()):
        assert "\x1b" not in text and "a\\x1b[31mred\\nnext.txt" in text
    cells = [row["file"] for row in csv.DictReader(table.open())]
    assert sorted(cells) == sorted(["'" + formula, "a\\x1b[31mred\\nnext.txt"])
    assert len(table.read_text().splitlines()) == 3  # a header and one line per submission


def test_two_outputs_naming_one_file_are_refused_before_the_work(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("dL/dX12 = dL/dO11*W12 + dL/dO12*W11\n")
    table = tmp_path / "grades.csv"
    argv = ["check", tmp_path, *CONV, "--summary-csv", table, "-o", table, "--force"]
    status, _, err = run(capsys, *argv)
    assert status == 2 and "name the same file" in err and not table.exists()


# -- 6. generate: --strategy auto never allocates a huge batch to time it -----------------------


def test_auto_refuses_to_time_on_arrays_past_the_limit_and_says_what_to_do(capsys):
    status, _, err = run(
        capsys, "generate", "conv2d", "--input", "1000000000x1x3x3", "--kernel", "2"
    )
    assert status == 2 and err.count("\n") == 1
    assert "more than the limit of 512 MiB: name a strategy (--strategy unrolled, taps" in err
