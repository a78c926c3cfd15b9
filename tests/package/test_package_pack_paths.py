"""Review test: a relative ``packs`` entry passed to the package component from another Pulumi program.

The component resolves ``packs`` against ``PROJECT_FILE.parent`` (components/config/__init__.py
``parse_settings``: ``project_dir or PROJECT_FILE.parent``), which in the package is the package's own checkout
(where `pulumi package add` put this repository), not the calling program's directory. README ("Pack directories
by absolute path") tells users to pass absolute paths, but nothing enforces it: a relative entry that happens to
exist in the package's checkout (here the repository's own sample, ``tests/data/packs/hello-universe``) is published
into the user's registry without a word, and one that does not exist is refused with the program's fix ("List
pack directories relative to the project"), which points at the wrong project.
"""

from __future__ import annotations

import pytest
from pulumi.provider.server import ComponentInitError

from components.package import TYPE_TOKEN
from tests.support.package_support import run_package, stack_arguments


@pytest.mark.parametrize("entry", ["tests/data/packs/hello-universe", "packs/hello-universe"])
def test_a_relative_pack_directory_from_another_program_is_refused_asking_for_an_absolute_path(entry: str) -> None:
    arguments = {**stack_arguments("dev"), "registryKind": "oci", "packs": [entry]}
    with pytest.raises(ComponentInitError) as caught:
        run_package(arguments)
    message = str(caught.value.inner)
    assert message.startswith(f"{TYPE_TOKEN} argument 'packs':"), message
    assert "absolute" in message, message
