"""Printers: derivations as text, LaTeX and Markdown."""
