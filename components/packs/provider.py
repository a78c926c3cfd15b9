"""One custom pack published to an OCI registry, as a Pulumi dynamic resource.

``Pack`` is what a program declares for each checked pack directory (``directory``); ``PackProvider``
builds the layer (``archive``) and talks to the registry (``oci_client``); ``inputs`` holds the
inputs' checks and what a change to each means. Pulumi pickles the provider
with dill into the state and runs it in its own process: it has no ``__init__`` and keeps nothing on
``self``; every method builds its client when it runs.

The program computes the pack's content digest and files map on every run (no compression, so it is
cheap), and those are inputs: ``pulumi preview`` shows which files changed. ``create`` and ``update`` build
the archive again and refuse when its content differs from those inputs (the files changed after the
preview), then push ``<repository>/<name>:<version>``.

- ``diff``: new files (content digest) or a manifest changed out of band = update, the same tag pushed again;
  a new name, version, repository or registry URL = replacement, created first (the new tag is pushed,
  then the old manifest deleted). Only a new registry URL for the same repository, name and version is
  deleted first: the URL may be another address of the same registry, and the old resource's delete would
  then remove the manifest just pushed.
- ``read_only`` (the registry is read-only for maintenance, ``maintenanceReadOnly``): ``check`` fails a pack that
  would be pushed, so the preview of `pulumi up` stops before anything changes; a switch of the mode alone is no
  change.
- A published version never changes silently: ``check`` fails a pack whose files changed while its name, version
  and repository did not (the state's files map names the changed files), so the preview stops; ``create`` refuses a
  tag that already holds another manifest (which this stack did not push) before pushing anything. With
  ``allow_overwrite`` (``packsAllowOverwrite``, Spectro's ``--force``) both are pushed; a switch alone is no change.
- ``delete``: deletes the manifest the tag points at (404: already gone). A registry that cannot be reached
  (``components.dynamic.unreachable``) fails it with one line naming the opt-in, or, with ``delete_unreachable`` (or
  the environment variable), releases the pack from the state with a warning that its tag may remain.
- ``read`` (refresh): a manifest deleted out of band makes the resource gone; one overwritten out of band
  shows its live digest in ``manifest_digest``, which ``diff`` then sees as a change to push again. A
  registry that cannot be reached keeps the last-known state, with one warning per registry.

Inputs   pack_dir, name, version, content_digest, files, registry_url, server_name, ca_certificate,
         repository, username, password (secret), store, delete_unreachable, read_only, allow_overwrite
Outputs  the inputs, plus reference, manifest_digest, layer_digest, layer_size, push_id
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from components.dynamic.unreachable import keep_on_refresh, recently_unreachable, release_or_fail
from components.dynamic.values import is_unknown, with_defaults
from components.packs.archive import Archive, build_archive
from components.packs.inputs import (
    DEFAULTS,
    OUTPUTS,
    PUSH_ON,
    RECORD_ON,
    REPLACE_ON,
    changed_files,
    check_inputs,
    inputs_with_defaults,
    manifest_digest,
    overwrite_refusal,
    publishes,
    pushed_manifest_digest,
    read_only_refusal,
    taken_tag_refusal,
)
from components.packs.oci_client import OciClient, OciError, OciTarget

__all__ = ["Pack", "PackProvider"]

log = logging.getLogger(__name__)


def _client(props: Mapping[str, Any]) -> OciClient:
    return OciClient(
        OciTarget(
            registry_url=str(props["registry_url"]),
            username=str(props["username"]),
            password=str(props["password"]),
            server_name=props.get("server_name") or None,
            ca_certificate=props.get("ca_certificate") or None,
        )
    )


def _reference(props: Mapping[str, Any]) -> str:
    return f"{urlsplit(str(props['registry_url'])).netloc}/{props['repository']}/{props['name']}:{props['version']}"


def _registry(props: Mapping[str, Any]) -> str:
    """How messages name the registry: by the URL this machine reaches it at."""
    return f"the registry at {props['registry_url']}"


def _store(props: Mapping[str, Any]) -> str:
    """Where the registry keeps a pack's tag (``store``: a volume, a host path, a bucket, an existing registry)."""
    store = str(props.get("store") or "")
    if store.startswith("s3://"):
        return f"the S3 bucket {store}"
    if store.startswith(("https://", "http://")):
        return f"the registry {store}"
    if store.startswith("/"):
        return f"the host path {store}"
    if store:
        return f"the data volume {store}"
    return "the registry's storage"


def _archive(inputs: Mapping[str, Any]) -> Archive:
    """The layer, refused when the files are no longer those the program saw."""
    directory = Path(str(inputs["pack_dir"]))
    archive = build_archive(directory)
    if archive.content_digest != inputs["content_digest"]:
        raise RuntimeError(
            f"pack {inputs['name']}:{inputs['version']}: the files in {directory} changed since the program read "
            f"them ({changed_files(inputs.get('files') or {}, archive.files)}): run `pulumi up` again to publish what "
            "is there now"
        )
    return archive


def _check_tag_is_free(inputs: Mapping[str, Any], archive: Archive) -> None:
    """Refuse a new pack whose tag already holds another manifest: someone else's push (on an existing registry,
    ``ociEndpoint``), or a version published from other files by a stack that lost its state. The same manifest
    (the same files pushed again) is no conflict."""
    repository = f"{inputs['repository']}/{inputs['name']}"
    live = _client(inputs).manifest_digest(repository, str(inputs["version"]))
    ours = manifest_digest(archive.digest, archive.size, str(inputs["name"]), str(inputs["version"]))
    if live is not None and live != ours:
        raise RuntimeError(taken_tag_refusal(inputs, _reference(inputs), live))


def _push(inputs: Mapping[str, Any], *, new: bool = False) -> dict[str, Any]:
    """Push the pack; a ``new`` one (a create) only to a tag that is free or holds the same manifest, unless
    ``allow_overwrite``."""
    if inputs.get("read_only") is True:
        # ``check`` refuses this already (in the preview of `pulumi up`); a push found only here (a manifest a
        # refresh found overwritten, or `pulumi up --skip-preview`) is refused the same way, before any request.
        raise RuntimeError(read_only_refusal(inputs))
    archive = _archive(inputs)
    if new and inputs.get("allow_overwrite") is not True:
        _check_tag_is_free(inputs, archive)
    repository = f"{inputs['repository']}/{inputs['name']}"
    log.info("pack %s: pushing %s (%d bytes)", _reference(inputs), archive.digest, archive.size)
    pushed = _client(inputs).push_pack(
        repository, str(inputs["version"]), archive.data, f"{inputs['name']}-{inputs['version']}.tar.gz"
    )
    return {
        **inputs,
        "reference": _reference(inputs),
        "manifest_digest": pushed.manifest_digest,
        "layer_digest": pushed.layer_digest,
        "layer_size": pushed.layer_size,
        # New with every push, so what depends on it (Palette's sync) learns of a push that changed no
        # digest (a manifest restored after someone deleted or overwrote it).
        "push_id": secrets.token_hex(8),
    }


class PackProvider(ResourceProvider):
    """Push, read and delete one pack's manifest in an OCI registry."""

    # Pickled by reference into state as ``components.packs.{class name}`` (tests/program/test_state_unpickles.py):
    # the path stays, so existing stacks unpickle it and a new pickle is byte for byte the one they hold.
    __module__ = "components.packs"

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = with_defaults(news, DEFAULTS)
        failures = check_inputs(inputs)
        if inputs["read_only"] is True and publishes(olds, inputs):
            # The registry is read-only for maintenance: fail the preview of `pulumi up`, before any change, rather
            # than have the registry refuse the push halfway through the update.
            failures.append(CheckFailure("", read_only_refusal(inputs)))
        overwrite = overwrite_refusal(olds, inputs)
        if overwrite is not None:
            # Changed files under the name and version the state says were published: fail the preview, before
            # the same tag is pushed with other content under the clusters that use it (Spectro's CLI refuses it
            # too, unless told --force).
            failures.append(CheckFailure("", overwrite))
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = inputs_with_defaults(olds), inputs_with_defaults(news)

        def differs(key: str) -> bool:
            return is_unknown(new.get(key)) or new.get(key) != old.get(key)

        replaces = [key for key in REPLACE_ON if differs(key)]
        changed = [key for key in (*PUSH_ON, *RECORD_ON) if differs(key)]
        expected = pushed_manifest_digest(olds)
        if expected is not None and olds.get("manifest_digest") != expected:
            # A refresh found another manifest under the tag: push ours again.
            changed.append("manifest_digest")
        return DiffResult(
            changes=bool(replaces or changed),
            replaces=replaces,
            stables=[],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        outputs = _push(inputs_with_defaults(props), new=True)
        return CreateResult(outputs["reference"], outputs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = inputs_with_defaults(news)
        expected = pushed_manifest_digest(olds)
        drifted = expected is not None and olds.get("manifest_digest") != expected
        old = inputs_with_defaults(olds)
        if not drifted and all(inputs[key] == old.get(key) for key in PUSH_ON):
            # Only how the registry is reached changed: nothing to push.
            return UpdateResult({**inputs, **{key: olds.get(key) for key in OUTPUTS}, "reference": _reference(inputs)})
        outputs = _push(inputs)
        previous = expected if expected is not None else olds.get("manifest_digest")
        same_registry = inputs["registry_url"] == old.get("registry_url") and inputs["store"] == old.get("store")
        if same_registry and previous and previous != outputs["manifest_digest"]:
            # The old manifest lost its tag; remove it rather than leave it behind untagged. Only a clean-up:
            # the push is done, so a registry that refuses deletes (405) or fails leaves it, with a warning.
            try:
                _client(inputs).delete_manifest(f"{inputs['repository']}/{inputs['name']}", str(previous))
            except OciError as error:
                log.warning(
                    "pack %s: the old, untagged manifest %s is left in place: %s", _reference(inputs), previous, error
                )
        return UpdateResult(outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        repository = f"{props['repository']}/{props['name']}"
        endpoint = _registry(props)
        reason = recently_unreachable(endpoint)
        if reason is None:
            try:
                live = _client(props).manifest_digest(repository, str(props["version"]))
            except OciError as error:
                if error.unreachable is None:
                    raise
                reason = error.unreachable
        if reason is not None:
            keep_on_refresh(endpoint, reason, "its packs keep their last-known state")
            return ReadResult(id_, props)
        if live is None:
            log.info("pack %s: the manifest is gone from the registry", id_)
            return ReadResult("", {})
        return ReadResult(id_, {**props, "manifest_digest": live})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client = _client(props)
        repository = f"{props['repository']}/{props['name']}"
        endpoint = _registry(props)
        failed = None
        reason = recently_unreachable(endpoint)
        if reason is None:
            try:
                live = client.manifest_digest(repository, str(props["version"]))
                if live is None:
                    log.info("pack %s: already gone", id_)
                    return
                client.delete_manifest(repository, live)
            except OciError as error:
                if error.unreachable is None:
                    raise
                failed, reason = error, error.unreachable
        if reason is not None:
            release_or_fail(
                props,
                subject=f"pack {_reference(props)}",
                endpoint=endpoint,
                reason=reason,
                remains="its tag",
                where=_store(props),
                error=partial(
                    OciError,
                    method=failed.method if failed else "HEAD",
                    reference=failed.reference if failed else f"{repository}:{props['version']}",
                    status=failed.status if failed else None,
                    unreachable=reason,
                ),
            )
            return
        log.info("pack %s: deleted manifest %s", id_, live)


class Pack(Resource, module="packs", name="Pack"):
    """A custom pack published at ``<registry>/<repository>/<name>:<version>`` (type
    ``pulumi-python:dynamic/packs:Pack``). ``password`` is stored as a secret."""

    pack_dir: pulumi.Output[str]
    name: pulumi.Output[str]
    version: pulumi.Output[str]
    content_digest: pulumi.Output[str]
    """sha256 of the uncompressed tar of the pack (``archive.pack_content``)."""
    files: pulumi.Output[dict[str, str]]
    """Path inside the pack -> sha256 of the file: what the preview shows changing."""
    registry_url: pulumi.Output[str]
    server_name: pulumi.Output[str | None]
    ca_certificate: pulumi.Output[str | None]
    repository: pulumi.Output[str]
    username: pulumi.Output[str]
    password: pulumi.Output[str]
    reference: pulumi.Output[str]
    """``<registry_url host:port>/<repository>/<name>:<version>``, what was pushed (also the resource id)."""
    manifest_digest: pulumi.Output[str]
    """The manifest's digest as last pushed, or as a refresh found it."""
    layer_digest: pulumi.Output[str]
    """sha256 of the gzipped layer."""
    layer_size: pulumi.Output[int]
    store: pulumi.Output[str]
    """Where the registry keeps its data; a new one means a push."""
    delete_unreachable: pulumi.Output[bool]
    """A delete that cannot reach the registry releases the pack from the state (with a warning) instead of
    failing; a change is recorded, nothing is pushed."""
    read_only: pulumi.Output[bool]
    """The registry is read-only for maintenance: a push is refused before it starts; a switch is no change."""
    allow_overwrite: pulumi.Output[bool]
    """Changed files may overwrite the published version, and a new pack a tag this stack did not push (Spectro's
    ``--force``); a switch is no change."""
    push_id: pulumi.Output[str]
    """A fresh token for every push (a restored manifest too): what Palette's sync follows."""

    def __init__(
        self,
        resource_name: str,
        *,
        pack_dir: str,
        name: str,
        version: str,
        content_digest: pulumi.Input[str],
        files: pulumi.Input[Mapping[str, str]],
        registry_url: pulumi.Input[str],
        repository: pulumi.Input[str],
        username: pulumi.Input[str],
        password: pulumi.Input[str],
        server_name: pulumi.Input[str] | None = None,
        ca_certificate: pulumi.Input[str] | None = None,
        store: pulumi.Input[str] | None = None,
        delete_unreachable: bool = False,
        read_only: bool = False,
        allow_overwrite: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Publish one pack.

        :param pack_dir: the checked pack directory (``PackSource.directory``).
        :param name: ``pack.json`` name; a new one replaces the resource (new repository).
        :param version: ``pack.json`` version, the tag; a new one replaces the resource (new tag).
        :param content_digest: ``pack_content(pack_dir).content_digest``, computed by the program.
        :param files: ``pack_content(pack_dir).files``.
        :param registry_url: ``https://address[:port]`` this machine reaches the registry at.
        :param repository: ``<baseContentPath>/spectro-packs/archive``.
        :param username: the user that pushes (admin).
        :param password: that user's password; kept as a secret.
        :param server_name: the name TLS is verified for (None: the URL's host).
        :param ca_certificate: the PEM CA to trust (None: the system store).
        :param store: where the registry keeps its data (a volume, a path, a bucket): a new one holds nothing,
            so the pack is pushed again.
        :param delete_unreachable: let a delete that cannot reach the registry release the pack from the state,
            with a warning, rather than fail (config ``deleteUnreachable``).
        :param read_only: the registry is read-only for maintenance (config ``maintenanceReadOnly``): a pack that
            would be pushed fails its check, naming the key.
        :param allow_overwrite: changed files may be pushed under the same name and version, and a new pack to a
            tag that holds another manifest (config ``packsAllowOverwrite``); otherwise the first fails the check
            (the preview) and the second the create, each naming the fix.
        """
        props: dict[str, Any] = {
            "pack_dir": pack_dir,
            "name": name,
            "version": version,
            "content_digest": content_digest,
            "files": files if isinstance(files, pulumi.Output) else dict(files),
            "registry_url": registry_url,
            "server_name": server_name,
            "ca_certificate": ca_certificate,
            "repository": repository,
            "username": username,
            "password": pulumi.Output.secret(password),
            "store": store,
            # Only when on (None is dropped on the wire): a stack that leaves it off keeps the inputs it had.
            "delete_unreachable": True if delete_unreachable else None,
            "read_only": True if read_only else None,
            "allow_overwrite": True if allow_overwrite else None,
            **dict.fromkeys(OUTPUTS),
        }
        super().__init__(
            PackProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(
                    additional_secret_outputs=["password"],
                    # The old and the new resource of a replacement may publish the same manifest under the
                    # same tag (`pulumi up --replace`): deleting the old one afterwards would delete the new
                    # one's. The engine replaces create-first unless told (a targeted replace never asks the
                    # provider: pkg/resource/deploy/step_generator.go `diff`), so the option says it.
                    delete_before_replace=True,
                ),
            ),
        )
