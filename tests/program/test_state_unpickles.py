"""The dynamic providers as existing stacks hold them: pickled by reference, under the dotted paths they had.

Pulumi stores each dynamic resource's provider in its ``__provider`` input: ``serialize_provider`` pickles it with
dill (pulumi/pulumi sdk/python/lib/pulumi/dynamic/dynamic.py), and the provider host unpickles that string with
``dill.loads`` before every call, refresh and destroy included (sdk/python/lib/pulumi/dynamic/__main__.py
``get_provider``). A provider with no state pickles as a reference to its class, ``<module>.<name>``, so the state of
every stack names the module the class lived in when the stack was last updated. ``SERIALIZED`` holds what the
released program wrote (release 0.1.0's layout, one module per provider at the top of ``components/``).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.credentials.bcrypt_hash import BcryptHashProvider
from components.packs.provider import PackProvider
from components.palette.provider import PackRegistryProvider
from components.readiness.gate import ReadinessGateProvider
from tests.support.paths import ROOT

SERIALIZED = {
    "components.palette.PackRegistryProvider": (
        "gASVMgAAAAAAAACMEmNvbXBvbmVudHMucGFsZXR0ZZSMFFBhY2tSZWdpc3RyeVByb3ZpZGVylJOUKYGULg=="
    ),
    "components.packs.PackProvider": "gASVKAAAAAAAAACMEGNvbXBvbmVudHMucGFja3OUjAxQYWNrUHJvdmlkZXKUk5QpgZQu",
    "components.readiness.ReadinessGateProvider": (
        "gASVNQAAAAAAAACMFGNvbXBvbmVudHMucmVhZGluZXNzlIwVUmVhZGluZXNzR2F0ZVByb3ZpZGVylJOUKYGULg=="
    ),
    "components.bcrypt_hash.BcryptHashProvider": (
        "gASVNAAAAAAAAACMFmNvbXBvbmVudHMuYmNyeXB0X2hhc2iUjBJCY3J5cHRIYXNoUHJvdmlkZXKUk5QpgZQu"
    ),
}
"""``__provider`` as release 0.1.0 wrote it into the state, by the dotted path of each provider class."""

TODAY = {
    "components.palette.PackRegistryProvider": PackRegistryProvider,
    "components.packs.PackProvider": PackProvider,
    "components.readiness.ReadinessGateProvider": ReadinessGateProvider,
    "components.bcrypt_hash.BcryptHashProvider": BcryptHashProvider,
}

# What the provider host does with the state's string, in an interpreter that has imported nothing yet; the file
# that defines each class's methods says which code it found.
UNPICKLE = textwrap.dedent(
    """
    import base64, json, sys
    import dill

    found = {}
    for path, serialized in json.loads(sys.stdin.read()).items():
        provider = dill.loads(base64.b64decode(serialized))
        cls = type(provider)
        found[path] = {"file": cls.create.__code__.co_filename, "name": cls.__qualname__, "state": vars(provider)}
    print(json.dumps(found))
    """
)


def test_the_recorded_strings_name_those_paths() -> None:
    """A module and a class name, pickled apart (``STACK_GLOBAL``): nothing else, no code, no state."""
    for path, serialized in SERIALIZED.items():
        module, name = path.rsplit(".", 1)
        raw = base64.b64decode(serialized)
        assert module.encode() in raw and name.encode() in raw, path
        assert len(raw) < 80, path


def test_a_fresh_interpreter_unpickles_what_existing_stacks_hold() -> None:
    done = subprocess.run(
        [sys.executable, "-c", UNPICKLE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        input=json.dumps(SERIALIZED),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for path, cls in TODAY.items():
        assert found[path] == {"file": cls.create.__code__.co_filename, "name": cls.__qualname__, "state": {}}, path


@pytest.mark.parametrize("path", sorted(TODAY))
def test_today_s_providers_pickle_as_existing_stacks_hold_them(path: str) -> None:
    """The same bytes: a `pulumi up` after an upgrade finds every ``__provider`` input unchanged."""
    assert serialize_provider(TODAY[path]()) == SERIALIZED[path]
    assert type(dill.loads(base64.b64decode(SERIALIZED[path]))) is TODAY[path]
