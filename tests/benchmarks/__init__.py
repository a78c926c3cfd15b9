"""Measurements recorded with pytest-benchmark (marked ``benchmark``)."""
