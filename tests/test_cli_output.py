"""Writing output files: atomic, never over a file the user did not ask to replace."""

import os
import stat

import pytest

from symcnn.files import write_output
from symcnn.options import UsageError


def test_written_file_gets_the_usual_mode_not_a_private_one(tmp_path):
    # Regression: mkstemp made every -o file 0600, unreadable by anyone else.
    target = tmp_path / "notes.tex"
    write_output("text", str(target), force=False)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert target.read_text() == "text"


def test_existing_file_is_kept_without_force(tmp_path):
    target = tmp_path / "mine.txt"
    target.write_text("keep me")
    with pytest.raises(UsageError, match="--force"):
        write_output("new", str(target), force=False)
    assert target.read_text() == "keep me"
    write_output("new", str(target), force=True)
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]  # no temporary left
