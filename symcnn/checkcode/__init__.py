"""``symcnn check-code``: run a student's NumPy layer functions and check them exactly.

The student's file runs in a child process (:mod:`symcnn.checkcode.sandbox`), never in this
one; its answers are compared with the exact derivation on probe layers chosen so that the
known mistakes show, and a wrong function is named with its first wrong entries and, when the
kind's catalogue reproduces them, its mistake.
"""

from .checker import CodeReport, check_code

__all__ = ["CodeReport", "check_code"]
