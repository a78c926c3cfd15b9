"""Packs as code: the Pack provider, the pack archive, the OCI push client."""
