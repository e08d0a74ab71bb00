"""Pooling rules (max, min, average) for the derivation table. Filled in by the pooling work."""

RULES: dict = {}
