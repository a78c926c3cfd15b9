"""The registry kinds: the few facts in which the legacy pack registry and an OCI registry differ, one object per kind.

The lifecycle (credentials, certificates, instances on each Docker host, the rolling chain, readiness gates, the
Palette registration, retries and redaction) is written once, in the other packages; everything that depends on
the kind is read from its ``RegistryKind`` here, the way distribution's storage drivers sit behind one interface
(a driver per backend, the registry written once against it):

``legacy`` (``legacy.py``)
    Spectro's spectro-registry server (what Spectro's docs now call the legacy pack registry): it terminates TLS
    itself, checks the htpasswd file, keeps packs under ``/data``, answers ``/health`` and ``/v1/_catalog``, and is
    registered in Palette through the pack-registry API.
``oci`` (``oci.py``)
    CNCF distribution, the official ``registry`` image (data under ``/var/lib/registry``), behind an nginx proxy on
    a private network of the instance's own (``instance/proxy.py``): the proxy terminates TLS, checks the same
    bcrypt file and lets only the admin user write. Registered in Palette as an OCI registry with ``providerType:
    pack``; packs live at ``<baseContentPath>/spectro-packs/archive/<name>:<version>``. Its storage can be switched
    read-only for garbage collection, and abandoned uploads are purged (``maintenance_env``,
    ``garbage_collect_command``).
an existing OCI registry (``oci.py``, ``ociEndpoint``)
    Harbor, Zot, distribution or any registry with basic auth that the user runs: nothing is deployed, the program
    registers it in Palette like the OCI kind and publishes packs to it.

A kind answers with plain values (env strings, files, refusals as ``Refusal``); the callers turn them into
resources and config errors, so this package imports neither ``config/`` nor the Docker provider.
"""

from components.kinds.kind import PACK_ARCHIVE, RegistryKind
from components.kinds.legacy import LEGACY
from components.kinds.oci import EXISTING, OCI

__all__ = ["EXISTING", "KINDS", "LEGACY", "OCI", "PACK_ARCHIVE", "RegistryKind"]

KINDS = {kind.name: kind for kind in (LEGACY, OCI)}
"""The ``registryKind`` values, each with its kind."""
