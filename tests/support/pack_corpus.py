"""A deterministic corpus of pack directories shaped like real-world ones, for measuring the per-run pack work.

What a colleague measured on 220 real packs (11,185 files; ``values.yaml`` files holding 66,886 lines in all,
median 160, largest 5,697) is the shape: about 50 files a pack, half of them manifests packs
(``manifests/*.yaml``, listed in ``kubeManifests``) and half Helm chart packs (``charts/<chart>/`` with
``Chart.yaml``, ``values.yaml``, ``templates/``, sometimes a subchart whose paths pass tar's 100-byte name
field), a ``values.yaml`` whose line counts follow a log-normal spread (median ~160, a few of several
thousand), a small valid ``logo.png`` and a ``pack.json`` that ``components.packs.directory`` accepts.

The line counts are quantiles, not draws, so every corpus of the same size has the same totals; ``seed``
shuffles which pack gets which size and varies names, versions and content. The same arguments always
write the same bytes.
"""

from __future__ import annotations

import json
import math
import random
import struct
import zlib
from pathlib import Path
from statistics import NormalDist

__all__ = ["values_line_counts", "write_corpus"]

MEDIAN_VALUES_LINES = 160
SIGMA = 1.13
"""Log-normal spread of the values.yaml line counts: 220 packs give ~67k lines, median 160."""
LARGEST_FACTOR = 1.45
"""The largest values.yaml is a long tail of its own (5,697 lines among the measured 220)."""
MIN_VALUES_LINES = 12

_WORDS = (
    "alpha", "argo", "aurora", "beacon", "cert", "cilium", "cloud", "core", "dex", "edge", "falco", "flux",
    "gate", "grafana", "harbor", "helm", "istio", "jaeger", "kafka", "keda", "kube", "loki", "mesh", "metal",
    "minio", "nats", "nginx", "nova", "opa", "otel", "pilot", "portworx", "prom", "redis", "rook", "sealed",
    "spectro", "stack", "tempo", "thanos", "trivy", "vault", "velero", "vector", "zot",
)  # fmt: skip
_SUFFIXES = ("operator", "agent", "controller", "exporter", "ingress", "gateway", "csi", "proxy", "server", "stack")
_ADDON_TYPES = ("app services", "monitoring", "logging", "security", "load balancer", "ingress", "servicemesh")
_KINDS = ("Deployment", "Service", "ConfigMap", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret")
_IMAGES = ("ghcr.io", "quay.io", "docker.io", "registry.k8s.io", "gcr.io/spectro-images-public")


def values_line_counts(packs: int) -> list[int]:
    """The values.yaml line count of each pack, smallest first: log-normal quantiles around the median."""
    normal = NormalDist()
    counts = [
        max(MIN_VALUES_LINES, round(MEDIAN_VALUES_LINES * math.exp(SIGMA * normal.inv_cdf((k + 0.5) / packs))))
        for k in range(packs)
    ]
    counts[-1] = round(counts[-1] * LARGEST_FACTOR)
    return counts


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid RGB PNG of one colour with a lighter diagonal."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    light = bytes(min(255, c + 80) for c in rgb)
    rows = b"".join(b"\x00" + b"".join(light if x == y else bytes(rgb) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _key(rng: random.Random) -> str:
    word = rng.choice(_WORDS)
    return rng.choice((word, f"{word}{rng.choice(('Enabled', 'Config', 'Port', 'Timeout', 'Annotations'))}"))


def _scalar(rng: random.Random) -> str:
    pick = rng.randrange(9)
    if pick == 0:
        return rng.choice(("true", "false"))
    if pick == 1:
        return str(rng.randrange(1, 65536))
    if pick == 2:
        return f'"{rng.randrange(100, 999)}m"'
    if pick == 3:
        tag = f"v{rng.randrange(1, 4)}.{rng.randrange(30)}.0"
        return f"{rng.choice(_IMAGES)}/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}:{tag}"
    if pick == 4:
        return '""'
    if pick == 5:
        return "{}"
    if pick == 6:
        return "[]"
    return rng.choice(_WORDS) + rng.choice(("", "-" + rng.choice(_SUFFIXES), ".svc.cluster.local"))


def _block(rng: random.Random, indent: int, budget: int) -> list[str]:
    """A nested mapping of at most ``budget`` lines, values.yaml style (comments, lists, block scalars)."""
    pad = " " * indent
    lines: list[str] = []
    used: set[str] = set()
    while len(lines) < budget:
        key = _key(rng)
        while key in used:
            key = f"{key}{rng.randrange(10)}"
        used.add(key)
        room = budget - len(lines)
        pick = rng.randrange(10)
        if pick < 2 and room >= 2:
            lines.append(f"{pad}# -- {rng.choice(_WORDS)} {rng.choice(_SUFFIXES)} settings; see the chart's README")
            lines.append(f"{pad}{key}: {_scalar(rng)}")
        elif pick == 2 and room >= 4:
            items = min(room - 1, rng.randrange(2, 6))
            lines.append(f"{pad}{key}:")
            lines += [f"{pad}  - {_scalar(rng)}" for _ in range(items)]
        elif pick == 3 and room >= 4:
            body = min(room - 1, rng.randrange(2, 8))
            lines.append(f"{pad}{key}: |")
            lines += [f"{pad}  {rng.choice(_WORDS)} = {rng.randrange(1000)}" for _ in range(body)]
        elif pick in (4, 5) and room >= 3 and indent < 10:
            inner = _block(rng, indent + 2, min(room - 1, rng.randrange(2, 40)))
            lines.append(f"{pad}{key}:")
            lines += inner
        else:
            lines.append(f"{pad}{key}: {_scalar(rng)}")
    return lines


def _values(rng: random.Random, name: str, lines: int) -> str:
    head = [
        "pack:",
        f"  namespace: {name}",
        f'  spectrocloud.com/install-priority: "{rng.randrange(0, 100)}"',
        "  content:",
        "    images:",
        f"      - image: {rng.choice(_IMAGES)}/{name}:v1.{rng.randrange(30)}.0",
        "",
        "# Settings of the pack's manifests or chart.",
        f"{rng.choice(('charts', 'manifests'))}:",
        f"  {name}:",
    ]
    body = _block(rng, 4, max(0, lines - len(head)))
    return "\n".join([*head, *body][:lines]) + "\n"


def _manifest(rng: random.Random, name: str) -> str:
    docs = []
    for _ in range(rng.randrange(1, 5)):
        kind = rng.choice(_KINDS)
        doc = [
            "apiVersion: v1" if kind in ("Service", "ConfigMap", "ServiceAccount", "Secret") else "apiVersion: apps/v1",
            f"kind: {kind}",
            "metadata:",
            f"  name: {name}-{rng.choice(_SUFFIXES)}",
            f"  namespace: {name}",
            "  labels:",
            f"    app.kubernetes.io/name: {name}",
            "spec:",
            *_block(rng, 2, rng.randrange(10, 120)),
        ]
        docs.append("\n".join(doc))
    return "---\n" + "\n---\n".join(docs) + "\n"


def _template(rng: random.Random, name: str) -> str:
    lines = [
        "{{- if .Values.enabled }}",
        "apiVersion: apps/v1",
        f"kind: {rng.choice(_KINDS)}",
        "metadata:",
        f'  name: {{{{ include "{name}.fullname" . }}}}',
        "  labels:",
        f'    {{{{- include "{name}.labels" . | nindent 4 }}}}',
        "spec:",
    ]
    lines += _block(rng, 2, rng.randrange(10, 150))
    lines.append("{{- end }}")
    return "\n".join(lines) + "\n"


def _readme(rng: random.Random, display: str) -> str:
    paragraphs = [f"# {display}", ""]
    for _ in range(rng.randrange(3, 30)):
        paragraphs.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randrange(10, 60))))
        paragraphs.append("")
    return "\n".join(paragraphs)


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _manifests_pack(rng: random.Random, pack: Path, name: str, files: int) -> list[str]:
    listed = []
    for index in range(files):
        relative = f"manifests/{name}-{rng.choice(_SUFFIXES)}-{index:02d}.yaml"
        _write(pack / relative, _manifest(rng, name))
        listed.append(relative)
    return listed


def _chart_pack(rng: random.Random, pack: Path, name: str, version: str, files: int) -> None:
    chart = pack / "charts" / name
    _write(chart / "Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: {version}\n")
    _write(chart / ".helmignore", ".git/\n*.swp\n*.bak\n")
    _write(chart / "values.yaml", "\n".join(_block(rng, 0, rng.randrange(20, 200))) + "\n")
    _write(chart / "templates" / "_helpers.tpl", f'{{{{- define "{name}.fullname" -}}}}\n{name}\n{{{{- end }}}}\n')
    _write(chart / "templates" / "NOTES.txt", f"{name} is installed.\n")
    remaining = max(1, files - 5)
    # About one chart in three carries a subchart whose paths pass tar's 100-byte name field (GNU long names).
    sub = chart / "charts" / f"{name}-{rng.choice(_SUFFIXES)}-crds" if rng.random() < 0.35 else None
    for index in range(remaining):
        if sub is not None and index % 3 == 0:
            target = sub / "templates" / f"customresourcedefinition-{rng.choice(_WORDS)}-{index:02d}.yaml"
        else:
            target = chart / "templates" / f"{rng.choice(_WORDS)}-{rng.choice(_KINDS).lower()}-{index:02d}.yaml"
        _write(target, _template(rng, name))
    if rng.random() < 0.2:
        script = chart / "ci" / "test.sh"
        _write(script, f"#!/bin/sh\nhelm lint ../{name}\n")
        script.chmod(0o755)


def write_corpus(root: Path, packs: int = 220, seed: int = 0) -> list[Path]:
    """Write ``packs`` pack directories under ``root`` (created if missing) and return them, in order.

    Each is named ``<name>-<version>``; about 50 files each; every one passes ``components.packs.directory``'s
    checks (names and versions unique). The same ``packs`` and ``seed`` write the same bytes.
    """
    rng = random.Random(seed)
    counts = values_line_counts(packs)
    rng.shuffle(counts)
    root.mkdir(parents=True, exist_ok=True)
    directories: list[Path] = []
    names: set[str] = set()
    for index, lines in enumerate(counts):
        name = f"{rng.choice(_WORDS)}-{rng.choice(_SUFFIXES)}"
        while name in names:
            name = f"{rng.choice(_WORDS)}-{name}"
        names.add(name)
        version = f"{rng.randrange(0, 5)}.{rng.randrange(0, 40)}.{rng.randrange(0, 10)}"
        display = " ".join(part.capitalize() for part in name.split("-"))
        pack = root / f"{name}-{version}"
        # 4 files of the pack itself plus 16..78 of content: ~50 on average, like the measured packs.
        files = 16 + (index * 37 + seed) % 63
        data: dict[str, object] = {
            "annotations": {"source": "community", "contributor": "corpus"},
            "cloudTypes": ["all"],
            "displayName": display,
            "layer": "addon",
            "addonType": rng.choice(_ADDON_TYPES),
            "name": name,
            "version": version,
        }
        if index % 2 == 0:
            data["kubeManifests"] = _manifests_pack(rng, pack, name, files)
        else:
            _chart_pack(rng, pack, name, version, files)
            data["charts"] = [f"charts/{name}"]
        _write(pack / "pack.json", json.dumps(data, indent=2, sort_keys=True) + "\n")
        _write(pack / "values.yaml", _values(rng, name, lines))
        _write(pack / "logo.png", _png(32, 32, (rng.randrange(200), rng.randrange(200), rng.randrange(200))))
        _write(pack / "README.md", _readme(rng, display))
        directories.append(pack)
    return directories
