"""Check a student's layer functions against the exact derivation.

The pipeline, one stage per function below:

1. ``[file, convention, layer?] -> [probes]``: the layers to run (the kind's built-in probes,
   or the one layer given) and their exact inputs and upstream gradients;
2. ``[probes] -> [expected]``: ``derive`` each probe and evaluate its forward entries and
   gradients exactly (:func:`symcnn.evaluate.evaluate`);
3. ``[file, probes] -> [answers]``: run the student's functions in a child process
   (:mod:`symcnn.checkcode.sandbox`), on object arrays of Fractions, or on float64 where the
   code refuses those;
4. ``[answers, expected] -> [verdicts]``: per function, correct or wrong, the first entries that
   differ, the upstream entries a wrong entry takes (read off unit upstream gradients), and the
   mistakes of the kind's catalogue that reproduce every wrong output on every probe.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..derive import Derivation, derive
from ..evaluate import bind, evaluate
from ..spec import Layer
from . import sandbox
from .kinds import CodeMistake, KindCheckCode, kind_check_code, kinds
from .values import SEED, nonzero_fractions, unit

#: Relative tolerance of a float64 answer, against the largest entry of the expected array.
FLOAT_TOLERANCE = 1e-9
#: Probes with at most this many output entries are also run with every unit upstream gradient.
UNIT_LIMIT = 48
#: Differing entries listed per output.
SHOWN = 3

CONVENTIONS = ("cs231n", "plain")


@dataclass
class Probe:
    """One layer the functions run on, its exact inputs and the derivation's answers."""

    spec: Layer
    kind: KindCheckCode
    values: dict[str, np.ndarray]  # x (w, b) and dout
    units: list[tuple[int, ...]]  # the output entries run as unit upstream gradients
    expected: dict[str, np.ndarray | None] = field(default_factory=dict)
    derivation: Derivation | None = None
    leaves: dict = field(default_factory=dict)  # the derivation's symbols -> the probe's values

    def expected_weight(self, output: str, index: tuple[int, ...], dout: tuple[int, ...]):
        """The derivation's weight of upstream entry ``dout`` in the output's entry ``index``."""
        expression = self.derivation.grads[self.kind.outputs[output]][index]
        values = dict(self.leaves)
        values.update(bind(self.derivation.tensors.G, unit(self.spec.output_shape, dout)))
        return evaluate(np.array([expression], dtype=object), values)[0]


@dataclass
class Difference:
    """An entry the student's function gets wrong (or a shape it gets wrong)."""

    probe: int
    output: str
    index: tuple[int, ...] | None  # None: the shape differs, or the output is unreadable
    expected: Any
    got: Any
    routes: tuple[list, list] | None = None  # (expected, got) [(dout index, coefficient)]


@dataclass
class FunctionVerdict:
    """One of the student's functions: its verdict and why."""

    name: str
    role: str  # "forward" or "backward"
    layer_type: str
    line: int | None = None
    status: str = "correct"  # "correct", "wrong", "unusable"
    exact: bool = True
    refused_exact: dict | None = None
    probes: int = 0
    wrong_probes: dict[str, list[int]] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    mistakes: dict[str, list[CodeMistake]] = field(default_factory=dict)
    error: dict | None = None


@dataclass
class CodeReport:
    """Everything ``check-code`` found in one file."""

    file: Path
    convention: str
    probes: list[Probe]
    functions: list[FunctionVerdict]
    problem: str | None = None  # why the file as a whole cannot be used
    output: str = ""  # what the student's code printed

    @property
    def exit_status(self) -> int:
        if self.problem or any(f.status == "unusable" for f in self.functions):
            return 2
        return 1 if any(f.status == "wrong" for f in self.functions) else 0

    def probes_of(self, verdict: FunctionVerdict) -> list[Probe]:
        """The probes ``verdict``'s function ran on (those of its layer type)."""
        return [p for p in self.probes if p.spec.type == verdict.layer_type]

    @property
    def summary(self) -> dict[str, int]:
        return {
            s: sum(f.status == s for f in self.functions) for s in ("wrong", "unusable", "correct")
        }


def check_code(
    file: str | Path,
    *,
    convention: str = "cs231n",
    layer: Layer | None = None,
    function: str | None = None,
    forward: str | None = None,
    time_limit: float = sandbox.TIME_LIMIT,
    memory_bytes: int = sandbox.MEMORY_BYTES,
) -> CodeReport:
    """Run the layer functions ``file`` defines and check them against the exact derivation.

    Parameters
    ----------
    file : str or Path
        A Python file. It is executed, in a child process with the limits below.
    convention : {"cs231n", "plain"}
        ``cs231n``: every CS231n function the file defines is checked; ``plain``: the backward
        function ``function`` (and the forward function ``forward``, if given) of ``layer``.
    layer : Layer, optional
        The layer to check on; by default (cs231n only) the kind's built-in probes.
    function, forward : str, optional
        The plain convention's function names.
    time_limit : float
        Seconds per call of a student's function.
    memory_bytes : int
        The child process's address-space limit.

    Returns
    -------
    CodeReport
        ``exit_status`` is 0 when every function found is correct, 1 when any is wrong, 2 when
        the file cannot be used.

    Raises
    ------
    ValueError
        A convention that does not exist, a plain check without a layer or a function, a layer
        the convention cannot express, or a layer check-code does not cover.
    """
    return run_plan(
        Path(file), make_plan(convention, layer, function, forward), time_limit, memory_bytes
    )


@dataclass(frozen=True)
class Plan:
    """The functions to look for and the probes with their exact answers: one per folder."""

    convention: str
    groups: list[tuple[dict[str, Any], list[Probe]]]  # (functions, their probes) per layer type


def make_plan(
    convention: str = "cs231n",
    layer: Layer | None = None,
    function: str | None = None,
    forward: str | None = None,
) -> Plan:
    """The probes, derived and evaluated (stages 1 and 2); arguments as :func:`check_code`."""
    groups = _plan(convention, layer, function, forward)
    for _, probes in groups:
        for probe in probes:
            _expect(probe)
    return Plan(convention, groups)


def run_plan(
    file: Path,
    plan: Plan,
    time_limit: float = sandbox.TIME_LIMIT,
    memory_bytes: int = sandbox.MEMORY_BYTES,
) -> CodeReport:
    """Run ``file``'s functions on the plan's probes and judge them (stages 3 and 4)."""
    calls = []
    for functions, probe_list in plan.groups:
        for probe, params in zip(probe_list, functions["params"], strict=True):
            calls.append(_call(len(calls), probe, functions, params))
    run = sandbox.run_child(file, calls, time_limit=time_limit, memory_bytes=memory_bytes)
    probes = [probe for _, probe_list in plan.groups for probe in probe_list]
    report = CodeReport(file, plan.convention, probes, [], output=run.output)
    if run.load != "ok":
        report.problem = _load_problem(run, file)
        return report
    position = 0
    for functions, probe_list in plan.groups:
        answers = [run.answers.get(str(position + i)) for i in range(len(probe_list))]
        position += len(probe_list)
        report.functions += _verdicts(functions, probe_list, answers, run)
    if not report.functions:
        wanted = sorted(
            {functions[r] for functions, _ in plan.groups for r in ("forward", "backward")} - {""}
        )
        report.problem = f"{file.name} defines none of the functions checked: {', '.join(wanted)}"
    return report


# -- 1. probes ----------------------------------------------------------------------------------


def _plan(convention, layer, function, forward) -> list[tuple[dict[str, Any], list[Probe]]]:
    """[(the functions and how they are called, the probes)] per layer type checked."""
    if convention not in CONVENTIONS:
        raise ValueError(
            f"convention={convention!r} is not valid: expected one of {', '.join(CONVENTIONS)}"
        )
    if convention == "plain" and (layer is None or not function):
        raise ValueError("the plain convention needs a layer and --function NAME (the backward)")
    if convention == "cs231n" and (function or forward):
        raise ValueError("--function and --forward name plain functions: add --convention plain")
    entries = {layer.type: kind_check_code(layer)} if layer is not None else kinds()
    rng = np.random.default_rng(SEED)
    plan = []
    for layer_type, kind in sorted(entries.items()):
        if convention not in kind.conventions:
            continue
        names = kind.conventions[convention]
        specs = (layer,) if layer is not None else kind.probes()
        params = [names.params(spec) for spec in specs]  # a ValueError before any work
        functions = {
            "layer_type": layer_type,
            "forward": forward or names.forward if convention == "plain" else names.forward,
            "backward": function if convention == "plain" else names.backward,
            "caller": names.caller,
            "backward_needs_forward": names.backward_needs_forward,
            "params": params,
        }
        plan.append((functions, [_probe(spec, kind, rng) for spec in specs]))
    return plan


def _probe(spec: Layer, kind: KindCheckCode, rng: np.random.Generator) -> Probe:
    values = kind.values(spec, rng)
    values["dout"] = nonzero_fractions(rng, spec.output_shape)
    count = int(np.prod(spec.output_shape))
    units = list(np.ndindex(*spec.output_shape)) if count <= UNIT_LIMIT else []
    return Probe(spec, kind, values, units)


# -- 2. expected --------------------------------------------------------------------------------


def _expect(probe: Probe) -> None:
    """The derivation's forward entries and gradients at the probe's values, exactly."""
    derivation = derive(probe.spec)
    tensors = vars(derivation.tensors)
    leaves = {}
    for name, tensor in probe.kind.inputs.items():
        if name in probe.values and tensors.get(tensor) is not None:
            leaves.update(bind(tensors[tensor], probe.values[name]))
    probe.expected = _expected_at(derivation, probe, leaves, probe.values["dout"])
    probe.expected["out"] = evaluate(derivation.output, leaves)
    probe.derivation, probe.leaves = derivation, leaves


def _expected_at(derivation: Derivation, probe: Probe, leaves, dout) -> dict[str, Any]:
    values = dict(leaves)
    values.update(bind(derivation.tensors.G, dout))
    return {
        output: evaluate(derivation.grads[tensor], values) if tensor in derivation.grads else None
        for output, tensor in probe.kind.outputs.items()
    }


# -- 3. answers ---------------------------------------------------------------------------------


def _call(number: int, probe: Probe, functions: dict[str, Any], params: dict) -> dict[str, Any]:
    """The child's request for one probe: the inputs, then one backward per upstream gradient."""
    douts = [probe.values["dout"]] + [unit(probe.spec.output_shape, i) for i in probe.units]
    return {
        "id": str(number),
        "caller": functions["caller"],
        "names": {r: functions[r] for r in ("forward", "backward") if functions[r]},
        "backward_needs_forward": functions["backward_needs_forward"],
        "params": params,
        "inputs": {name: _record(probe.values.get(name)) for name in probe.kind.inputs},
        "douts": [_record(d) for d in douts],
    }


def _record(array: np.ndarray | None) -> dict | None:
    if array is None:
        return None
    return {"shape": list(array.shape), "values": [str(v) for v in array.flat]}


def _load_problem(run: sandbox.Run, file: Path) -> str:
    if run.timed_out:
        return f"{file.name} did not finish loading within the time limit"
    if isinstance(run.load, dict):
        return _failure_text(run.load, file.name, "loading it")
    return f"{file.name}: the process ended while loading it ({_ended(run.returncode)})"


def _ended(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        limit = ", as the CPU-time limit ends it" if name in ("SIGKILL", "SIGXCPU") else ""
        return f"killed by {name}{limit}"
    return f"exit status {returncode}"


def _failure_text(failure: dict, filename: str, during: str) -> str:
    line = f"{filename}:{failure['line']}: " if failure.get("line") else f"{filename}: "
    return f"{line}{failure['message']} ({during})"


# -- 4. verdicts --------------------------------------------------------------------------------


def _verdicts(functions, probes: list[Probe], answers: list, run: sandbox.Run):
    defined = run.names
    roles = [r for r in ("forward", "backward") if functions[r] and functions[r] in defined]
    if functions["backward_needs_forward"] and "forward" not in roles and roles:
        verdict = FunctionVerdict(functions["backward"], "backward", functions["layer_type"])
        verdict.line = defined.get(functions["backward"])
        verdict.status = "unusable"
        verdict.error = {
            "kind": "signature",
            "message": f"it reads the cache of {functions['forward']}, which the file does not"
            " define",
        }
        return [verdict]
    verdicts = {
        role: FunctionVerdict(
            functions[role], role, functions["layer_type"], line=defined.get(functions[role])
        )
        for role in roles
    }
    for number, (probe, answer) in enumerate(zip(probes, answers, strict=True)):
        if not verdicts:
            break
        if answer is None:  # the process died or hung during this call
            ended = "the time limit" if run.timed_out else _ended(run.returncode)
            for verdict in verdicts.values():
                if verdict.status != "unusable":
                    verdict.status = "unusable"
                    verdict.error = {
                        "kind": "timeout" if run.timed_out else "crash",
                        "message": f"the process ended during this probe ({ended})",
                        "probe": number,
                    }
            break
        if "error" in answer:
            failure = dict(answer["error"], probe=number)
            culprit = failure.get("function")
            for verdict in verdicts.values():
                if verdict.status != "unusable" and culprit in (None, verdict.name):
                    verdict.status = "unusable"
                    verdict.error = failure
            if culprit not in {v.name for v in verdicts.values()}:
                for verdict in verdicts.values():
                    verdict.status = "unusable"
                    verdict.error = verdict.error or failure
        _compare(probe, number, answer, verdicts)  # what returned before a failure counts
    for verdict in verdicts.values():
        if verdict.status == "correct" and verdict.probes == 0:
            failed = [v.name for v in verdicts.values() if v.status == "unusable"]
            why = f"not run: {failed[0]} failed before it" if failed else "it never returned"
            verdict.status = "unusable"
            verdict.error = {"kind": "not_run", "message": why}
        if verdict.status == "wrong":
            _name_mistakes(verdict, probes, answers)
    return list(verdicts.values())


def _compare(probe: Probe, number: int, answer: dict, verdicts: dict[str, FunctionVerdict]) -> None:
    results = answer.get("results", [])
    backward = [r for r in results if r["role"] == "backward"]
    for role, verdict in verdicts.items():
        if verdict.status == "unusable" or not any(r["role"] == role for r in results):
            continue
        verdict.probes += 1
        refused = answer.get("refused_exact")
        if refused and refused.get("function") == verdict.name:
            verdict.refused_exact = verdict.refused_exact or refused
        if not _all_exact(results, role):
            verdict.exact = False
        if role == "forward":
            given = next(r for r in results if r["role"] == "forward")["outputs"]
            pairs = [("out", probe.expected["out"], given["out"])]
        else:
            given = backward[0]["outputs"]
            pairs = [(o, probe.expected[o], given.get(o)) for o in probe.kind.outputs]
        for output, expected, got in pairs:
            differences = _differences(number, output, expected, got)
            if not differences:
                continue
            verdict.status = "wrong"
            verdict.wrong_probes.setdefault(output, []).append(number)
            if not any(d.output == output for d in verdict.differences):
                if role == "backward" and differences[0].index is not None and probe.units:
                    differences[0].routes = _routes(probe, output, differences[0].index, backward)
                verdict.differences += differences


def _all_exact(results: list, role: str) -> bool:
    return all(
        record is None or record.get("exact", False)
        for r in results
        if r["role"] == role
        for record in r["outputs"].values()
    )


def decode(record: dict | None) -> np.ndarray | None:
    """A child's array record -> an object array of Fractions, or a float64 array."""
    if record is None:
        return None
    values = record["values"]
    shape = tuple(record["shape"])
    if record["exact"]:
        out = np.empty(len(values), dtype=object)
        out[:] = [Fraction(v) for v in values]
        return out.reshape(shape)
    return np.array([float(v) for v in values], dtype=np.float64).reshape(shape)


def _differences(number: int, output: str, expected, record) -> list[Difference]:
    if expected is None:
        if record is None:
            return []
        return [Difference(number, output, None, "None (the layer has no bias)", "an array")]
    if record is None:
        return [Difference(number, output, None, f"shape {expected.shape}", "None")]
    if "unreadable" in record:
        return [Difference(number, output, None, f"shape {expected.shape}", record["unreadable"])]
    got = decode(record)
    if got.shape != expected.shape:
        return [Difference(number, output, None, f"shape {expected.shape}", f"shape {got.shape}")]
    wrong = np.argwhere(~_close(expected, got))
    return [
        Difference(
            number, output, tuple(int(i) for i in index), expected[tuple(index)], got[tuple(index)]
        )
        for index in wrong[:SHOWN]
    ]


def _close(expected: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Entry by entry: equal when exact, else within FLOAT_TOLERANCE of the array's scale."""
    if got.dtype == object:
        return (
            np.array([e == g for e, g in zip(expected.flat, got.flat, strict=True)])
            .reshape(expected.shape)
            .astype(bool)
        )
    reference = np.array([float(e) for e in expected.flat]).reshape(expected.shape)
    scale = max(float(np.max(np.abs(reference), initial=0.0)), 1.0)
    return np.abs(got - reference) <= FLOAT_TOLERANCE * scale


def _same(expected: np.ndarray | None, record: dict | None) -> bool:
    if expected is None or record is None or "unreadable" in record:
        return expected is None and record is None
    got = decode(record)
    return got.shape == expected.shape and bool(np.all(_close(expected, got)))


def _routes(probe: Probe, output: str, index: tuple[int, ...], backward: list) -> tuple:
    """The upstream entries the entry takes, with their weights: expected, and the student's."""
    expected, got = [], []
    for position, dout_index in enumerate(probe.units):
        weight = probe.expected_weight(output, index, dout_index)
        if weight != 0:
            expected.append((dout_index, weight))
        record = backward[1 + position]["outputs"].get(output)
        array = decode(record) if record and "unreadable" not in record else None
        if array is None or array.shape != probe.expected[output].shape:
            return None
        if array[index] != 0:
            got.append((dout_index, array[index]))
    return expected, got


def _name_mistakes(verdict: FunctionVerdict, probes: list[Probe], answers: list) -> None:
    """The kind's mistakes that reproduce every wrong output on every probe run."""
    if verdict.role != "backward":
        return
    ran = [
        (probe, next(r for r in answer["results"] if r["role"] == "backward")["outputs"])
        for probe, answer in zip(probes, answers, strict=True)
        if answer
        and "results" in answer
        and any(r["role"] == "backward" for r in answer["results"])
    ]
    for output in verdict.wrong_probes:
        for mistake in probes[0].kind.mistakes:
            if all(
                _same(_predicted(mistake, probe, output), given.get(output)) for probe, given in ran
            ):
                verdict.mistakes.setdefault(output, []).append(mistake)


def _predicted(mistake: CodeMistake, probe: Probe, output: str) -> np.ndarray | None:
    prediction = mistake.predict(probe.spec, probe.values) or {}
    return prediction.get(output, probe.expected[output])
