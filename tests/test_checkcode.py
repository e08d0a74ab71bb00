"""symcnn check-code: sample student files, each with one mistake, against the exact derivation.

The samples live in tests/data/checkcode/: a correct CS231n-style file, one file per named
mistake, and files that cannot be used (a crash, a loop, an exit, a socket, ...). The probes are
derived once per module (``make_plan``); every file runs in its own child process.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from symcnn import runtime
from symcnn.checkcode.checker import check_code, make_plan, run_plan
from symcnn.checkcode.kinds import kinds
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import MaxPool2d

DATA = Path(__file__).parent / "data" / "checkcode"
CONV, POOL = Conv2d.type, MaxPool2d.type


@pytest.fixture(scope="module")
def plan():
    return make_plan("cs231n")


@pytest.fixture(scope="module")
def small_plan():
    """One small max pool: a file that loops is stopped after one call's limits."""
    return make_plan("cs231n", MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)))


@pytest.fixture(scope="module")
def reports(plan):
    """Each sample's report, made once for the tests that read it."""
    made = {}

    def report(file):
        if file not in made:
            made[file] = run_plan(DATA / file, plan)
        return made[file]

    return report


def verdicts(report):
    return {f.name: f for f in report.functions}


def test_a_correct_file_passes_exactly(plan):
    report = run_plan(DATA / "correct.py", plan)
    assert report.problem is None
    assert report.exit_status == 0
    found = verdicts(report)
    assert sorted(found) == [
        "conv_backward_naive",
        "conv_forward_naive",
        "max_pool_backward_naive",
        "max_pool_forward_naive",
    ]
    for verdict in found.values():
        assert verdict.status == "correct"
        assert verdict.exact  # object arrays of Fractions went through
        assert verdict.probes == len(report.probes_of(verdict)) == 4


MISTAKES = [
    ("kernel_rotated.py", "conv_backward_naive", {"dx": "kernel_rotated_in_scatter"}),
    (
        "stride_ignored.py",
        "conv_backward_naive",
        {"dx": "stride_ignored_in_backward", "dw": "stride_ignored_in_backward"},
    ),
    ("padding_cropped.py", "conv_backward_naive", {"dx": "padding_cropped_by_1"}),
    ("db_divided.py", "conv_backward_naive", {"db": "db_divided_by_batch"}),
    ("equality_mask.py", "max_pool_backward_naive", {"dx": "equality_mask_every_tie"}),
    ("overwritten.py", "max_pool_backward_naive", {"dx": "windows_overwritten"}),
]


@pytest.mark.parametrize(("file", "function", "named"), MISTAKES)
def test_each_mistake_is_found_and_named(reports, file, function, named):
    report = reports(file)
    assert report.exit_status == 1
    found = verdicts(report)
    assert [n for n, v in found.items() if v.status != "correct"] == [function]
    wrong = found[function]
    assert set(wrong.wrong_probes) == set(named)  # the other outputs are right
    assert {o: [m.key for m in ms] for o, ms in wrong.mistakes.items()} == {
        o: [key] for o, key in named.items()
    }
    assert {d.output for d in wrong.differences} == set(named)


@pytest.mark.parametrize(("file", "function", "named"), MISTAKES)
def test_the_differences_listed_are_real(reports, file, function, named):
    """Each entry shown as wrong: expected is the runtime's value, got is not it."""
    report = reports(file)
    wrong = verdicts(report)[function]
    for difference in wrong.differences:
        probe = report.probes_of(wrong)[difference.probe]
        v = probe.values
        grads = runtime.backward(probe.spec, v["x"], v["dout"], w=v.get("w"))
        witness = grads[probe.kind.outputs[difference.output]]
        if difference.index is None:  # a shape
            assert difference.expected == f"shape {witness.shape}"
            assert difference.got != difference.expected
        else:
            assert difference.expected == witness[difference.index]
            assert difference.got != difference.expected


def test_routes_come_from_unit_upstream_gradients(reports):
    """The rotated kernel: dx[0,0,0,0] of the 3x3 probe takes dout[0,0,0,0] times w[..., 1, 1]."""
    report = reports("kernel_rotated.py")
    first = verdicts(report)["conv_backward_naive"].differences[0]
    assert (first.probe, first.index) == (0, (0, 0, 0, 0))
    w = report.probes[0].values["w"]
    assert first.routes == ([((0, 0, 0, 0), w[0, 0, 0, 0])], [((0, 0, 0, 0), w[0, 0, 1, 1])])


def test_every_mistake_shows_on_some_probe():
    """A mistake the probes cannot tell from the right answer could never be named."""
    for layer_type, kind in kinds().items():
        rng = np.random.default_rng(0)
        for mistake in kind.mistakes:
            shows = False
            for spec in kind.probes():
                values = kind.values(spec, rng)
                values["dout"] = np.ones(spec.output_shape, dtype=np.int64).astype(object)
                values["dout"] += rng.integers(0, 3, spec.output_shape)
                predicted = mistake.predict(spec, values) or {}
                grads = runtime.backward(spec, values["x"], values["dout"], w=values.get("w"))
                for output, array in predicted.items():
                    right = grads[kind.outputs[output]]
                    shows |= array.shape != right.shape or bool(np.any(array != right))
            assert shows, f"{layer_type}: {mistake.key} never differs from the right answer"


def test_probes_cover_what_the_issue_asks():
    conv = kinds()[CONV].probes()
    assert {s.stride[0] for s in conv} >= {1, 2, 3}
    assert {s.padding[0] for s in conv} >= {0, 1, 2}
    assert any(s.input_shape[2] != s.input_shape[3] for s in conv)
    assert any(s.kernel[0] != s.kernel[1] for s in conv)
    assert any(s.input_shape[1] > 1 for s in conv) and any(s.out_channels > 1 for s in conv)
    assert any(s.input_shape[0] > 1 for s in conv)
    pool = kinds()[POOL].probes()
    assert any(s.stride[0] < s.kernel[0] for s in pool)  # overlapping windows
    assert any(s.kernel[0] != s.kernel[1] for s in pool)
    assert any(s.input_shape[0] > 1 for s in pool)


def test_pool_probes_hold_tied_and_single_maxima():
    kind = kinds()[POOL]
    rng = np.random.default_rng(0)
    for spec in kind.probes():
        x = kind.values(spec, rng)["x"]
        counts = []
        (kh, kw), (sh, sw) = spec.kernel, spec.stride
        for n, c, i, j in np.ndindex(*spec.output_shape):
            window = list(x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw].flat)
            counts.append(window.count(max(window)))
        assert max(counts) > 1 and min(counts) == 1, spec


def test_code_that_refuses_fractions_is_checked_in_float64(plan):
    report = run_plan(DATA / "floats_only.py", plan)
    (verdict,) = report.functions
    assert verdict.status == "correct" and not verdict.exact


def test_float64_answers_are_held_to_1e_9_relative(tmp_path, plan):
    source = (DATA / "floats_only.py").read_text()
    near = tmp_path / "near.py"
    near.write_text(source.replace("return out, None", "return out * (1 + 1e-12), None"))
    off = tmp_path / "off.py"
    off.write_text(source.replace("return out, None", "return out * (1 + 1e-7), None"))
    assert run_plan(near, plan).exit_status == 0
    assert run_plan(off, plan).exit_status == 1


UNUSABLE = [
    ("raises.py", "max_pool_backward_naive", "line 12: IndexError"),
    ("loops.py", "max_pool_forward_naive", "time limit"),
    ("swallows.py", "max_pool_forward_naive", "the process ended during this probe"),
    ("exits.py", "max_pool_forward_naive", "sys.exit(3)"),
    ("kills.py", "max_pool_forward_naive", "exit status 7"),
    ("misfit.py", "max_pool_forward_naive", "expected a tuple (out, cache)"),
    ("greedy.py", "max_pool_forward_naive", "MemoryError"),
    ("forward_fails.py", "max_pool_forward_naive", "line 5: NotImplementedError: TODO"),
    ("forward_fails.py", "max_pool_backward_naive", "not run: max_pool_forward_naive failed"),
]


@pytest.mark.parametrize(("file", "function", "message"), UNUSABLE)
def test_a_failing_function_is_a_clear_verdict(small_plan, file, function, message):
    report = run_plan(DATA / "unusable" / file, small_plan, time_limit=1.0)
    assert report.exit_status == 2
    failed = verdicts(report)[function]
    assert failed.status == "unusable"
    from symcnn.checkcode.report import text

    assert message in text(report)
    kinds = ("exception", "memory", "timeout", "crash", "exit", "signature", "not_run")
    assert failed.error["kind"] in kinds


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("network.py", "socket.__new__ is blocked"),
        ("nothing.py", "defines none of the functions checked"),
        ("prints.py", "prints.py:4: RuntimeError: this file needs the dataset"),
    ],
)
def test_a_file_that_cannot_be_used(small_plan, file, message):
    report = run_plan(DATA / "unusable" / file, small_plan)
    assert report.exit_status == 2
    assert message in report.problem


def test_the_output_is_captured_and_the_file_runs_elsewhere(small_plan, tmp_path, monkeypatch):
    student = tmp_path / "student.py"
    student.write_text("print('loaded')\nopen('left_behind.txt', 'w').write('x')\n")
    monkeypatch.chdir(tmp_path)
    report = run_plan(student, small_plan)
    assert report.output == "loaded\n"
    assert not (tmp_path / "left_behind.txt").exists()  # it ran in a temporary folder
    assert "submission" not in sys.modules  # never imported here


def test_the_plain_convention(tmp_path):
    layer = Conv2d(input_shape=(2, 3, 5, 6), out_channels=2, kernel=(3, 2), stride=2, padding=1)
    report = check_code(
        DATA / "plain.py",
        convention="plain",
        layer=layer,
        function="conv_backward",
        forward="conv_forward",
    )
    assert [(f.name, f.status) for f in report.functions] == [
        ("conv_forward", "correct"),
        ("conv_backward", "correct"),
    ]
    pool = MaxPool2d(input_shape=(2, 2, 4, 6), kernel=(2, 2))
    report = check_code(DATA / "plain.py", convention="plain", layer=pool, function="pool_backward")
    (verdict,) = report.functions
    assert verdict.status == "wrong"
    assert [m.key for m in verdict.mistakes["dx"]] == ["equality_mask_every_tie"]


def test_a_layer_given_replaces_the_probes():
    layer = Conv2d(input_shape=(1, 2, 6, 6), out_channels=2, kernel=(3, 3), stride=3, padding=2)
    report = check_code(DATA / "padding_cropped.py", layer=layer)
    assert [p.spec for p in report.probes] == [layer]
    assert verdicts(report)["conv_backward_naive"].status == "wrong"
    assert "max_pool_forward_naive" not in verdicts(report)  # only the layer's kind


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"convention": "keras"}, "convention='keras' is not valid"),
        ({"convention": "plain"}, "needs a layer and --function NAME"),
        ({"function": "backward"}, "add --convention plain"),
        (
            {"layer": Conv2d(input_shape=(1, 1, 5, 5), kernel=(2, 2), stride=(2, 1))},
            "cannot express stride 2x1",
        ),
        (
            {"layer": MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="split")},
            "cannot express --ties split",
        ),
    ],
)
def test_bad_options_are_a_value_error(options, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        check_code(DATA / "correct.py", **options)


def test_probe_values_are_exact_and_seeded():
    kind = kinds()[CONV]
    spec = kind.probes()[1]
    first = kind.values(spec, np.random.default_rng(1))
    again = kind.values(spec, np.random.default_rng(1))
    assert all(isinstance(v, Fraction) for v in first["x"].flat)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert all(v != 0 for v in first["w"].flat)


def test_a_changed_layer_changes_the_mistake_prediction():
    """The stride mistake is the stride-1 layer fed dout in its top-left corner (a witness)."""
    kind = kinds()[CONV]
    spec = kind.probes()[1]
    values = kind.values(spec, np.random.default_rng(2))
    values["dout"] = np.ones(spec.output_shape, dtype=object)
    (stride,) = [m for m in kind.mistakes if m.key == "stride_ignored_in_backward"]
    predicted = stride.predict(spec, values)["dx"]
    # The loop the mistake writes, on exact numbers.
    x_pad = np.zeros((2, 3, 7, 8), dtype=object)
    dx_pad = np.zeros_like(x_pad)
    w = values["w"]
    for n, f, i, j in np.ndindex(*spec.output_shape):
        dx_pad[n, :, i : i + 3, j : j + 2] += w[f] * values["dout"][n, f, i, j]
    assert np.array_equal(predicted, dx_pad[:, :, 1:6, 1:7])


def test_the_child_imports_only_the_standard_library_and_numpy():
    """The child shares no code with symcnn: the student's file never runs beside it."""
    import ast

    child = Path(__file__).parents[1] / "symcnn" / "checkcode" / "child.py"
    tree = ast.parse(child.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import would load symcnn"
            imported.add(node.module.split(".")[0])
    assert imported - sys.stdlib_module_names == {"numpy"}


def test_a_list_is_as_good_as_a_tuple(small_plan, tmp_path):
    source = (DATA / "correct.py").read_text()
    assert "return out, (x, pool_param)" in source
    listed = tmp_path / "listed.py"
    listed.write_text(
        source.replace("return out, (x, pool_param)", "return [out, (x, pool_param)]")
    )
    report = run_plan(listed, small_plan)
    assert [(f.name, f.status) for f in report.functions] == [
        ("max_pool_forward_naive", "correct"),
        ("max_pool_backward_naive", "correct"),
    ]
