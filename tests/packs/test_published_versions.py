"""A published version never changes silently: changed files under the same name and version fail the Pack's check
(so `pulumi preview` stops, naming the pack, the version, the changed files and the fix), a new pack is not pushed
over a tag that holds another manifest, and with ``allow_overwrite`` (packsAllowOverwrite, Spectro's ``--force``)
both are pushed as before. A new version is a new resource: it is published, and the old one's delete removes the
old tag (tests/integration/test_pack_versions.py, on a real registry).

The engine calls ``Check`` with the resource's old inputs for an update, and with none for a create or a replacement
(pulumi/pulumi pkg/resource/deploy/step_generator.go ``generateSteps``: ``OldInputs`` only when the resource is
not being re-created, replaced or new); the SDK's dynamic provider host hands them to ``check(olds, news)``
(sdk/python/lib/pulumi/dynamic/__main__.py ``Check``). So the state's inputs, with their files map, are there to
name the changed files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from components.packs import PackProvider
from components.packs.archive import pack_content
from tests.support.grpc_support import provider_host, struct
from tests.support.oci_scripted import Scripted, scripted_registry
from tests.support.paths import ROOT, SAMPLE_PACK

USER, PASSWORD = "admin", "Scripted-Pw-1"
URN = "urn:pulumi:dev::palette-pack-registry::pulumi-python:dynamic/packs:Pack::pack-hello-universe@1.0.0"


def copy_sample(tmp_path: Path) -> Path:
    pack = tmp_path / "hello-universe"
    shutil.copytree(SAMPLE_PACK, pack)
    return pack


def props(pack: Path, url: str = "https://127.0.0.1:9", **overrides: Any) -> dict[str, Any]:
    content = pack_content(pack)
    values: dict[str, Any] = {
        "pack_dir": str(pack),
        "name": "hello-universe",
        "version": "1.0.0",
        "content_digest": content.content_digest,
        "files": content.files,
        "registry_url": url,
        "server_name": None,
        "ca_certificate": None,
        "repository": "packs/spectro-packs/archive",
        "username": USER,
        "password": PASSWORD,
    }
    values.update(overrides)
    return values


def set_version(pack: Path, version: str) -> None:
    text = (pack / "pack.json").read_text().replace('"version": "1.0.0"', f'"version": "{version}"')
    (pack / "pack.json").write_text(text)


def test_changed_files_under_the_same_version_fail_the_check_naming_pack_version_files_and_fix(tmp_path: Path) -> None:
    pack = copy_sample(tmp_path)
    olds = props(pack)
    (pack / "values.yaml").write_text("replicas: 2\n")
    (pack / "manifests" / "extra.yaml").write_text("kind: ConfigMap\n")

    failures = PackProvider().check(olds, props(pack)).failures

    (failure,) = failures
    assert failure.property == ""
    assert "\n" not in failure.reason
    assert failure.reason.startswith("pack hello-universe:1.0.0 is already published with other files")
    assert "(manifests/extra.yaml, values.yaml)" in failure.reason
    assert f'bump "version" in {pack}/pack.json' in failure.reason
    assert "`pulumi config set packsAllowOverwrite true`" in failure.reason
    assert "--force" in failure.reason


def test_with_the_opt_in_changed_files_pass_the_check(tmp_path: Path) -> None:
    pack = copy_sample(tmp_path)
    olds = props(pack)
    (pack / "values.yaml").write_text("replicas: 2\n")

    assert PackProvider().check(olds, props(pack, allow_overwrite=True)).failures == []


@pytest.mark.parametrize(
    "change",
    [
        "a new pack",
        "a new version",
        "the same files at another address",
        "the same files in another checkout, with .git",
        "only the opt-in switched",
    ],
)
def test_what_publishes_no_other_content_under_a_published_tag_passes_the_check(tmp_path: Path, change: str) -> None:
    pack = copy_sample(tmp_path)
    olds = props(pack)
    if change == "a new pack":
        olds = {}
    elif change == "a new version":
        (pack / "values.yaml").write_text("replicas: 2\n")
        set_version(pack, "1.0.1")
    elif change == "the same files in another checkout, with .git":
        other = copy_sample(tmp_path / "clone")
        (other / ".git").mkdir()
        (other / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        pack = other

    news = props(
        pack,
        url="https://registry.example.com" if change == "the same files at another address" else "https://127.0.0.1:9",
        version="1.0.1" if change == "a new version" else "1.0.0",
        allow_overwrite=True if change == "only the opt-in switched" else None,
    )

    assert PackProvider().check(olds, news).failures == []
    if olds and change != "a new version":
        assert PackProvider().diff("id", olds, news).changes is (change == "the same files at another address")


@pytest.mark.parametrize("which", ["a state without a files map", "files not known yet"])
def test_without_both_files_maps_the_refusal_names_its_files(tmp_path: Path, which: str) -> None:
    pack = copy_sample(tmp_path)
    olds = {**props(pack), "files": None} if which == "a state without a files map" else props(pack)
    (pack / "values.yaml").write_text("replicas: 2\n")
    news = props(pack) if which == "a state without a files map" else {**props(pack), "files": rpc.UNKNOWN}

    (failure,) = PackProvider().check(olds, news).failures

    assert "with other files than the pack directory holds now (its files)" in failure.reason


def test_the_provider_host_fails_check_as_the_engine_sees_it(tmp_path: Path) -> None:
    """Through the SDK's own provider host, over gRPC, with the old inputs as the engine sends them: the failure
    is in the CheckResponse (the engine then fails the preview, printing the reason)."""
    pack = copy_sample(tmp_path)
    provider = serialize_provider(PackProvider())
    olds = struct({**props(pack), "__provider": provider})
    (pack / "values.yaml").write_text("replicas: 2\n")
    news = struct({**props(pack), "__provider": provider})

    with provider_host(ROOT, dict(os.environ), tmp_path / "host.stderr") as (_process, stub):
        refused = stub.Check(provider_pb2.CheckRequest(urn=URN, olds=olds, news=news))
        allowed = stub.Check(
            provider_pb2.CheckRequest(
                urn=URN, olds=olds, news=struct({**props(pack, allow_overwrite=True), "__provider": provider})
            )
        )

    assert [failure.reason.split(" (")[0] for failure in refused.failures] == [
        "pack hello-universe:1.0.0 is already published with other files than the pack directory holds now"
    ]
    assert list(allowed.failures) == []


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    with scripted_registry() as state:
        yield state


def test_a_new_pack_is_not_pushed_over_a_tag_holding_another_manifest(scripted: Scripted, tmp_path: Path) -> None:
    """Someone else's push (an existing registry, ociEndpoint), or this version published from other files by a
    stack that lost its state: the create asks what the tag holds, and pushes nothing."""
    other = copy_sample(tmp_path / "theirs")
    (other / "values.yaml").write_text("theirs: true\n")
    PackProvider().create(props(other, scripted.url))
    theirs = dict(scripted.manifests)
    scripted.requests.clear()
    pack = copy_sample(tmp_path)

    with pytest.raises(RuntimeError) as raised:
        PackProvider().create(props(pack, scripted.url))

    message = str(raised.value)
    assert message.startswith("pack hello-universe:1.0.0 is not published: the registry already holds ")
    assert "/packs/spectro-packs/archive/hello-universe:1.0.0 with other content (manifest sha256:" in message
    assert "which this stack did not push" in message and "packsAllowOverwrite" in message
    assert [method for method, *_ in scripted.requests] == ["HEAD"]
    assert scripted.manifests == theirs


def test_a_new_pack_over_the_same_manifest_or_with_the_opt_in_is_pushed(scripted: Scripted, tmp_path: Path) -> None:
    pack = copy_sample(tmp_path)
    first = PackProvider().create(props(pack, scripted.url))

    again = PackProvider().create(props(pack, scripted.url))  # the same files: the same manifest
    (pack / "values.yaml").write_text("replicas: 2\n")
    forced = PackProvider().create(props(pack, scripted.url, allow_overwrite=True))

    assert again.outs["manifest_digest"] == first.outs["manifest_digest"]
    assert forced.outs["manifest_digest"] != first.outs["manifest_digest"]
    path = "/v2/packs/spectro-packs/archive/hello-universe/manifests/1.0.0"
    assert [method for method, request, *_ in scripted.requests if request == path].count("PUT") == 3


def test_the_first_up_after_the_exclusions_arrived_does_not_refuse_a_pack_that_carried_now_excluded_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stack published before the walker left VCS/OS metadata and editor backups out (7e563f0) holds them in its
    state's files map and content digest. The upgrade alone drops them from the pack: that is not the user changing
    a published version, so the first `pulumi up` after upgrading pushes the pack without them rather than refuse
    it (a user's own change alongside them is still refused)."""
    import pathspec

    from components.packs import archive, walker

    pack = copy_sample(tmp_path)
    (pack / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (pack / "values.yaml~").write_text("replicas: 0\n")
    (pack / ".git").mkdir()
    (pack / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    nothing = pathspec.GitIgnoreSpec.from_lines([])
    everything = walker.Exclusions(spec=nothing, always=nothing)
    with monkeypatch.context() as before_the_upgrade:
        before_the_upgrade.setattr(archive, "walk", lambda directory: walker.walk(directory, everything))
        olds = props(pack)
    assert ".DS_Store" in olds["files"]
    news = props(pack)
    assert news["content_digest"] != olds["content_digest"]

    assert PackProvider().check(olds, news).failures == []
    assert PackProvider().diff("id", olds, news).changes is True

    (pack / "values.yaml").write_text("replicas: 2\n")
    (failure,) = PackProvider().check(olds, props(pack)).failures
    assert "(.DS_Store, .git/HEAD, values.yaml, values.yaml~)" in failure.reason


def test_a_pack_moved_to_a_folder_of_another_name_is_refused_naming_the_folder(tmp_path: Path) -> None:
    """The archive's top folder is named like the pack directory (archive.py), so the same files under another
    folder name are another layer under the same tag: the refusal says so rather than 'file modes or layout'."""
    pack = copy_sample(tmp_path)
    olds = props(pack)
    moved = pack.rename(tmp_path / "hello")

    (failure,) = PackProvider().check(olds, props(moved)).failures

    assert "(the archive's top folder: hello-universe, now hello)" in failure.reason
    assert "\n" not in failure.reason
