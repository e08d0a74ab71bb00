"""The child process of ``symcnn check-code``: load the student's file and run its calls.

Run as a script (``python -I child.py REQUEST``), never imported: it imports the standard
library and NumPy only, so the student's code never shares an interpreter with symcnn's. The
parent (:mod:`symcnn.checkcode.sandbox`) writes REQUEST, a JSON file naming the student's file,
the limits and the calls; this script answers with one JSON line per call in the file the
request names, flushed as it goes, so that a call which kills the process is still known by the
answers before it.

Before the student's file loads, the script limits memory, CPU time and file size
(``resource.setrlimit``), blocks sockets and new processes with an audit hook (which no later
code can remove), and sends file descriptors 1 and 2 into a capture file.
"""

import copy
import json
import os
import resource
import signal
import sys
import traceback
from fractions import Fraction

import numpy as np

#: Audit events the student's code may not raise: the network and new processes.
BLOCKED_EVENTS = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.fork")


class CallTimeout(BaseException):
    """The call ran past its time limit (a BaseException so that ``except Exception`` misses it)."""


def _block(event, args):
    if event.startswith(BLOCKED_EVENTS):
        raise PermissionError(f"{event} is blocked: check-code runs without network or processes")


def _on_alarm(signum, frame):
    raise CallTimeout


def decode(array):
    """A JSON array record -> an object array of Fractions, or a float64 array."""
    values = [Fraction(v) for v in array["values"]]
    shape = tuple(array["shape"])
    if array["exact"]:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out.reshape(shape)
    return np.array([float(v) for v in values], dtype=np.float64).reshape(shape)


def encode(value):
    """A returned value -> a JSON record: exact when every entry is an int or a Fraction."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype == object:
        entries = list(array.flat)
    elif array.dtype.kind in "iub":
        entries = [int(v) for v in array.flat]
    elif array.dtype.kind == "f":
        entries = [float(v) for v in array.flat]
    else:
        return {"unreadable": f"an array of dtype {array.dtype}"}
    exact = all(isinstance(v, int | Fraction | np.integer) for v in entries)
    texts = []
    for v in entries:
        if isinstance(v, int | Fraction | np.integer):
            texts.append(str(Fraction(int(v)) if isinstance(v, np.integer) else v))
        elif isinstance(v, float | np.floating):
            f = float(v)
            if f != f or f in (float("inf"), float("-inf")):
                return {"unreadable": f"a non-finite entry ({f})"}
            texts.append(repr(f))
        else:
            return {"unreadable": f"an entry of type {type(v).__name__}"}
    return {"shape": list(array.shape), "exact": exact, "values": texts}


def _cs231n_conv(module, names, inputs, params, douts, answers):
    x, w, b = inputs["x"], inputs["w"], inputs["b"]
    conv_param = {"stride": params["stride"], "pad": params["pad"]}
    result = _call(module, names["forward"], x, w, b, conv_param)
    out, cache = _pair(result, names["forward"], "(out, cache)")
    answers.append({"role": "forward", "outputs": {"out": encode(out)}})
    if names.get("backward"):
        for dout in douts:
            grads = _call(module, names["backward"], dout, copy.deepcopy(cache))
            answers.append({"role": "backward", "outputs": _triple(grads, names["backward"])})


def _cs231n_pool(module, names, inputs, params, douts, answers):
    x = inputs["x"]
    pool_param = {k: params[k] for k in ("pool_height", "pool_width", "stride")}
    result = _call(module, names["forward"], x, pool_param)
    out, cache = _pair(result, names["forward"], "(out, cache)")
    answers.append({"role": "forward", "outputs": {"out": encode(out)}})
    if names.get("backward"):
        for dout in douts:
            dx = _call(module, names["backward"], dout, copy.deepcopy(cache))
            answers.append({"role": "backward", "outputs": {"dx": encode(dx)}})


def _plain_conv(module, names, inputs, params, douts, answers):
    x, w, b = inputs["x"], inputs["w"], inputs["b"]
    if names.get("forward"):
        out = _call(module, names["forward"], x, w, b)
        answers.append({"role": "forward", "outputs": {"out": encode(out)}})
    for dout in douts if names.get("backward") else ():
        grads = _call(module, names["backward"], x, w, b, dout)
        answers.append({"role": "backward", "outputs": _triple(grads, names["backward"])})


def _plain_pool(module, names, inputs, params, douts, answers):
    x = inputs["x"]
    if names.get("forward"):
        out = _call(module, names["forward"], x)
        answers.append({"role": "forward", "outputs": {"out": encode(out)}})
    for dout in douts if names.get("backward") else ():
        dx = _call(module, names["backward"], x, dout)
        answers.append({"role": "backward", "outputs": {"dx": encode(dx)}})


#: How each convention calls its functions (the parent names one per call).
CALLERS = {
    "cs231n_conv": _cs231n_conv,
    "cs231n_pool": _cs231n_pool,
    "plain_conv": _plain_conv,
    "plain_pool": _plain_pool,
}


class Misfit(Exception):
    """A function returned something its signature does not allow."""


#: Seconds each call of a student's function may take (set from the request).
TIME_LIMIT = [1.0]
#: The student's function running now: a failure is reported as that function's.
RUNNING = [None]


def _call(module, name, *args):
    """Call the student's function under the time limit."""
    RUNNING[0] = name
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT[0])
    try:
        return getattr(module, name)(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _pair(result, name, what):
    if not isinstance(result, tuple | list) or len(result) != 2:
        RUNNING[0] = name
        raise Misfit(f"{name} returned {_kind(result)}: expected a tuple {what}")
    return result


def _triple(result, name):
    if not isinstance(result, tuple | list) or len(result) != 3:
        RUNNING[0] = name
        raise Misfit(f"{name} returned {_kind(result)}: expected a tuple (dx, dw, db)")
    return dict(zip(("dx", "dw", "db"), (encode(v) for v in result), strict=True))


def _kind(value):
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return f"a {type(value).__name__}"


def _failure(error, path):
    """The answer for an exception: its type, message and the student's line where it rose."""
    if isinstance(error, CallTimeout):
        return {"kind": "timeout", "message": "the call ran past its time limit"}
    if isinstance(error, SystemExit):
        return {"kind": "exit", "message": f"the code called sys.exit({error.code!r})"}
    if isinstance(error, Misfit):
        return {"kind": "signature", "message": str(error)}
    frames = traceback.extract_tb(error.__traceback__)
    lines = [f.lineno for f in frames if os.path.abspath(f.filename) == path]
    message = f"{type(error).__name__}: {error}"
    kind = "memory" if isinstance(error, MemoryError) else "exception"
    return {"kind": kind, "message": message[:500], "line": lines[-1] if lines else None}


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    answers = open(request["answers"], "w", encoding="utf-8")  # noqa: SIM115 (kept open)

    def answer(record):
        answers.write(json.dumps(record) + "\n")
        answers.flush()

    capture = os.open(request["capture"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(capture, 1)
    os.dup2(capture, 2)
    limit = request["time_limit"]
    TIME_LIMIT[0] = limit
    memory = request["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (request["file_bytes"],) * 2)
    cpu = int(limit * (len(request["calls"]) + 2)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    sys.addaudithook(_block)
    signal.signal(signal.SIGALRM, _on_alarm)

    path = os.path.abspath(request["file"])
    import importlib.util

    try:
        signal.setitimer(signal.ITIMER_REAL, limit)
        spec = importlib.util.spec_from_file_location("submission", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        spec.loader.exec_module(module)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except BaseException as error:  # every failure is a verdict
        signal.setitimer(signal.ITIMER_REAL, 0)
        answer({"load": _failure(error, path)})
        return
    answer({"load": "ok", "names": _functions(module, path)})

    for call in request["calls"]:
        answer(_run_call(module, call, path))


def _functions(module, path):
    """The callables the file defines (not those it imports), with their first lines."""
    found = {}
    for name, value in vars(module).items():
        code = getattr(value, "__code__", None)
        if callable(value) and code is not None and os.path.abspath(code.co_filename) == path:
            found[name] = code.co_firstlineno
    return found


def _run_call(module, call, path):
    """Run one call on exact inputs; if they are refused with an exception, on float64 ones."""
    caller = CALLERS[call["caller"]]
    names = {
        role: name for role, name in call["names"].items() if callable(getattr(module, name, None))
    }
    if not names or ("forward" not in names and call["backward_needs_forward"]):
        return {"call": call["id"], "missing": True}
    call = dict(call, names=names)
    refused_exact = None
    for exact in (True, False):
        inputs = {
            name: None if record is None else decode(dict(record, exact=exact))
            for name, record in call["inputs"].items()
        }
        douts = [decode(dict(record, exact=exact)) for record in call["douts"]]
        results = []  # filled as the calls return: a failure keeps the answers before it
        try:
            caller(module, call["names"], inputs, call["params"], douts, results)
        except BaseException as error:  # every failure is a verdict
            signal.setitimer(signal.ITIMER_REAL, 0)
            failure = dict(_failure(error, path), function=RUNNING[0])
            if exact and failure["kind"] in ("exception", "memory"):
                refused_exact = failure  # it may only refuse object arrays: try float64
                continue
            return {
                "call": call["id"],
                "error": failure,
                "results": results,
                "exact_inputs": exact,
                "refused_exact": refused_exact,
            }
        signal.setitimer(signal.ITIMER_REAL, 0)
        return {
            "call": call["id"],
            "exact_inputs": exact,
            "results": results,
            "refused_exact": refused_exact,
        }
    raise AssertionError("unreachable: the float64 attempt returns")


if __name__ == "__main__":
    main()
