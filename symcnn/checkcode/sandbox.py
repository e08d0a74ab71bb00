"""Run a student's file in a child process, with limits, and read back its answers.

The child is ``child.py`` of this package, run as a script by the same interpreter in isolated
mode (``-I``: no PYTHONPATH, no user site, not the current folder), in a fresh temporary
working folder, in its own session (so that a timeout ends everything it started). Its answers
come back as JSON, never as pickles: nothing the student's code builds is loaded here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("child.py")

#: Defaults of the limits, per call of a student's function and per child process.
TIME_LIMIT = 10.0
MEMORY_BYTES = 1 << 30
FILE_BYTES = 1 << 20
CAPTURE_CHARS = 2000


@dataclass
class Run:
    """What the child answered: the load, one answer per call, its status and its output."""

    load: Any = None
    names: list[str] = field(default_factory=list)
    answers: dict[str, dict] = field(default_factory=dict)
    returncode: int | None = None
    timed_out: bool = False
    output: str = ""


def run_child(
    file: Path,
    calls: list[dict],
    *,
    time_limit: float = TIME_LIMIT,
    memory_bytes: int = MEMORY_BYTES,
) -> Run:
    """Load ``file`` in a child process and run ``calls`` there; never raise for its failures."""
    with tempfile.TemporaryDirectory(prefix="symcnn-check-code-") as folder:
        work = Path(folder)
        request = {
            "file": str(file.resolve()),
            "answers": str(work / "answers.jsonl"),
            "capture": str(work / "output.txt"),
            "time_limit": time_limit,
            "memory_bytes": memory_bytes,
            "file_bytes": FILE_BYTES,
            "calls": calls,
        }
        (work / "request.json").write_text(json.dumps(request), encoding="utf-8")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": folder,
            "TMPDIR": folder,
            "OPENBLAS_NUM_THREADS": "1",  # one thread: fits the memory limit, leaves the cores
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        # The whole run: the limit per probe, plus the load and start-up (the child's CPU limit
        # is the same); code that catches the per-call alarm cannot outlast it.
        wall = time_limit * (len(calls) + 2) + 20
        process = subprocess.Popen(
            # -B: the student's folder gets no __pycache__ (nothing is written beside FILE)
            [sys.executable, "-I", "-B", str(CHILD), str(work / "request.json")],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        run = Run()
        try:
            run.returncode = process.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            run.timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            run.returncode = process.wait()
        _read_answers(work / "answers.jsonl", run)
        capture = work / "output.txt"
        if capture.exists():
            with capture.open(encoding="utf-8", errors="replace") as handle:
                run.output = handle.read(CAPTURE_CHARS + 1)
    return run


def _read_answers(path: Path, run: Run) -> None:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            break
        if "load" in record:
            run.load = record["load"]
            run.names = record.get("names", [])
        else:
            run.answers[record["call"]] = record
