"""The container on each host: the pinned image, its name, where /data lives, logs and resource limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from components.config.source import ABSOLUTE_PATH, ConfigError, Raw
from components.kinds import KINDS, LEGACY, RegistryKind
from components.oci_reference import IMAGE_DIGEST_SIZES, IMAGE_NAME_MAX, IMAGE_REFERENCE

DEFAULT_IMAGE = LEGACY.default_image

LOG_LEVELS = ("error", "warn", "info", "debug")

MIN_MEMORY_LIMIT_MB = 128

MAX_MEMORY_LIMIT_MB = 4 * 1024 * 1024
"""4 TiB: far beyond any host, and far below where the provider's MB-to-bytes int64 conversion wraps."""

MAX_CPUS = 1024

MAX_LOG_FILE_BYTES = 100 * 1024**3

_LOG_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}
"""The smallest memoryLimitMb accepted (docs/operating.md "Memory and CPU" has the measurement behind it)."""

_LOG_SIZE = re.compile(r"^[1-9][0-9]*[kmg]$")

_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]+$")

# A host path for /data must be a directory of its own, not one the system lives in.
_SYSTEM_DIRECTORIES = frozenset(
    "/bin /boot /dev /etc /home /lib /lib64 /media /mnt /opt /proc /root /run /sbin /srv /sys /tmp /usr /var "
    "/var/lib /var/lib/docker".split()
)


@dataclass(frozen=True)
class ContainerLimits:
    """What bounds the container over months of running: its log files, memory and CPU."""

    log_max_size: str
    """json-file log driver max-size, e.g. 10m."""
    log_max_files: int
    """json-file log driver max-file."""
    memory_mb: int
    """Memory limit in MB; 0 for none."""
    cpus: str | None
    """CPU limit written the way the docker provider reads it back (e.g. 1.0, 1.5); None for none."""


def image_reference(image: str, *, key: str = "image", example: str = DEFAULT_IMAGE) -> str:
    """The image reference, if Docker would take it and it pins a version (``key`` names it in errors)."""
    match = IMAGE_REFERENCE.match(image)
    if not match:
        lowered = image.rsplit("@", 1)[0].rsplit(":", 1)[0]
        if lowered != lowered.lower() and IMAGE_REFERENCE.match(image.replace(lowered, lowered.lower())):
            problem = f"'{image}' has upper case in its repository path (Docker only takes lower case there)"
        else:
            problem = f"'{image}' is not an image reference Docker accepts"
        raise ConfigError(key, problem, f"Use e.g. {example}.")
    if len(match["name"]) > IMAGE_NAME_MAX:
        raise ConfigError(key, f"its repository name is longer than {IMAGE_NAME_MAX} characters", "Use a shorter name.")
    digest = match["digest"]
    if digest is not None:
        algorithm, _, hex_digits = digest.partition(":")
        size = IMAGE_DIGEST_SIZES.get(algorithm)
        if size is None or len(hex_digits) != size or hex_digits != hex_digits.lower():
            raise ConfigError(
                key,
                f"'{image}' has a digest Docker refuses ({algorithm} takes {size} lower-case hex digits)"
                if size
                else f"'{image}' has a digest of an unsupported algorithm '{algorithm}'",
                "Copy the digest as `docker inspect` or the registry shows it (sha256:<64 hex digits>).",
            )
    if digest is None:
        if match["tag"] is None:
            raise ConfigError(key, f"'{image}' has no tag", f"Pin a tag, e.g. {example}.")
        if match["tag"] == "latest":
            raise ConfigError(
                key,
                f"'{image}' uses the tag 'latest', which moves: every pull may bring another server",
                f"Pin a release tag, e.g. {example}, or a digest (@sha256:...).",
            )
    return image


def _refuse_other_kinds_image(image: str, kind: RegistryKind) -> None:
    """An image pinned for one kind would run under the other's data path, env and gate after a switch of
    registryKind, and fail its readiness gate with no word on why."""
    repository = image.split("@", 1)[0]
    if repository.rfind(":") > repository.rfind("/"):  # a tag, not a registry's port
        repository = repository[: repository.rfind(":")]
    other = next((each.name for each in KINDS.values() if each.name != kind.name and each.runs_image(repository)), None)
    if other is None:
        return
    raise ConfigError(
        "image",
        f"'{image}' is the image of registryKind {other}, but registryKind is {kind.name}",
        f"Unset image to run the kind's default ({kind.default_image}), or set registryKind to {other}.",
    )


def container_limits(raw: Raw) -> ContainerLimits:
    log_max_size = raw.text("logMaxSize").strip().lower()
    if not _LOG_SIZE.match(log_max_size):
        raise ConfigError(
            "logMaxSize", f"'{log_max_size}' is not a log file size", "Use a number with k, m or g, e.g. 10m."
        )
    if int(log_max_size[:-1]) * _LOG_UNITS[log_max_size[-1]] > MAX_LOG_FILE_BYTES:
        raise ConfigError(
            "logMaxSize", f"{log_max_size} is more than one log file can sensibly hold", "Use at most 100g."
        )
    log_max_files = raw.integer("logMaxFiles")
    if not 1 <= log_max_files <= 100:
        raise ConfigError("logMaxFiles", f"{log_max_files} is out of range", "Keep 1-100 log files, e.g. 3.")
    memory_mb = raw.integer("memoryLimitMb")
    if memory_mb > MAX_MEMORY_LIMIT_MB:
        raise ConfigError(
            "memoryLimitMb",
            f"{memory_mb} MB is more than any host has (the provider's byte count would overflow)",
            f"Use at most {MAX_MEMORY_LIMIT_MB} (4 TiB), or 0 for no limit.",
        )
    if memory_mb != 0 and memory_mb < MIN_MEMORY_LIMIT_MB:
        raise ConfigError(
            "memoryLimitMb",
            f"{memory_mb} MB is below the {MIN_MEMORY_LIMIT_MB} MB the registry server needs to start with margin",
            f"Use 0 (no limit) or at least {MIN_MEMORY_LIMIT_MB}; the install guide's minimum is 2048.",
        )
    text = raw.text("cpus").strip()
    try:
        cpus = Decimal(text)
    except InvalidOperation:
        cpus = Decimal(-1)
    if cpus.is_finite() and cpus > MAX_CPUS:
        raise ConfigError(
            "cpus", f"{text} is more CPUs than any host has", f"Use at most {MAX_CPUS}, or 0 for no limit."
        )
    if not cpus.is_finite() or cpus < 0 or cpus != cpus.quantize(Decimal("0.01")) or 0 < cpus < Decimal("0.01"):
        raise ConfigError(
            "cpus",
            f"'{text}' is not a CPU count",
            "Use 0 (no limit) or a number of CPUs with up to 2 decimals, e.g. 1.5.",
        )
    # Declared the way the provider reads it back, so the next `pulumi up` sees no change (cpus forces a
    # new container); a value it would read back as a different number is refused instead.
    declared = provider_cpus(int(cpus * 1_000_000_000))
    if Decimal(declared) != cpus:
        raise ConfigError(
            "cpus",
            f"{text} would be read back by the docker provider as {declared} and replace the container on every run",
            f"Use a nearby value such as {max(cpus.quantize(Decimal('0.1')), Decimal('0.1'))}.",
        )
    return ContainerLimits(
        log_max_size=log_max_size,
        log_max_files=log_max_files,
        memory_mb=memory_mb,
        cpus=declared if cpus else None,
    )


def provider_cpus(nano_cpus: int) -> str:
    """A CPU limit as the docker provider writes it into state when it reads a container back.

    kreuzwerker/terraform-provider-docker internal/provider/helpers.go nanoInt64ToDecimalString: nine
    decimals; when that string holds exactly nine zeros, one decimal rounded half away from zero ("1.0",
    "0.5", but 0.05 becomes "0.1"); else trailing zeros trimmed (so 10 CPUs read back as "10.").
    """
    if nano_cpus == 0:
        return "0"
    value = Decimal(nano_cpus) / Decimal(1_000_000_000)
    nine = f"{value:.9f}"
    if nine.count("0") == 9:
        return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}"
    return nine.rstrip("0")


@dataclass(frozen=True)
class Container:
    """The container every host runs."""

    image: str
    """Registry image reference with a pinned tag or digest."""
    container_name: str
    data_volume: str
    """A named Docker volume, or an absolute host path."""
    log_level: str
    limits: ContainerLimits
    pull_username: str | None
    pull_password: Any
    """A secret Output, or None."""

    @property
    def is_bind_mount(self) -> bool:
        """Whether the data lives in a host path (else a named Docker volume)."""
        return self.data_volume.startswith("/")


def parse_container(
    raw: Raw, reveal: Callable[[str], str | None], secret: Callable[[str], Any], kind: RegistryKind = LEGACY
) -> Container:
    # An unset image follows the registry kind.
    image = image_reference(raw.text("image").strip() or kind.default_image, example=kind.default_image)
    _refuse_other_kinds_image(image, kind)
    container_name = raw.text("containerName").strip()
    if not _CONTAINER_NAME.match(container_name):
        raise ConfigError(
            "containerName",
            f"'{container_name}' is not a valid container name",
            "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
        )
    data_volume = _data_volume(raw.text("dataVolume").strip())
    log_level = raw.text("logLevel").strip()
    if log_level not in LOG_LEVELS:
        raise ConfigError("logLevel", f"'{log_level}' is not a log level", f"Use one of {', '.join(LOG_LEVELS)}.")
    pull_username = raw.text("imagePullUsername").strip() or None
    pull_password = secret("imagePullPassword") if reveal("imagePullPassword") else None
    if bool(pull_username) != bool(pull_password):
        raise ConfigError(
            "imagePullUsername",
            "and imagePullPassword must be set together",
            "Set both (the password with --secret) or neither.",
        )
    return Container(
        image=image,
        container_name=container_name,
        data_volume=data_volume,
        log_level=log_level,
        limits=container_limits(raw),
        pull_username=pull_username,
        pull_password=pull_password,
    )


def _data_volume(data_volume: str) -> str:
    if not (_VOLUME_NAME.match(data_volume) or (ABSOLUTE_PATH.match(data_volume) and data_volume != "/")):
        raise ConfigError(
            "dataVolume",
            f"'{data_volume}' is neither a volume name nor an absolute host path",
            "Use a named volume such as spectro-registry-data, or a path such as /srv/spectro-registry.",
        )
    if data_volume.startswith("/") and (
        ".." in data_volume.split("/") or data_volume.rstrip("/") in _SYSTEM_DIRECTORIES
    ):
        raise ConfigError(
            "dataVolume",
            f"'{data_volume}' is a system directory (or climbs out with '..'): the registry would write into it",
            "Use a directory of its own, such as /srv/spectro-registry.",
        )
    return data_volume
