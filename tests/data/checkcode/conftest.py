"""The samples here are students' files: pytest must never import them (--doctest-modules would).

symcnn check-code runs them in a child process; importing one here would run it in the test
process, which is what the command exists to avoid.
"""

collect_ignore_glob = ["*.py", "unusable/*.py"]
