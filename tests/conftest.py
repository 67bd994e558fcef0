"""Shared test setup: the project's Hypothesis settings profiles (difftest.settings)."""

from difftest.settings import load_default_profile

load_default_profile()
