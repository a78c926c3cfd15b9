"""Packs as code: the pack directories the stack publishes, checked before any resource exists.

A pack is a directory holding ``pack.json``, ``values.yaml`` (may be empty), ``logo.png``, ``README.md``,
``manifests/`` or ``charts/``, and optionally ``presets.yaml`` and ``schema.yaml`` (docs/packs.md). Palette reads it
at ``<baseContentPath>/spectro-packs/archive/<name>:<version>``, so ``name`` must be a repository path component
and ``version`` a tag (``components/oci_reference.py``). ``pack.json``, ``presets.yaml`` and ``schema.yaml`` are
checked against the schemas written from Spectro's documentation (``file_shapes``); what the pack is made of is
the one walk of its directory (``walker``), which leaves out VCS and OS metadata and what ``.packignore`` names.

Every refusal is one line naming ``packs``, the pack's directory, the file and the field; a missing ``logo.png``
or ``README.md`` is only a warning (Palette shows the pack without them).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config import values_yaml
from components.config.source import ConfigError, Raw
from components.kinds import RegistryKind
from components.oci_reference import is_path_component, is_tag
from components.packs import accepted_values, file_shapes
from components.packs.walker import PACKIGNORE, PackIgnoreError, exclusions, walk

__all__ = ["PackSource", "parse_packs"]

KEY = "packs"


@dataclass(frozen=True)
class PackSource:
    """One pack directory, checked."""

    directory: Path
    """The pack directory, absolute and resolved."""
    entry: str
    """The directory as the stack's ``packs`` list spells it (for messages)."""
    name: str
    """``pack.json`` ``name``: the repository's last path component."""
    version: str
    """``pack.json`` ``version``: the tag."""
    display_name: str
    layer: str
    """kernel | os | k8s | cni | csi | addon."""

    @property
    def archive_name(self) -> str:
        """The layer's title, as ``tar -czf NAME-VERSION.tar.gz DIR`` names it."""
        return f"{self.name}-{self.version}.tar.gz"


def _refuse(entry: str, file: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(KEY, f"pack directory '{entry}': {file} {problem}", fix)


def _pack_json(entry: str, directory: Path) -> dict[str, Any]:
    path = directory / "pack.json"
    if not path.is_file():
        raise _refuse(
            entry, "pack.json", "is missing", "Every pack needs a pack.json with name, displayName, version, layer."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _refuse(entry, "pack.json", f"is not valid JSON ({exc})", "Fix the JSON syntax.") from None
    if not isinstance(data, dict):
        raise _refuse(entry, "pack.json", "is not a JSON object", 'Write it as {"name": ..., "version": ...}.')
    try:
        file_shapes.check_pack_json(data)
    except file_shapes.ShapeProblem as problem:
        raise _refuse(entry, problem.file, problem.problem, problem.fix) from None
    if not is_path_component(data["name"]):
        raise _refuse(
            entry,
            "pack.json",
            f"has name '{data['name']}', which cannot be a repository path component",
            "Use lower-case letters and digits, separated by single '.', '_', '__' or '-'.",
        )
    if not is_tag(data["version"]):
        raise _refuse(
            entry,
            "pack.json",
            f"has version '{data['version']}', which is not a valid tag",
            "Use at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-' (e.g. 1.0.0).",
        )
    return data


def _check_values(entry: str, directory: Path) -> None:
    path = directory / "values.yaml"
    if not path.is_file():
        raise _refuse(entry, "values.yaml", "is missing", "Add one (it may be empty).")
    try:
        text = path.read_text(encoding="utf-8")
        if accepted_values.is_accepted(text):
            return
        values = values_yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise _refuse(entry, "values.yaml", f"is not valid YAML ({detail})", "Fix the YAML syntax.") from None
    except RecursionError:
        # PyYAML's pure loader recurses once per level of nesting (components/config/values_yaml.py).
        raise _refuse(entry, "values.yaml", "is nested too deeply to read", "Flatten it.") from None
    if values is not None and not isinstance(values, dict):
        raise _refuse(entry, "values.yaml", "is not a YAML mapping", "Write keys and values (or leave it empty).")
    accepted_values.remember(text)


def _walk(entry: str, directory: Path) -> list[tuple[str, str, os.stat_result]]:
    """What the archive carries: the pack directory's one walk (``walker``), without what it leaves out."""
    try:
        excluded = exclusions(str(directory))
    except PackIgnoreError as error:
        raise _refuse(entry, PACKIGNORE, error.problem, error.fix) from None
    try:
        return list(walk(str(directory), excluded))
    except OSError as error:  # a folder this user cannot list or enter
        name = os.path.relpath(error.filename, directory) if error.filename else "a folder"
        raise _refuse(entry, name, f"cannot be read ({error.strerror})", "Make it readable by this user.") from None


def _check_kept(entry: str, directory: Path, walked: list[tuple[str, str, os.stat_result]]) -> set[str]:
    """Refuse a pack whose exclusions leave out what Palette reads; what is kept (relative paths)."""
    kept = {relative for _, relative, _status in walked}
    for required in ("pack.json", "values.yaml"):
        if required not in kept:
            raise _refuse(
                entry,
                required,
                f"is left out by {PACKIGNORE}",
                f"Remove the pattern that matches it from {PACKIGNORE}.",
            )
    present = [name for name in ("manifests", "charts") if (directory / name).is_dir()]
    if not any(name in kept for name in present):
        if present:
            raise _refuse(
                entry,
                f"{present[0]}/",
                f"is left out by {PACKIGNORE}",
                f"Remove the pattern that matches it from {PACKIGNORE}.",
            )
        raise _refuse(entry, "manifests/ or charts/", "is missing", "Put the pack's manifests or Helm charts there.")
    return kept


def _check_content(entry: str, directory: Path, data: dict[str, Any], kept: set[str]) -> None:
    """Every ``kubeManifests`` entry a file inside the pack, every ``charts`` entry a file (the chart archive
    Spectro documents) or a directory inside it, and part of what is published. The schema has checked both are
    lists of non-empty strings."""
    plain_dirs: set[str] = set()
    for field, what in (("kubeManifests", "file"), ("charts", "chart")):
        for item in data.get(field) or ():
            if _plain_file(directory, item, plain_dirs):
                relative = item
            else:
                target = (directory / item).resolve()
                if not target.is_relative_to(directory) or not (
                    target.is_file() or (what == "chart" and target.is_dir())
                ):
                    raise _refuse(
                        entry,
                        item,
                        f"(listed in pack.json {field}) does not exist",
                        f"Add the {what} or fix the entry.",
                    )
                relative = target.relative_to(directory).as_posix()
            if relative not in kept:
                raise _refuse(
                    entry,
                    item,
                    f"(listed in pack.json {field}) is left out by {PACKIGNORE}",
                    f"Remove the pattern that matches it from {PACKIGNORE}.",
                )


def _check_optional_files(entry: str, directory: Path, kept: set[str]) -> None:
    """``presets.yaml`` and ``schema.yaml``, when the pack has them, in the shapes Spectro documents."""
    for name, check in (("presets.yaml", file_shapes.check_presets), ("schema.yaml", file_shapes.check_schema_yaml)):
        if name not in kept:
            continue
        try:
            check((directory / name).read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise _refuse(entry, name, "is not UTF-8 text", "Save it as UTF-8.") from None
        except IsADirectoryError:
            raise _refuse(entry, name, "is a directory", "Make it a YAML file, or remove it.") from None
        except file_shapes.ShapeProblem as problem:
            raise _refuse(entry, problem.file, problem.problem, problem.fix) from None


def _plain_file(directory: Path, item: str, plain_dirs: set[str]) -> bool:
    """Whether ``item`` reaches a regular file through directories only: no symlink, no '.' or '..', so it
    resolves to itself inside ``directory`` (already resolved). The quick answer for the common case: a
    pack lists dozens of manifests, and resolving each walks every component of its absolute path."""
    parts = item.split("/")
    if "\0" in item or any(part in ("", ".", "..") for part in parts):
        return False
    path = str(directory)
    try:
        for part in parts[:-1]:
            path = os.path.join(path, part)
            if path not in plain_dirs:
                if not stat.S_ISDIR(os.lstat(path).st_mode):
                    return False
                plain_dirs.add(path)
        return stat.S_ISREG(os.lstat(os.path.join(path, parts[-1])).st_mode)
    except OSError:
        return False


def _check_tree(entry: str, directory: Path, walked: list[tuple[str, str, os.stat_result]]) -> None:
    """Refuse what the archive cannot carry faithfully: a symlink leaving the pack, a device or a pipe, a file this
    user cannot read."""
    # The archive's own walk (plain strings rather than Paths: thousands of entries per run, and only a symlink
    # needs resolving), so what is checked is exactly what is archived.
    user = os.getuid()
    for path, relative, status in walked:
        try:
            relative.encode("utf-8")
        except UnicodeEncodeError:
            raise _refuse(
                entry,
                relative.encode("utf-8", "backslashreplace").decode(),
                "has a name that is not UTF-8 (a tar of it would not unpack alike everywhere)",
                "Rename it.",
            ) from None
        mode = status.st_mode
        if stat.S_ISLNK(mode):
            _check_link(entry, directory, Path(path), relative)
        elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise _refuse(entry, relative, "is neither a file, a directory nor a symlink", "Remove it.")
        elif stat.S_ISREG(mode) and not _readable(path, status, user):
            # The digest, worked out once the program returned, would fail on it after the stack is registered.
            raise _refuse(entry, relative, "cannot be read by this user", "Make it readable by this user.")


def _readable(path: str, status: os.stat_result, user: int) -> bool:
    """Whether this user can read the file: its owner's read bit answers for the owner without a system call (the
    owner's ACL entry is those bits, acl(5)); root and anyone else ask ``access``. Most pack files are the user's
    own."""
    if status.st_uid == user and user != 0:  # root reads whatever the bits say
        return bool(status.st_mode & stat.S_IRUSR)
    return os.access(path, os.R_OK)


def _check_link(entry: str, directory: Path, path: Path, relative: str) -> None:
    target = os.readlink(path)
    try:
        resolved = path.resolve(strict=False)
    except (RuntimeError, OSError):
        raise _refuse(entry, relative, f"is a symlink to '{target}' that loops", "Remove it.") from None
    if os.path.isabs(target) or not resolved.is_relative_to(directory):
        raise _refuse(
            entry,
            relative,
            f"is a symlink to '{target}', which leaves the pack directory",
            "Copy the file into the pack, or link with a relative path inside it.",
        )


def _pack(entry: str, project_dir: Path | None) -> tuple[PackSource, list[str]]:
    if not entry:
        raise ConfigError(KEY, "has an empty entry", "Remove it, or name a pack directory.")
    if project_dir is None and not Path(entry).is_absolute():
        raise _refuse(
            entry,
            entry,
            "is relative, and there is no project directory to read it from",
            "Give the pack directory's absolute path.",
        )
    try:
        directory = ((project_dir or Path("/")) / entry).resolve()
    except (RuntimeError, OSError) as error:
        raise _refuse(entry, entry, f"cannot be resolved ({type(error).__name__})", "Fix the path.") from None
    if not directory.is_dir():
        raise _refuse(entry, str(directory), "is not a directory", "List pack directories relative to the project.")
    data = _pack_json(entry, directory)
    _check_values(entry, directory)
    walked = _walk(entry, directory)
    kept = _check_kept(entry, directory, walked)
    _check_content(entry, directory, data, kept)
    _check_optional_files(entry, directory, kept)
    _check_tree(entry, directory, walked)
    warnings = [
        # A file .packignore leaves out is named as such: "missing" would send the user looking at a file that is there.
        f"packs: pack directory '{entry}': {name} is "
        f"{'left out by ' + PACKIGNORE if (directory / name).is_file() else 'missing'}: {consequence}."
        for name, consequence in (
            ("logo.png", "Palette shows the pack without a logo"),
            ("README.md", "Palette shows the pack without its description"),
        )
        if name not in kept or not (directory / name).is_file()
    ]
    source = PackSource(
        directory=directory,
        entry=entry,
        name=data["name"],
        version=data["version"],
        display_name=data["displayName"],
        layer=data["layer"],
    )
    return source, warnings


def parse_packs(raw: Raw, project_dir: Path | None, kind: RegistryKind) -> tuple[tuple[PackSource, ...], list[str]]:
    """The packs the stack publishes (``packs``: directories relative to ``project_dir`` or absolute; only
    absolute ones without a ``project_dir``), and what to warn about. Raises ``ConfigError`` at the first
    refusal."""
    entries = raw.strings(KEY)
    if not entries:
        return (), []
    refusal = kind.packs_refusal()
    if refusal is not None:
        raise ConfigError(*refusal)
    sources: list[PackSource] = []
    warnings: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for entry in entries:
        source, pack_warnings = _pack(entry, project_dir)
        other = seen.get((source.name, source.version))
        if other is not None:
            raise _refuse(
                entry,
                "pack.json",
                f"has name '{source.name}' and version '{source.version}', as pack directory '{other}' does",
                "Give each pack its own name or version: both would be pushed to the same tag.",
            )
        seen[(source.name, source.version)] = entry
        sources.append(source)
        warnings.extend(pack_warnings)
    return tuple(sources), warnings
