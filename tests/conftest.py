"""Shared test settings."""

import os

from hypothesis import settings

# CI runs every property test with more examples and no deadline (a shared machine is noisy).
settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
