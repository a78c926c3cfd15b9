"""The readiness gate's dynamic provider against real HTTPS servers."""
