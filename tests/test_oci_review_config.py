"""Review of registryKind oci's config: an existing registry (ociEndpoint) and what the official nginx image
does to the proxy's configuration at start."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from tests.test_config import EXISTING, GOOD, parse


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("dockerHost", "ssh://ops@node-a"),
        ("tlsCertificate", GOOD.certificate_pem),
        ("adminPassword", "admin-password-0123456789"),
        ("image", "registry:2.8.2"),
        ("proxyImage", "nginx:1.27.4-bookworm"),
        ("dataVolume", "/srv/packs"),
        ("readinessUrls", ["https://127.0.0.1:8443"]),
    ],
)
def test_an_existing_registry_refuses_every_key_that_describes_a_deployment(key: str, value: Any) -> None:
    """With ociEndpoint nothing is deployed, and components/config/existing.py refuses hosts, ipAddresses,
    port, tlsMode and dockerHosts ("describes a registry the program deploys"). Its siblings are taken
    without a word and then ignored: ``dockerHost`` (``dockerHosts`` is refused), a provided certificate, an
    admin password (a secret the user believes is in use: packs are pushed with ociPushPassword), an image,
    a data location, per-host readiness URLs. CONTRIBUTING's rule: a clear error naming the bad key."""
    with pytest.raises(ConfigError) as caught:
        parse({**EXISTING, key: value})
    assert key in str(caught.value)


def test_a_loopback_existing_endpoint_with_registration_on_names_the_key_that_can_fix_it() -> None:
    """paletteRegistration true with a loopback ociEndpoint is refused, but the fix the message gives is to
    list another name first in hosts (or ipAddresses), keys that ociEndpoint refuses. The only key that
    can fix it there is ociEndpoint."""
    with pytest.raises(ConfigError) as caught:
        parse(
            {**EXISTING, "ociEndpoint": "https://127.0.0.1:5000", "paletteRegistration": True},
            env={"PALETTE_API_KEY": "palette-key-0123456789"},
        )
    message = str(caught.value)
    assert "ociEndpoint" in message, message
    assert "hosts" not in message, message
