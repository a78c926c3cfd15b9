"""Fixtures of the CLI layer: the Docker engine, the stand-in image and the janitor (tests/docker_support.py)."""

from tests.docker_support import docker_engine, janitor, standin_image  # noqa: F401 - fixtures pytest finds here
