"""Generated kernels against the runtime and the exact derivation; the catalog stays fresh."""

from __future__ import annotations

import dataclasses
import functools
import os
import stat
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from codegen_helpers import compare_exactly, compare_with_runtime, other_batches
from hypothesis import given, settings
from hypothesis import strategies as st

from symcnn.cli import main
from symcnn.codegen.bodies import KernelCode
from symcnn.codegen.catalog import CATALOG, entries, render_catalog, stale_files
from symcnn.codegen.files import write_generated
from symcnn.codegen.generate import MARKER, GeneratedModule, generate, load
from symcnn.codegen.naming import module_filename
from symcnn.codegen.strategies import applicable, unrolled_terms
from symcnn.codegen.structure import codegen_of, prove
from symcnn.layers.conv2d.codegen import flat_refusal
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import MaxPool2d

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def catalog() -> dict[str, str]:
    return render_catalog()


# -- the catalog -----------------------------------------------------------------------------------


def _catalog_module(catalog, entry, dtype):
    name = module_filename(entry.spec, dtype)
    return load(GeneratedModule(name, catalog[name], entry.strategy))


def test_every_catalog_module_matches_the_runtime(catalog):
    assert len(catalog) == len(list(entries()))
    for entry, dtype in entries():
        compare_with_runtime(_catalog_module(catalog, entry, dtype), entry.spec, dtype)


def _small_and_exact(entry) -> bool:
    """A catalog module small enough to evaluate exactly, of a kind exact on rationals (the
    cross-entropy's exp and log are not: its tests hold it at 50 digits instead)."""
    return entry.spec.multiply_terms <= 2000 and codegen_of(entry.spec).exact


def test_small_catalog_modules_equal_the_derivation_exactly(catalog):
    small = [(entry, dtype) for entry, dtype in entries() if _small_and_exact(entry)]
    assert len(small) >= 3  # the notes' examples
    for entry, dtype in small:
        compare_exactly(_catalog_module(catalog, entry, dtype), entry.spec)


def test_every_catalog_module_runs_other_batches_as_the_runtime(catalog):
    """The batch is a run-time size: one sample, and one more than derived, match too."""
    for entry, dtype in entries():
        kernels = _catalog_module(catalog, entry, dtype)
        for batch in other_batches(entry.spec):
            compare_with_runtime(kernels, entry.spec, dtype, batch=batch)


def test_small_catalog_modules_at_other_batches_equal_the_derivation_exactly(catalog):
    small = [(entry, dtype) for entry, dtype in entries() if _small_and_exact(entry)]
    assert len(small) >= 3
    for entry, dtype in small:
        kernels = _catalog_module(catalog, entry, dtype)
        for batch in other_batches(entry.spec):
            compare_exactly(kernels, entry.spec, batch=batch)


def test_drift_generated_folder_matches_symcnn_generate_check(catalog, capsys):
    """The drift check: ``generated/`` is exactly what ``symcnn generate --check`` renders.

    CI runs the test suite only (the README's command), so this test is the drift gate: it
    fails, printing the diff, when a change to the generator is not followed by
    ``symcnn generate --catalog``.
    """
    assert stale_files(ROOT / "generated", catalog) == {}
    assert main(["generate", "--check", "-o", str(ROOT / "generated")]) == 0, capsys.readouterr()


def test_check_reports_a_stale_file_with_a_diff(catalog, tmp_path, capsys):
    for name, text in catalog.items():
        (tmp_path / name).write_text(text)
    assert main(["generate", "--check", "-o", str(tmp_path)]) == 0
    victim = sorted(catalog)[0]
    (tmp_path / victim).write_text(catalog[victim].replace("import numpy", "import  numpy"))
    capsys.readouterr()
    assert main(["generate", "--check", "-o", str(tmp_path)]) == 1
    output = capsys.readouterr()
    assert "-import  numpy as np" in output.out and "+import numpy as np" in output.out
    assert "stale" in output.err


def test_rendering_is_deterministic(catalog):
    prove.cache_clear()  # derive and prove again too, not only print again
    again = render_catalog()
    assert again == catalog
    assert all(text.startswith(MARKER) for text in catalog.values())


def test_catalog_covers_the_notes_and_lenet():
    specs = [entry.spec for entry in CATALOG]
    assert Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)) in specs
    assert Conv2d(input_shape=(64, 1, 28, 28), out_channels=6, kernel=(5, 5)) in specs
    assert Conv2d(input_shape=(64, 6, 12, 12), out_channels=16, kernel=(5, 5)) in specs


# -- property tests: random layers, every strategy that fits ---------------------------------------


@st.composite
def conv_specs(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True)]
    size = [
        draw(st.integers(max(1, s - 2 * p), max(1, s - 2 * p) + 4))
        for s, p in zip(span, padding, strict=True)
    ]
    return Conv2d(
        input_shape=(draw(st.integers(1, 3)), in_channels, *size),
        out_channels=out_channels,
        kernel=kernel,
        stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=draw(st.booleans()),
        reduction=draw(st.sampled_from(["sum", "mean"])),
    )


@given(spec=conv_specs(), dtype=st.sampled_from(["float64", "float32"]))
def test_generated_conv2d_matches_the_runtime(spec, dtype):
    structure = prove(spec)
    for strategy in applicable(structure):
        module = generate(spec, dtype=dtype, strategy=strategy.name, structure=structure)
        kernels = load(module)
        compare_with_runtime(kernels, spec, dtype, seed=1)
        compare_with_runtime(kernels, spec, dtype, seed=1, batch=other_batches(spec)[-1])


@settings(max_examples=10)
@given(spec=conv_specs())
def test_generated_conv2d_equals_the_derivation_exactly(spec):
    structure = prove(spec)
    for strategy in applicable(structure):
        module = generate(spec, strategy=strategy.name, structure=structure)
        kernels = load(module)
        compare_exactly(kernels, spec, seed=2)
        compare_exactly(kernels, spec, seed=2, batch=other_batches(spec)[0])


COMPOSABLE = ("taps", "gemm", "gather", "flat")


@settings(max_examples=25)
@given(spec=conv_specs(), stride_one=st.booleans(), data=st.data())
def test_mixed_strategies_per_direction_match_the_runtime_and_the_derivation(
    spec, stride_one, data
):
    """Any strategy in each direction (stride 1 drawn often, with padding, dilation and
    groups): equal to the runtime in both dtypes, with and without a workspace, and to the
    exact derivation."""
    if stride_one:
        spec = dataclasses.replace(spec, stride=(1, 1))
    structure = prove(spec)
    fitting = [s.name for s in applicable(structure) if s.name in COMPOSABLE]
    choice = {d: data.draw(st.sampled_from(fitting)) for d in ("forward", "grad_w", "grad_x")}
    strategy = ",".join(f"{d}={n}" for d, n in choice.items())
    for dtype in ("float64", "float32"):
        kernels = load(generate(spec, dtype=dtype, strategy=strategy, structure=structure))
        assert choice == kernels.STRATEGY
        compare_with_runtime(kernels, spec, dtype, seed=4)
        compare_with_runtime(kernels, spec, dtype, seed=4, batch=other_batches(spec)[-1])
    workspace = {}
    shim = types.SimpleNamespace(
        SPEC=kernels.SPEC,
        INPUT_SHAPE=kernels.INPUT_SHAPE,
        OUTPUT_SHAPE=kernels.OUTPUT_SHAPE,
        forward=functools.partial(kernels.forward, workspace=workspace),
        backward=functools.partial(kernels.backward, workspace=workspace),
    )
    for seed in (5, 6):  # the second call reuses the buffers (and their kept zeros)
        compare_with_runtime(shim, spec, "float32", seed=seed)
    exact = load(generate(spec, strategy=strategy, structure=structure))
    compare_exactly(exact, spec, seed=7)
    compare_exactly(exact, spec, seed=7, batch=other_batches(spec)[0])


def test_a_workspace_is_reused_between_calls_and_stays_correct():
    """Temporaries kept in the caller's workspace: forward and backward share the columns, a
    second call with other inputs (and another batch) still matches the runtime, and the zeros
    of a reused buffer (padding, stride gaps) are still zeros."""
    for spec in LAYOUT_SPECS:
        structure = prove(spec)
        for strategy, columns in (
            ("gemm", "columns"),
            ("gather", "sample_columns"),
            ("flat", "flat_columns"),
        ):
            kernels = load(generate(spec, strategy=strategy, structure=structure))
            workspace = {}
            shim = types.SimpleNamespace(
                SPEC=kernels.SPEC,
                INPUT_SHAPE=kernels.INPUT_SHAPE,
                OUTPUT_SHAPE=kernels.OUTPUT_SHAPE,
                forward=functools.partial(kernels.forward, workspace=workspace),
                backward=functools.partial(kernels.backward, workspace=workspace),
            )
            for seed, batch in ((1, None), (2, None), (3, spec.batch + 1), (4, None)):
                compare_with_runtime(shim, spec, "float64", seed=seed, batch=batch)
            names = {key[1] for key in workspace}
            assert columns in names, (strategy, names)
            assert len({key for key in workspace if key[1] == columns}) == 2  # two batches


FOLDED_SPECS = [
    Conv2d(input_shape=(2, 4, 8, 9), out_channels=6, kernel=(2, 3), padding=(1, 2),
           dilation=(2, 3), groups=2),
    Conv2d(input_shape=(3, 2, 6, 7), out_channels=3, kernel=(3, 1), reduction="mean"),
    Conv2d(input_shape=(1, 3, 5, 5), out_channels=2, kernel=(1, 4), padding=(0, 1), bias=False),
]  # fmt: skip


@pytest.mark.parametrize("spec", FOLDED_SPECS)
def test_flat_stride_one_grad_x_folds_each_kernel_row_into_the_product(spec):
    """Stride 1 (padding, dilation, groups, one-row and one-column kernels): flat's dL/dX
    shifts dL/dO by the kernel's columns and adds one run per kernel row; equal to the
    runtime in both dtypes (another batch, a kept workspace) and to the exact derivation."""
    structure = prove(spec)
    assert flat_refusal(structure) is None
    for dtype in ("float64", "float32"):
        module = generate(spec, dtype=dtype, strategy="flat", structure=structure)
        assert "shifted_upstream" in module.text
        assert module.text.count("+= flat_grad_rows[:, ") == spec.kernel[0]
        kernels = load(module)
        compare_with_runtime(kernels, spec, dtype, seed=1)
        compare_with_runtime(kernels, spec, dtype, seed=2, batch=other_batches(spec)[-1])
        workspace = {}
        for seed in (3, 4):  # the kept buffers keep their zeros
            compare_with_runtime(_kept_shim(kernels, workspace), spec, dtype, seed)
    exact = load(generate(spec, strategy="flat", structure=structure))
    compare_exactly(exact, spec, seed=5)
    compare_exactly(exact, spec, seed=6, batch=other_batches(spec)[0])


def _kept_shim(kernels, workspace):
    """The module with one workspace, its backward promising x is the forward's."""
    return types.SimpleNamespace(
        SPEC=kernels.SPEC,
        INPUT_SHAPE=kernels.INPUT_SHAPE,
        OUTPUT_SHAPE=kernels.OUTPUT_SHAPE,
        forward=functools.partial(kernels.forward, workspace=workspace),
        backward=functools.partial(kernels.backward, workspace=workspace, x_unchanged=True),
    )


@pytest.mark.parametrize(
    "strategy",
    [
        "gemm",
        "gather",
        "flat",
        "forward=flat,grad_w=gather,grad_x=flat",
        "forward=gemm,grad_w=gemm,grad_x=gather",
    ],
)
def test_backward_with_x_unchanged_reads_the_forwards_columns_and_stays_exact(strategy):
    """backward(x_unchanged=True) after forward on the same x (stride, padding, dilation,
    groups, another batch): equal to the runtime in both dtypes and to the exact derivation;
    and it does read the kept columns (after a forward on another x, dL/dW is that x's)."""
    for spec in LAYOUT_SPECS:
        structure = prove(spec)
        for dtype in ("float64", "float32"):
            kernels = load(generate(spec, dtype=dtype, strategy=strategy, structure=structure))
            workspace = {}
            for seed, batch in ((1, None), (2, None), (3, spec.batch + 1)):
                compare_with_runtime(_kept_shim(kernels, workspace), spec, dtype, seed, batch)
        exact = load(generate(spec, strategy=strategy, structure=structure))
        compare_exactly(_kept_shim(exact, {}), spec, seed=7)
        compare_exactly(_kept_shim(exact, {}), spec, seed=8, batch=other_batches(spec)[0])
        kernels = load(generate(spec, dtype="float64", strategy=strategy, structure=structure))
        rng = np.random.default_rng(9)
        x, other = (rng.standard_normal(spec.input_shape) for _ in range(2))
        w = rng.standard_normal(spec.weight_shape)
        grad_out = rng.standard_normal(spec.output_shape)
        workspace = {}
        kernels.forward(other, w, workspace=workspace)
        kept = kernels.backward(x, w, grad_out, workspace=workspace, x_unchanged=True)[1]
        fresh = kernels.backward(other, w, grad_out, workspace={})[1]
        shared = kernels.STRATEGY["forward"] == kernels.STRATEGY["grad_w"]
        if shared:  # the promise is taken: the columns are other's, not gathered from x
            np.testing.assert_allclose(kept, fresh, rtol=1e-12)
        else:  # forward and dL/dW read different columns: the promise changes nothing
            np.testing.assert_allclose(
                kept, kernels.backward(x, w, grad_out, workspace={})[1], rtol=1e-12
            )


def test_x_unchanged_without_the_forwards_workspace_is_refused():
    spec = LAYOUT_SPECS[2]
    kernels = load(generate(spec, strategy="flat"))
    x, w = np.zeros(spec.input_shape), np.zeros(spec.weight_shape)
    grad_out = np.zeros(spec.output_shape)
    with pytest.raises(ValueError, match="x_unchanged=True needs workspace"):
        kernels.backward(x, w, grad_out, x_unchanged=True)
    with pytest.raises(ValueError, match="needs the workspace of a forward call"):
        kernels.backward(x, w, grad_out, workspace={}, x_unchanged=True)
    workspace = {}
    kernels.forward(x, w, workspace=workspace)
    with pytest.raises(ValueError, match="of this batch"):  # forward ran on another batch
        kernels.backward(x[:1], w, grad_out[:1], workspace=workspace, x_unchanged=True)


# -- the generated files are ruff-clean ------------------------------------------------------------

LAYOUT_SPECS = [
    Conv2d(input_shape=(2, 4, 7, 6), out_channels=6, kernel=(3, 2), stride=(2, 1), padding=1,
           dilation=(2, 1), groups=2, reduction="mean"),
    Conv2d(input_shape=(1, 3, 5, 5), out_channels=2, kernel=3, padding=2, stride=3, bias=False),
    Conv2d(input_shape=(3, 2, 6, 6), out_channels=3, kernel=3, padding=1),
    Conv2d(input_shape=(1, 1, 12, 12), kernel=5),
]  # fmt: skip


def test_generated_modules_are_ruff_clean(tmp_path):
    for spec in LAYOUT_SPECS:
        structure = prove(spec)
        for strategy in applicable(structure):
            for dtype in ("float64", "float32"):
                module = generate(spec, dtype=dtype, strategy=strategy.name, structure=structure)
                (tmp_path / f"{strategy.name}_{module.filename}").write_text(module.text)
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--config", str(ROOT / "pyproject.toml"), "."],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


# -- strategies ------------------------------------------------------------------------------------


def test_unrolled_term_count_matches_the_printed_terms():
    for spec in LAYOUT_SPECS:
        structure = prove(spec)
        maps = structure.sample_maps()
        printed = sum(len(t) for t in maps.forward.values())
        printed += sum(len(t) for entries in maps.grads.values() for t in entries.values())
        assert unrolled_terms(structure) == printed


def test_unrolled_is_refused_for_a_large_layer():
    spec = Conv2d(input_shape=(64, 1, 28, 28), out_channels=6, kernel=5)
    structure = prove(spec)
    assert [s.name for s in applicable(structure)] == ["taps", "gemm", "gather", "flat"]
    with pytest.raises(ValueError, match="unrolled limit"):
        generate(spec, strategy="unrolled", structure=structure)


def test_auto_records_its_choice_and_timings():
    """auto times each direction's candidates on their own (and unrolled on both passes),
    records every timing in the header, and names a choice that regenerates the module."""
    spec = Conv2d(input_shape=(2, 1, 3, 3), kernel=2)
    module = generate(spec, strategy="auto")
    composable = ["taps", "gemm", "gather", "flat"]
    expected = [f"{d}={n}" for d in ("forward", "grad_w", "grad_x") for n in composable]
    assert sorted(module.timings) == sorted([*expected, "unrolled"])
    assert f"--strategy auto chose {module.strategy}" in module.text
    command = module.text.replace(" \\\n#     ", " ")
    assert f"--strategy {module.strategy} -o generated" in command
    kernels = load(module)
    if module.strategy == "unrolled":
        assert dict.fromkeys(("forward", "grad_w", "grad_x"), "unrolled") == kernels.STRATEGY
    else:  # the choice is the fastest of each direction, as timed
        for direction, name in kernels.STRATEGY.items():
            times = {n: module.timings[f"{direction}={n}"] for n in composable}
            assert name == min(times, key=times.get), (direction, times)
    again = generate(spec, strategy=module.strategy)  # the recorded command: the same kernels
    assert again.text.split('"""', 1)[1] in module.text


def test_each_direction_takes_its_own_strategy():
    spec = Conv2d(input_shape=(2, 2, 6, 6), out_channels=3, kernel=3, padding=1)
    structure = prove(spec)
    choice = "forward=flat,grad_w=gather,grad_x=gemm"
    module = generate(spec, strategy=choice, structure=structure)
    assert module.strategy == choice
    kernels = load(module)
    assert kernels.STRATEGY == {"forward": "flat", "grad_w": "gather", "grad_x": "gemm"}
    assert "  dL/dW: gather (" in module.text and "  dL/dX: gemm (" in module.text
    compare_with_runtime(kernels, spec, "float64", seed=3)
    compare_exactly(kernels, spec, seed=3)
    same = generate(spec, strategy="forward=gemm,grad_w=gemm,grad_x=gemm", structure=structure)
    assert same.strategy == "gemm"
    assert same.text == generate(spec, strategy="gemm", structure=structure).text


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        ("forward=flat,grad_w=gemm", "name each of forward, grad_w, grad_x once"),
        ("forward=flat,grad_w=gemm,grad_x=gemm,bias=gemm", "name each of"),
        ("forward=unrolled,grad_w=gemm,grad_x=gemm", "forward=unrolled is not one of"),
        ("forward=gemm,grad_w=fast,grad_x=gemm", "grad_w=fast is not one of"),
        ("forward=gemm,forward=gemm,grad_x=gemm", "each direction once"),
        ("forward=,grad_w=gemm,grad_x=gemm", "expected forward=NAME"),
    ],
)
def test_a_wrong_choice_per_direction_is_refused_in_one_line(strategy, message):
    spec = Conv2d(input_shape=(1, 1, 5, 5), kernel=3)
    with pytest.raises(ValueError, match=message):
        generate(spec, strategy=strategy)


def test_flat_is_used_only_when_its_layout_reproduces_the_proven_taps():
    """flat writes its strided views from the layer's options; a structure whose taps differ
    (here one tap dropped, as if the derivation had none there) makes it refuse."""
    spec = Conv2d(input_shape=(2, 1, 7, 7), kernel=3, stride=2, padding=1)
    structure = prove(spec)
    assert flat_refusal(structure) is None
    broken = dataclasses.replace(structure, taps=structure.taps[1:])
    assert flat_refusal(broken) == "its taps are not those of the flat layout"
    with pytest.raises(ValueError, match="grad_x=flat does not fit this conv2d: its taps are not"):
        generate(spec, strategy="forward=gemm,grad_w=gemm,grad_x=flat", structure=broken)


def test_a_pool_takes_one_strategy_for_both_passes():
    spec = MaxPool2d(input_shape=(1, 1, 4, 4), kernel=2)
    with pytest.raises(ValueError, match="its kernels take one strategy for both passes"):
        generate(spec, strategy="forward=taps,grad_x=taps")
    assert load(generate(spec, strategy="taps")).STRATEGY == {"forward": "taps", "backward": "taps"}


def test_the_command_line_takes_a_strategy_per_direction(tmp_path, capsys):
    argv = ["generate", "conv2d", "--input", "2x1x6x6", "--kernel", "3", "-o", str(tmp_path)]
    assert main([*argv, "--strategy", "forward=flat,grad_w=gemm,grad_x=flat"]) == 0
    written = Path(capsys.readouterr().out.strip())
    command = written.read_text().replace(" \\\n#     ", " ")
    assert "--strategy forward=flat,grad_w=gemm,grad_x=flat -o" in command
    assert main([*argv, "--strategy", "forward=flat"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "name each of forward, grad_w, grad_x" in error
    with pytest.raises(SystemExit) as exit_status:  # argparse refuses it, as any bad choice
        main([*argv, "--strategy", "fastest"])
    assert exit_status.value.code == 2
    assert "argument --strategy: invalid choice: 'fastest'" in capsys.readouterr().err


def test_unrolled_reads_like_the_derivation():
    module = generate(Conv2d(input_shape=(1, 1, 3, 3), kernel=2), strategy="unrolled")
    assert (
        "    out[:, 0, 0, 0] = (\n"
        "        b_0 + w_0_0_0_0 * x_0_0_0 + w_0_0_0_1 * x_0_0_1 + w_0_0_1_0 * x_0_1_0"
        " + w_0_0_1_1 * x_0_1_1\n"
        "    )\n"
    ) in module.text
    assert "    grad_x[:, 0, 0, 1] = g_0_0_0 * w_0_0_0_1 + g_0_0_1 * w_0_0_0_0\n" in module.text


# -- argument checks of the generated functions ----------------------------------------------------


@pytest.fixture(scope="module")
def small_kernels():
    return load(generate(Conv2d(input_shape=(1, 1, 3, 3), kernel=2), strategy="taps"))


def test_wrong_shape_names_expected_and_given(small_kernels):
    with pytest.raises(ValueError, match=r"x has shape \(1, 1, 4, 4\): expected \(N, 1, 3, 3\)"):
        small_kernels.forward(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"grad_out has shape \(1, 1, 3, 3\): expected"):
        small_kernels.backward(
            np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))
        )


def test_wrong_dtype_names_expected_and_given(small_kernels):
    with pytest.raises(ValueError, match="x has dtype float32: expected float64"):
        small_kernels.forward(np.zeros((1, 1, 3, 3), np.float32), np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="w has dtype int64: expected float64, the dtype of x"):
        small_kernels.forward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2), np.int64))


def test_no_bias_module_refuses_a_bias():
    kernels = load(
        generate(Conv2d(input_shape=(1, 1, 3, 3), kernel=2, bias=False), strategy="gemm")
    )
    with pytest.raises(ValueError, match="b must be None"):
        kernels.forward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), np.zeros(1))
    assert (
        kernels.backward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))[2]
        is None
    )


# -- writing files ---------------------------------------------------------------------------------


def test_refuses_to_overwrite_a_file_it_did_not_generate(tmp_path, capsys):
    target = tmp_path / "conv2d_1x1x3x3_k2x2_float64.py"
    target.write_text("# my own notes\n")
    args = ["generate", "conv2d", "--input", "3x3", "--kernel", "2", "--strategy", "taps"]
    assert main([*args, "-o", str(tmp_path)]) == 2
    assert "was not written by symcnn generate" in capsys.readouterr().err
    assert target.read_text() == "# my own notes\n"
    assert main([*args, "-o", str(tmp_path), "--force"]) == 0
    assert target.read_text().startswith(MARKER)
    assert main([*args, "-o", str(tmp_path)]) == 0  # its own file: replaced without --force
    assert capsys.readouterr().out.strip().endswith(target.name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporaries left


@pytest.mark.parametrize("under", ["", "sub"])
def test_output_folder_that_is_a_file_is_refused_in_one_line(tmp_path, capsys, under):
    mine = tmp_path / "mine.py"
    mine.write_text("x = 1\n")
    args = ["generate", "conv2d", "--input", "3x3", "--kernel", "2", "--strategy", "taps"]
    assert main([*args, "-o", str(mine / under)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"{mine} is a file; -o names a folder" in error
    assert mine.read_text() == "x = 1\n"


def test_separable_refusal_says_what_it_is_for(tmp_path, capsys):
    args = ["generate", "conv2d", "--input", "3x3", "--kernel", "2", "--strategy", "separable"]
    assert main([*args, "-o", str(tmp_path)]) == 2
    assert "for avgpool2d only" in capsys.readouterr().err


def test_written_module_gets_the_mode_of_any_new_file(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_generated(tmp_path / "m.py", f"{MARKER} test\n")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's private 0600


def test_write_generated_raises_value_error_from_python(tmp_path):
    target = tmp_path / "foreign.py"
    target.write_text("x = 1\n")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        write_generated(target, f"{MARKER} test\n")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate"], "give a LAYER"),
        (["generate", "conv2d", "--input", "3x3", "--kernel", "2", "--check"], "take no LAYER"),
        (["generate", "conv2d", "--input", "3x3"], "needs --kernel"),
        (["generate", "conv2d", "--input", "9x9", "--kernel", "5", "--strategy", "unrolled"], None),
    ],
)
def test_command_line_mistakes_exit_2_in_one_line(argv, message, capsys, tmp_path):
    status = main([*argv, "-o", str(tmp_path)])
    error = capsys.readouterr().err
    if message is None:  # fits: a small layer unrolls
        assert status == 0
        return
    assert status == 2
    assert message in error and error.count("\n") == 1


def test_generate_command_is_fast_and_matches_the_runtime(tmp_path, capsys):
    argv = ["generate", "conv2d", "--input", "64x1x28x28", "--out-channels", "6", "--kernel", "5"]
    assert main([*argv, "--strategy", "taps", "-o", str(tmp_path)]) == 0
    path = Path(capsys.readouterr().out.strip())
    module = GeneratedModule(path.name, path.read_text(), "taps")
    compare_with_runtime(
        load(module), Conv2d(input_shape=(64, 1, 28, 28), out_channels=6, kernel=5), "float64"
    )


def test_templates_ship_inside_the_wheel():
    from symcnn.codegen.render import template_root
    from symcnn.layers import table

    for kind in table("codegen").values():
        assert (template_root() / kind.template).is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"templates" = "symcnn/templates"' in pyproject  # found via importlib.resources


# -- the generator reaches a layer kind only through its codegen entry ----------------------------


def _with_codegen(monkeypatch, change):
    """The registry's codegen table changed by ``change`` (a dict -> dict), the rest as it is."""
    from symcnn import layers

    original = layers.table

    def patched(concern):
        found = original(concern)
        return change(dict(found)) if concern == "codegen" else found

    monkeypatch.setattr(layers, "table", patched)


def test_a_kind_without_code_generation_is_refused_by_name(monkeypatch):
    _with_codegen(monkeypatch, lambda table: {k: v for k, v in table.items() if k != "conv2d"})
    spec = Conv2d(input_shape=(1, 1, 5, 7), kernel=(3, 2))  # never proven before: not cached
    message = "code generation is not available for conv2d: it is for avgpool2d, flatten, linear"
    with pytest.raises(ValueError, match=message):
        generate(spec, strategy="taps")


def test_a_kind_without_windows_plugs_in_its_own_reading_and_strategy(monkeypatch):
    """An elementwise ReLU-like kind: no taps, a strategy name of its own, one entry."""
    import dataclasses
    import types

    from sympy import Max, Piecewise, Symbol

    from symcnn.codegen import structure as structure_module
    from symcnn.codegen.kinds import KindCodegen, Legend, Strategy
    from symcnn.codegen.structure import Reading
    from symcnn.codegen.terms import IndexMaps
    from symcnn.spec import Layer

    @dataclasses.dataclass(frozen=True)
    class Rectifier(Layer):
        type = "rectifier"  # no annotation: a class attribute, not a field

        @property
        def output_shape(self):
            return self.input_shape

    def maps(spec, taps=(), rule=None):
        cells = list(np.ndindex(spec.input_shape))
        return IndexMaps({i: "max(x, 0)" for i in cells}, {"X": {i: "g * (x > 0)" for i in cells}})

    def elementwise(structure, printer):
        forward = ["    out[...] = np.maximum(x, 0)"]
        backward = ["    grad_x[...] = np.where(x > 0, grad_out, 0)"]
        return KernelCode(forward, backward)

    x, g = Symbol("x_0_0_0_0"), Symbol("g_0_0_0_0")
    derivation = types.SimpleNamespace(
        output=np.full((1, 1, 2, 3), Max(x, 0), dtype=object),
        grads={"X": np.full((1, 1, 2, 3), g * Piecewise((1, x > 0), (0, True)), dtype=object)},
    )
    entry = KindCodegen(
        reading=Reading(
            lambda spec: spec,
            lambda d: maps(Rectifier((1, 1, 2, 3))),
            lambda s, m: ((), None),
            maps,
            None,
        ),
        strategies={"elementwise": elementwise},
        template="pool.py.jinja",
        legend=lambda spec: Legend("", "x_n_c_h_w input, g_n_c_i_j dL/dO", "none"),
        forward_arguments=("x",),
        backward_arguments=("x", "grad_out"),
        own_strategies=(Strategy("elementwise", "one NumPy call per pass", lambda s: None),),
    )
    _with_codegen(monkeypatch, lambda table: {**table, "rectifier": entry})
    monkeypatch.setattr(structure_module, "derive", lambda spec, **limit: derivation)
    spec = Rectifier(input_shape=(1, 1, 2, 3))
    module = generate(spec)  # auto: the only strategy that has a builder for it
    assert module.strategy == "elementwise" and "Taps:" not in module.text
    assert module.filename == "rectifier_1x1x2x3_float64.py"
    kernels = load(module)
    values = np.array([[[[-1.0, 2.0, 0.0], [3.0, -4.0, 5.0]]]])
    assert (kernels.forward(values) == np.maximum(values, 0)).all()
    assert (kernels.backward(values, np.ones_like(values)) == (values > 0)).all()
    with pytest.raises(
        ValueError, match=r"no taps kernels for rectifier \(its strategies: elementwise\)"
    ):
        generate(spec, strategy="taps")
