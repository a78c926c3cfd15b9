"""The declared containers run on a real Docker engine (marked ``integration``)."""
