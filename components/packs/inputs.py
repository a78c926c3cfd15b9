"""The Pack's inputs: their defaults, their checks (every failure at once, unknown values allowed during a
preview), what a change to each means, and the digest of the manifest a state says was pushed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pulumi.dynamic import CheckFailure

from components.dynamic.values import InputCheck, is_unknown, with_defaults
from components.oci_reference import is_path_component, is_repository_path, is_sha256_digest, is_tag
from components.packs.oci_client import pack_manifest
from components.packs.walker import always_excluded
from components.project import PROJECT

__all__ = [
    "DEFAULTS",
    "INPUTS",
    "OUTPUTS",
    "PUSH_ON",
    "RECORD_ON",
    "REPLACE_ON",
    "changed_files",
    "check_inputs",
    "inputs_with_defaults",
    "manifest_digest",
    "overwrite_refusal",
    "publishes",
    "pushed_manifest_digest",
    "read_only_refusal",
    "taken_tag_refusal",
]

INPUTS = (
    "pack_dir",
    "name",
    "version",
    "content_digest",
    "files",
    "registry_url",
    "server_name",
    "ca_certificate",
    "repository",
    "username",
    "password",
    "store",
    "delete_unreachable",
    "read_only",
    "allow_overwrite",
)

OUTPUTS = ("reference", "manifest_digest", "layer_digest", "layer_size", "push_id")

REPLACE_ON = ("name", "version", "repository")

# What the registry holds, or where: a change is a push of the same tag. A new registry_url is the same
# registry at another address (a new port), or one that holds nothing yet; a new store (the registry's data
# volume or bucket) is an empty one. Neither is a replacement: its delete of "the old one" would go to an
# address that may be gone, or remove the push just made.
PUSH_ON = ("content_digest", "registry_url", "store")

# How the provider reaches the registry, and whether its delete may let go of a pack it cannot reach: a change
# is recorded, nothing is pushed. A state from before ``delete_unreachable`` has none: the default (False)
# makes it equal to inputs that leave it out, so an upgrade changes nothing.
RECORD_ON = ("files", "server_name", "ca_certificate", "username", "password", "delete_unreachable")

# ``pack_dir`` is not compared: another checkout of the same stack (a CI runner, a colleague's clone) holds
# the same files under another path, and the content digest already says whether they differ. Nor are
# ``read_only`` and ``allow_overwrite``: they say what the registry accepts now (maintenanceReadOnly) and what this
# run may overwrite (packsAllowOverwrite), not what the registry holds, so switching them pushes and records nothing.

DEFAULTS: dict[str, Any] = {
    "server_name": None,
    "ca_certificate": None,
    "files": {},
    "store": "",
    "delete_unreachable": False,
    "read_only": False,
    "allow_overwrite": False,
}


def inputs_with_defaults(props: Mapping[str, Any]) -> dict[str, Any]:
    return with_defaults({k: props.get(k) for k in INPUTS}, DEFAULTS)


def check_inputs(news: Mapping[str, Any]) -> list[CheckFailure]:
    check = InputCheck(news)
    for key in ("pack_dir", "username", "password"):
        check.text(key)
    name, version, repository = check.text("name"), check.text("version"), check.text("repository")
    if name is not None and not is_path_component(name):
        check.fail("name", f"'{name}' cannot be a repository path component")
    if version is not None and not is_tag(version):
        check.fail("version", f"'{version}' is not a valid tag")
    if repository is not None and not is_repository_path(repository):
        check.fail("repository", f"'{repository}' is not a repository path")
    digest = check.text("content_digest")
    if digest is not None and not is_sha256_digest(digest):
        check.fail("content_digest", f"'{digest}' is not sha256:<64 hex digits>")
    url = check.text("registry_url")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.username:
            check.fail("registry_url", f"'{url}' is not an https:// base URL")
    check.pem_certificate("ca_certificate")
    check.flag("delete_unreachable")
    check.flag("read_only")
    check.flag("allow_overwrite")
    files = news.get("files")
    if (
        check.known("files")
        and files is not None
        and not (
            isinstance(files, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
        )
    ):
        check.fail("files", "must map paths to sha256 digests")
    return check.failures


def manifest_digest(layer_digest: str, layer_size: int, name: str, version: str) -> str:
    """The digest of the manifest a push of this layer for ``name:version`` writes (``oci_client.push_pack``)."""
    manifest = pack_manifest(layer_digest, layer_size, f"{name}-{version}.tar.gz")
    return f"sha256:{hashlib.sha256(manifest).hexdigest()}"


def pushed_manifest_digest(olds: Mapping[str, Any]) -> str | None:
    """The digest of the manifest this resource pushed (from its layer), or None for an incomplete state."""
    if not olds.get("layer_digest") or olds.get("layer_size") is None:
        return None
    return manifest_digest(str(olds["layer_digest"]), int(olds["layer_size"]), str(olds["name"]), str(olds["version"]))


def publishes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """Whether going from ``olds`` (the inputs in the state; empty for a new pack) to ``news`` pushes: a new pack, a
    replacement, or a change the registry must hold (``diff``'s rules, without the drift only a refresh finds)."""
    if not olds:
        return True
    old, new = inputs_with_defaults(olds), inputs_with_defaults(news)
    return any(is_unknown(new.get(key)) or new.get(key) != old.get(key) for key in (*REPLACE_ON, *PUSH_ON))


def read_only_refusal(props: Mapping[str, Any]) -> str:
    """The one line a push to a registry in maintenance mode is refused with, before it starts."""
    return (
        f"pack {props.get('name')}:{props.get('version')} is not published: config key "
        f"'{PROJECT}:maintenanceReadOnly' is true, so the registry refuses pushes. Publish it after the maintenance: "
        "`pulumi config set maintenanceReadOnly false`, then `pulumi up`."
    )


_NO_PATH = "file modes or layout"


def _only_now_excluded(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether the only paths that differ are gone from ``new`` and left out of every pack (``walker.ALWAYS``)."""
    paths = [path for path in set(old) | set(new) if old.get(path) != new.get(path)]
    return bool(paths) and all(path not in new and always_excluded(path) for path in paths)


def changed_files(old: Mapping[str, Any], new: Mapping[str, Any], *, at_most: int = 5) -> str:
    """The paths whose digests differ between two files maps, for a message: ``a.yaml, b.yaml and 3 more``."""
    paths = sorted(path for path in set(old) | set(new) if old.get(path) != new.get(path))
    if not paths:
        return _NO_PATH
    shown = ", ".join(paths[:at_most])
    return shown if len(paths) <= at_most else f"{shown} and {len(paths) - at_most} more"


def _keep_published(props: Mapping[str, Any]) -> str:
    """The fix a refused overwrite names: a new version, or the opt-in."""
    return (
        f'A published version must not change under the clusters that use it: bump "version" in '
        f"{props.get('pack_dir')}/pack.json, or set `pulumi config set packsAllowOverwrite true` to overwrite it (as "
        "Spectro's `spectro pack push --force` does)."
    )


def overwrite_refusal(olds: Mapping[str, Any], news: Mapping[str, Any]) -> str | None:
    """The one line a pack is refused with when its files changed while its name and version did not, so that the
    same tag would be pushed with other content; None for any other change, or with ``allow_overwrite``. ``olds``:
    the inputs in the state (empty for a new pack), whose files map names the changed files."""
    if not olds or news.get("allow_overwrite") is True:
        return None
    old, new = inputs_with_defaults(olds), inputs_with_defaults(news)
    if any(is_unknown(new.get(key)) or new.get(key) != old.get(key) for key in REPLACE_ON):
        return None  # another tag: a new resource publishes it
    digest = new.get("content_digest")
    if is_unknown(digest) or digest == old.get("content_digest"):
        return None
    old_files, new_files = old.get("files"), new.get("files")
    known = isinstance(old_files, Mapping) and old_files and isinstance(new_files, Mapping)
    if known and _only_now_excluded(old_files, new_files):
        # A state from before the walker's exclusions (an upgrade): only metadata and backups the pack now leaves
        # out are gone, which is no change of the user's; the pack is pushed without them.
        return None
    files = changed_files(old_files, new_files) if known else "its files"
    old_top, new_top = Path(str(old.get("pack_dir"))).name, Path(str(new.get("pack_dir"))).name
    if known and files == _NO_PATH and old_top != new_top and not is_unknown(new.get("pack_dir")):
        files = f"the archive's top folder: {old_top}, now {new_top}"
    return (
        f"pack {news.get('name')}:{news.get('version')} is already published with other files than the pack "
        f"directory holds now ({files}). {_keep_published(news)}"
    )


def taken_tag_refusal(props: Mapping[str, Any], reference: str, live: str) -> str:
    """The one line a new pack is refused with when its tag already holds another manifest, which this stack did not
    push."""
    return (
        f"pack {props.get('name')}:{props.get('version')} is not published: the registry already holds {reference} "
        f"with other content (manifest {live}), which this stack did not push. {_keep_published(props)}"
    )
