"""Progress bars on a terminal only, one-line reports of what a command wrote, --quiet."""

import io
import time

from symcnn import progress
from symcnn.cli import main
from symcnn.codegen import command as generate_command


class Terminal(io.StringIO):
    def isatty(self):
        return True


def slow(count, pause):
    for number in range(count):
        time.sleep(pause)
        yield number


def test_no_bar_unless_a_command_asks_for_one(monkeypatch):
    monkeypatch.setattr("sys.stderr", Terminal())
    items = [1, 2, 3]
    assert progress.bar(items, total=3, desc="x") is items  # the Python API: silent
    with progress.shown(False):
        assert progress.bar(items, total=3, desc="x") is items  # --quiet


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    items = [1, 2, 3]
    with progress.shown(True):
        assert progress.bar(items, total=3, desc="x") is items


def test_a_bar_on_a_terminal_for_slow_work(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with progress.shown(True):
        assert list(progress.bar(slow(4, 0.2), total=4, desc="entries")) == [0, 1, 2, 3]
    assert "entries" in terminal.getvalue() and "/4" in terminal.getvalue()


def test_derive_to_a_file_says_what_it_wrote(tmp_path, capsys):
    target = tmp_path / "conv.tex"
    argv = ["derive", "conv2d", "--input", "3x3", "--kernel", "2", "--format", "latex"]
    assert main([*argv, "-o", str(target)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"symcnn derive: wrote {target} (latex, conv2d on a 1x1x3x3 input)\n"
    assert main([*argv, "-o", str(tmp_path / "quiet.tex"), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_generate_check_says_the_catalog_is_fresh(monkeypatch, capsys):
    monkeypatch.setattr(generate_command, "stale_files", lambda folder: {})
    assert main(["generate", "--check"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "symcnn generate: generated/ is up to date (the catalog re-rendered, identical)\n"
    assert main(["generate", "--check", "-q"]) == 0
    assert capsys.readouterr() == ("", "")


def test_the_notes_show_their_steps_and_identities_on_a_terminal(monkeypatch):
    """Building the notes of a layer reports its steps and identities, on a terminal only."""
    import symcnn

    derivation = symcnn.derive(symcnn.Conv2d(input_shape=(3, 3), kernel=2))
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    original = progress.bar

    def slowed(iterable, **kwargs):  # each step takes a moment, so the bar is drawn
        return original(_paced(iterable, 0.2), **kwargs)

    monkeypatch.setattr(progress, "bar", slowed)
    with progress.shown(True):
        symcnn.notes(derivation).text()
    shown = terminal.getvalue()
    assert "notes" in shown and "/7" in shown and "identities" in shown
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    with progress.shown(True):
        symcnn.notes(derivation).text()
    assert piped.getvalue() == ""


def _paced(iterable, pause):
    for item in iterable:
        time.sleep(pause)
        yield item
