"""The registration in Palette as the resource a program declares (``PaletteRegistration``); the provider that does
the work is ``provider.py``'s ``PackRegistryProvider``."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from components.palette.access import DEFAULT_API_URL
from components.palette.provider import PackRegistryProvider

__all__ = ["PaletteRegistration"]


class PaletteRegistration(Resource, module="palette", name="PackRegistry"):
    """The pack registry, registered in Palette (type ``pulumi-python:dynamic/palette:PackRegistry``),
    as a legacy pack registry or as an OCI registry (``registry_kind``).

    The Palette API key comes from the stack config ``paletteApiKey`` (or ``PALETTE_API_KEY``), not
    from an argument. ``password`` is stored as a secret.

    It is always replaced delete-before-create, whatever ``opts`` say. The engine replaces without
    asking the provider's ``diff`` on ``pulumi up --replace``/``--target-replace`` and turns an update
    into a replacement for ``replace_on_changes``; created first, the replacement would adopt the
    registration by its name, and the engine's delete of "the old one" would then remove it from Palette
    while the state still holds it. Renaming the resource is no replacement but a create and a later
    delete of the old name, which no option reorders: the new resource adopts the registration and writes
    its own ``owner`` token into it, so the old resource's delete leaves it in place. An alias of the old
    name still makes a rename a no-op. Another ``registry_kind`` is a replacement too: the registration of
    the old kind is deleted, then the new kind's created.
    """

    uid: pulumi.Output[str]
    """The registration's uid in Palette (also the resource id)."""
    name: pulumi.Output[str]
    """The registration's name in Palette."""
    endpoint: pulumi.Output[str]
    """The registry URL Palette uses, ``https://host[:port]``."""
    username: pulumi.Output[str]
    """The user Palette logs in to the registry as."""
    password: pulumi.Output[str]
    """That user's password (secret)."""
    sync_status: pulumi.Output[str]
    """Palette's pack sync status as last seen: the final status with ``wait_for_sync``, ``Pending`` right
    after a sync was asked for, Palette's status when an update started none, ``""`` with ``sync``
    false; ``pulumi refresh`` reads the live one."""
    api_url: pulumi.Output[str]
    ca_certificate: pulumi.Output[str | None]
    tls_enabled: pulumi.Output[bool]
    insecure_skip_verify: pulumi.Output[bool]
    private: pulumi.Output[bool]
    validate: pulumi.Output[bool]
    sync: pulumi.Output[bool]
    wait_for_sync: pulumi.Output[bool]
    sync_timeout_seconds: pulumi.Output[int]
    allow_http: pulumi.Output[bool]
    registry_kind: pulumi.Output[str]
    """``legacy`` or ``oci``."""
    base_content_path: pulumi.Output[str | None]
    """OCI: the path under which Palette reads ``spectro-packs/archive/<name>:<version>``."""
    sync_trigger: pulumi.Output[str]
    delete_unreachable: pulumi.Output[bool]
    """A delete that cannot reach Palette releases the registration from the state (with a warning) instead of
    failing; a change is recorded without calling Palette."""
    provider_type: pulumi.Output[str | None]
    """OCI: the provider type Palette holds (``pack``; a refresh shows another one as drift)."""
    owner: pulumi.Output[str]
    """The random token this resource wrote into the registration's ``metadata.annotations``; a delete
    leaves a registration that carries another token alone (another resource holds it)."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        endpoint: pulumi.Input[str],
        username: pulumi.Input[str],
        password: pulumi.Input[str],
        ca_certificate: pulumi.Input[str] | None = None,
        api_url: pulumi.Input[str] = DEFAULT_API_URL,
        tls_enabled: pulumi.Input[bool] | None = None,
        insecure_skip_verify: pulumi.Input[bool] = False,
        private: pulumi.Input[bool] = True,
        validate: pulumi.Input[bool] = True,
        sync: pulumi.Input[bool] = True,
        wait_for_sync: pulumi.Input[bool] = False,
        sync_timeout_seconds: pulumi.Input[int] = 600,
        allow_http: pulumi.Input[bool] = False,
        registry_kind: pulumi.Input[str] | None = None,
        base_content_path: pulumi.Input[str] | None = None,
        sync_trigger: pulumi.Input[str] | None = None,
        delete_unreachable: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Register a pack registry.

        :param name: the registration's name in Palette; a new name replaces the registration.
        :param endpoint: ``https://host[:port]`` (``:443`` and a trailing ``/`` are dropped).
        :param username: the registry user Palette logs in as.
        :param password: that user's password; kept as a secret.
        :param ca_certificate: PEM CA (chain) Palette should trust; needed for https unless
            ``insecure_skip_verify``.
        :param api_url: Palette's base URL (a new one replaces the registration).
        :param tls_enabled: defaults to whether ``endpoint`` is https.
        :param insecure_skip_verify: let Palette skip verifying the registry's certificate.
        :param private: register it as a private registry (legacy only: the OCI spec has no such field,
            so an OCI registration refuses ``False``).
        :param validate: ask Palette to validate the registry before registering it or changing it.
        :param sync: have Palette sync packs after create and update.
        :param wait_for_sync: wait until the sync is done (fails, and removes a new registration, when
            the sync fails or takes longer than ``sync_timeout_seconds``).
        :param allow_http: allow an ``http://`` endpoint (legacy only).
        :param registry_kind: ``legacy`` (the default) or ``oci``; another kind replaces the registration.
        :param base_content_path: OCI only: where packs live in the registry (default ``packs``); changes
            in place.
        :param sync_trigger: an opaque string; a new value makes an update start a sync (when ``sync``) and
            nothing else, e.g. a digest of the published packs.
        :param delete_unreachable: let a delete that cannot reach Palette release the registration from the
            state, with a warning, rather than fail (config ``deleteUnreachable``).
        """
        props: dict[str, Any] = {
            "api_url": api_url,
            "name": name,
            "endpoint": endpoint,
            "username": username,
            "password": pulumi.Output.secret(password),
            "ca_certificate": ca_certificate,
            "tls_enabled": tls_enabled,
            "insecure_skip_verify": insecure_skip_verify,
            "private": private,
            "validate": validate,
            "sync": sync,
            "wait_for_sync": wait_for_sync,
            "sync_timeout_seconds": sync_timeout_seconds,
            "allow_http": allow_http,
            # None (dropped on the wire) when not given: a legacy program registers what it always did.
            "registry_kind": registry_kind,
            "base_content_path": base_content_path,
            "sync_trigger": sync_trigger,
            # Only when on (None is dropped on the wire): a stack that leaves it off keeps the inputs it had.
            "delete_unreachable": True if delete_unreachable else None,
            # Outputs only: declared so that they become attributes.
            "uid": None,
            "sync_status": None,
            "owner": None,
            "provider_type": None,
        }
        opts = pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions.merge(pulumi.ResourceOptions(additional_secret_outputs=["password"]), opts),
            # Merged last so that it wins: creating before deleting would delete the adopted registration.
            pulumi.ResourceOptions(delete_before_replace=True),
        )
        super().__init__(PackRegistryProvider(), resource_name, props, opts)
