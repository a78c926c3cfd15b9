"""Where the tests find the repository and their data (``tests/data/``)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository: Pulumi.yaml, ``__main__.py``, ``scripts/``, ``.ci/``."""

DATA = ROOT / "tests" / "data"
"""Golden files, snapshots, the sample pack and the programs the tests run."""

SAMPLE_PACK = DATA / "packs" / "hello-universe"
"""The sample pack (the README's packs as code)."""

PROGRAMS = DATA / "programs"
"""Pulumi programs other than the project's, run under the mocks."""
