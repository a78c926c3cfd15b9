"""The pack registry's registration in Palette, as a Pulumi dynamic resource.

Either kind of registration (``registry_kind``: a legacy pack registry, or an OCI registry holding
packs) goes through the one lifecycle below; what differs between them (paths, bodies, finding by name,
where a read body keeps the sync status, which inputs Palette holds) is the kind's
``shapes.RegistryShape``, handed to the client.

``PaletteRegistration`` is the resource a program declares; ``PackRegistryProvider`` does the work
through ``client``. Pulumi pickles the provider (with dill) into the state and runs it later in
its own process, so it lives here, in an importable module, and pickles by reference: it has no
``__init__`` and keeps nothing on ``self``. Each method builds its HTTP client when it runs.

The Palette API key is never a resource input (inputs land in the state): ``configure()`` reads the
stack's ``palette-pack-registry:paletteApiKey`` into a module-level holder, and the ``PALETTE_API_KEY``
environment variable is the fallback, read when a method runs. Either is stripped of surrounding
whitespace (a key pasted from a file often ends in a newline).

``create`` adopts an existing registration with the same name, so the resource is always replaced
delete-before-create: created first, the replacement would adopt the very registration the engine then
deletes as "the old one" (see ``PaletteRegistration``).

Ownership: ``create`` (new or adopted) writes a fresh random token into the registration's
``metadata.annotations`` and keeps it as the ``owner`` output; ``update`` writes the state's token again
(a state from before tokens gets one). ``delete`` reads the registration first and leaves it in place when
it carries another resource's token: another resource adopted it by name since (a renamed resource
without an alias: the engine creates the new URN and deletes the old one afterwards). A registration
without a token (Palette dropped the annotation) is deleted as before.

A Palette that cannot be reached (``components.dynamic.unreachable``: no connection, a timeout, 502/503/504 after the
client's retries) leaves a refresh with the last-known state and one warning; it fails a delete with one line
naming the opt-in, or, with ``delete_unreachable`` (or the environment variable), the delete releases the
registration from the state with a warning that it may remain in Palette.

Properties use snake_case on the wire and in Python alike:

inputs   api_url, name, endpoint, username, password (secret), ca_certificate, tls_enabled,
         insecure_skip_verify, private, validate, sync, wait_for_sync, sync_timeout_seconds, allow_http,
         registry_kind, base_content_path (oci), sync_trigger, delete_unreachable
outputs  the inputs (defaults filled in, endpoint normalised), plus uid, sync_status and owner, and for
         oci provider_type (what Palette holds: ``pack``, unless someone changed it)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
from collections.abc import Mapping
from functools import partial
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from components.dynamic.unreachable import keep_on_refresh, release_or_fail
from components.palette import client as palette_client
from components.palette.access import API_KEY_CONFIG, API_KEY_ENV, DEFAULT_API_URL, normalise_api_key
from components.palette.client import HttpPolicy, PaletteClient
from components.palette.errors import (
    PaletteAuthError,
    PaletteBadRequest,
    PaletteConflict,
    PaletteError,
    PaletteNotFound,
    PaletteUnavailable,
)
from components.palette.inputs import (
    BEHAVIOUR,
    INPUTS,
    REPLACE_ON,
    check_inputs,
    differs,
    inputs_with_defaults,
    known_shape,
    pem,
)
from components.palette.shapes import RegistrationSpec, owner_of, shape_for

__all__ = [
    "API_KEY_CONFIG",
    "API_KEY_ENV",
    "INPUTS",
    "OUTPUTS",
    "PackRegistryProvider",
    "PaletteRegistration",
]

log = logging.getLogger(__name__)

OUTPUTS = ("uid", "sync_status", "owner")


# Appended to a rejected key on refresh and delete. `pulumi refresh` and `pulumi destroy` do not run the
# program: the engine configures the provider with the stack config recorded at the last `pulumi up`
# (pulumi/pulumi pkg/resource/deploy/providers/registry.go), so a new key is not used. A new api_url is a
# delete-first replacement: the old registration is deleted at the old Palette with the one configured key.
_KEY_ADVICE = (
    "If the key changed since the last `pulumi up`: refresh and destroy still use the key recorded then, so "
    "run `pulumi refresh --run-program` / `pulumi destroy --run-program` (or `pulumi up` first). If you are "
    "moving to another Palette: delete the registration with the old Palette's URL and key first "
    "(`pulumi config set paletteRegistration false`, `pulumi up`), or `pulumi state delete` it and remove "
    "it in the old Palette."
)

# What configure() was given. Module state, not provider state: the provider instance is pickled into
# the Pulumi state and must carry no secret.
_CONFIGURED: dict[str, str] = {}


# ------------------------------------------------------------------------------------------ provider


class PackRegistryProvider(ResourceProvider):
    """Create, adopt, update, read and delete one Palette pack registration."""

    # Pickled by reference into the state as ``components.palette.{class name}`` (tests/test_state_unpickles.py):
    # the path stays, so existing stacks unpickle it and a new pickle is byte for byte the one they hold.
    __module__ = "components.palette"

    def configure(self, req: ConfigureRequest) -> None:
        key = req.config.get(API_KEY_CONFIG)
        key = normalise_api_key(key) if isinstance(key, str) else ""
        if key:
            _CONFIGURED["api_key"] = key
        else:
            _CONFIGURED.pop("api_key", None)
        # configure() runs in the provider host, whose stderr Pulumi shows: let progress through there,
        # and leave logging alone wherever it is already set up (pytest, a program that configured it). The
        # host serves every dynamic resource of the stack (packs too), and each message names its subject.
        if not logging.getLogger().handlers:
            logging.basicConfig(format="%(message)s")
            for name in (__name__, palette_client.__name__):
                logging.getLogger(name).setLevel(logging.INFO)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_inputs(news)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = inputs_with_defaults(olds), inputs_with_defaults(news)
        replaces = [key for key in REPLACE_ON if differs(key, old, new)]
        # Another kind is a replacement: what the new kind holds is compared only to say "changed".
        shape = known_shape(new) or known_shape(old) or shape_for(None)
        updates = [key for key in (*shape.holds, *BEHAVIOUR) if differs(key, old, new)]
        return DiffResult(
            changes=bool(replaces or updates),
            replaces=replaces,
            # Another api_url may be the same Palette under another name: the old registration has to
            # go before the new one adopts (or re-creates) the name, or deleting the old would delete it.
            # Another kind is another API, and whether Palette lets the two kinds share a name is not
            # known: the legacy registration goes first. PaletteRegistration declares
            # delete_before_replace for every replacement, which the engine lets win over this answer;
            # this one covers a program that uses the provider on its own.
            delete_before_replace=bool({"api_url", "registry_kind"} & set(replaces)),
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = inputs_with_defaults(props)
        # A new token for every create: a resource that adopts the name takes the registration over.
        owner = secrets.token_hex(16)
        registry = _registry(inputs, owner=owner)
        client = _client(inputs)
        name = registry.name
        if inputs["validate"]:
            log.info("pack registry '%s': asking Palette to validate %s", name, registry.endpoint)
            client.validate(registry)
        uid, created = _create_or_adopt(client, registry, sync=bool(inputs["sync"]))
        try:
            # A new registration starts syncing by itself (skipPackSync=false); an adopted one is told to.
            status = _sync(client, uid, inputs, start=not created, started=created)
        except Exception as exc:
            if created:
                _roll_back(client, uid, exc)
            raise
        log.info("pack registry '%s': done (uid %s)", name, uid)
        return CreateResult(uid, _outputs(inputs, uid, status, owner))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Do what the changed inputs ask, and nothing more.

        - a field Palette holds (for the kind: ``RegistryShape.holds``) changed: validate (when
          ``validate``), PUT, and sync (when ``sync``);
        - ``sync_trigger`` changed: start a sync (when ``sync``), nothing else;
        - ``validate`` turned on: validate now, so the state's ``validate: true`` is true of the registry;
        - ``sync`` turned on, or ``wait_for_sync`` on: start a sync (one already running is left alone)
          and, with ``wait_for_sync``, wait for it, so the reported status is the outcome;
        - ``sync`` turned off: ``sync_status`` is ``""``, as after a create without sync;
        - only ``delete_unreachable`` changed: recorded, and Palette is not called at all;
        - otherwise (``allow_http``, ``sync_timeout_seconds`` without waiting, ``wait_for_sync`` or
          ``validate`` turned off): no change in Palette; ``sync_status`` is read again from Palette.
        """
        old, inputs = inputs_with_defaults(olds), inputs_with_defaults(news)
        compared = {*INPUTS, *shape_for(inputs.get("registry_kind")).holds} - {"delete_unreachable"}
        if old.get("owner") and not any(differs(key, old, inputs) for key in compared):
            # Only what a delete does when Palette cannot be reached changed: record it and call nothing
            # (Palette may be the very thing that cannot be reached).
            return UpdateResult(_outputs(inputs, id_, str(old.get("sync_status") or ""), str(old["owner"])))
        # A state from before ownership tokens gets one now, written with the PUT below.
        owner = str(old.get("owner") or "") or secrets.token_hex(16)
        registry = _registry(inputs, owner=owner)
        client = _client(inputs, old)
        changed = any(differs(key, old, inputs) for key in client.shape.holds)
        if inputs["validate"] and (changed or not old["validate"]):
            log.info("pack registry '%s': asking Palette to validate %s", registry.name, registry.endpoint)
            client.validate(registry)
        if changed or not old.get("owner"):
            log.info("pack registry '%s': updating %s", registry.name, id_)
            try:
                client.update(id_, registry)
            except PaletteNotFound as exc:
                raise PaletteNotFound(
                    f"pack registry '{registry.name}': registration {id_} is gone from Palette; run "
                    f"`pulumi refresh` so that the next `pulumi up` registers it again ({exc})",
                    registration=registry.name,
                    method=exc.method,
                    path=exc.path,
                    status=exc.status,
                ) from None
        triggered = differs("sync_trigger", old, inputs)
        start = changed or triggered or not old["sync"] or bool(inputs["wait_for_sync"])
        status = _sync(client, id_, inputs, start=start, started=False)
        return UpdateResult(_outputs(inputs, id_, status, owner))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client = _client(props)
        try:
            live = client.get(id_)
        except PaletteAuthError as exc:
            raise _with_key_advice(exc) from None
        except PaletteNotFound:
            # Only a 404 on this registration's own URL means it is gone (an invalid key has been
            # seen to answer 404 elsewhere).
            log.info("pack registry '%s': registration %s is gone from Palette", props.get("name"), id_)
            return ReadResult("", {})
        except PaletteError as exc:
            if exc.unreachable is None:
                raise
            keep_on_refresh(_palette_at(client), exc.unreachable, "the registration keeps its last-known state")
            return ReadResult(id_, props)
        fields = client.shape.read_fields(live.get("spec") or {})
        sync = client.shape.sync_of(live)
        outs = {key: props[key] for key in INPUTS if key in props}
        outs.update(
            fields,
            name=(live.get("metadata") or {}).get("name") or props.get("name"),
            ca_certificate=pem(fields.get("ca_certificate")),
            # Palette masks the password on reads: the state's copy is the only real one.
            password=props.get("password"),
            uid=id_,
            sync_status=str(sync.get("status") or props.get("sync_status") or ""),
            # The state's token, whatever Palette holds: delete compares the two.
            owner=props.get("owner"),
        )
        return ReadResult(id_, outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client = _client(props)
        try:
            _delete(client, id_, props)
        except PaletteError as exc:
            if exc.unreachable is None:
                raise
            where = _palette_at(client)
            release_or_fail(
                props,
                subject=f"pack registry '{props.get('name')}' (uid {id_})",
                endpoint=where,
                reason=exc.unreachable,
                remains="the registration",
                where=where,
                error=partial(
                    PaletteUnavailable,
                    registration=exc.registration,
                    method=exc.method,
                    path=exc.path,
                    status=exc.status,
                    unreachable=exc.unreachable,
                ),
            )


def _delete(client: PaletteClient, id_: str, props: Mapping[str, Any]) -> None:
    """Delete the registration unless it is gone or another resource holds it."""
    name = props.get("name")
    try:
        live = client.get(id_)
    except PaletteAuthError as exc:
        raise _with_key_advice(exc) from None
    except PaletteNotFound:
        log.info("pack registry '%s': registration %s was already gone", name, id_)
        return
    holder = owner_of(live)
    if holder and holder != props.get("owner"):
        log.warning(
            "pack registry '%s': registration %s is left in place: another resource now holds it "
            "(it adopted the registration by name, e.g. this resource was renamed without an alias)",
            name,
            id_,
        )
        return
    if client.delete(id_):
        log.info("pack registry '%s': deleted registration %s", name, id_)
    else:
        log.info("pack registry '%s': registration %s was already gone", name, id_)


def _palette_at(client: PaletteClient) -> str:
    """How messages name the Palette a registration lives in."""
    return f"Palette at {client.api_url}"


def _with_key_advice(exc: PaletteAuthError) -> PaletteAuthError:
    return PaletteAuthError(
        f"{exc} {_KEY_ADVICE}",
        registration=exc.registration,
        method=exc.method,
        path=exc.path,
        status=exc.status,
        code=exc.code,
        ref=exc.ref,
    )


def _api_key() -> str:
    return _CONFIGURED.get("api_key") or normalise_api_key(os.environ.get(API_KEY_ENV, ""))


def _client(props: Mapping[str, Any], *more: Mapping[str, Any]) -> PaletteClient:
    """A client for the registration in ``props``; its password (and that of any of ``more``, e.g. the
    old inputs of an update) is redacted from every message, as the API key is."""
    passwords = (p.get("password") for p in (props, *more))
    return PaletteClient(
        api_url=str(props.get("api_url") or DEFAULT_API_URL),
        api_key=_api_key(),
        registration=str(props.get("name") or ""),
        policy=HttpPolicy.from_env(),
        secrets=tuple(p for p in passwords if isinstance(p, str) and p),
        # A state from before kinds has no registry_kind: it is a legacy registration.
        shape=shape_for(props.get("registry_kind")),
    )


def _registry(inputs: Mapping[str, Any], *, owner: str = "") -> RegistrationSpec:
    return RegistrationSpec(
        name=inputs["name"],
        endpoint=inputs["endpoint"],
        username=inputs["username"],
        password=inputs["password"],
        ca_certificate=inputs.get("ca_certificate") or None,
        tls_enabled=bool(inputs["tls_enabled"]),
        insecure_skip_verify=bool(inputs["insecure_skip_verify"]),
        private=bool(inputs["private"]),
        owner=owner,
        base_content_path=str(inputs.get("base_content_path") or ""),
    )


def _create_or_adopt(client: PaletteClient, registry: RegistrationSpec, *, sync: bool) -> tuple[str, bool]:
    """The registration's uid, and whether this call created it (rather than adopting one by that name)."""
    existing = client.find_by_name(registry.name)
    if existing is None:
        log.info("pack registry '%s': registering %s", registry.name, registry.endpoint)
        try:
            return client.create(registry, skip_pack_sync=not sync), True
        except (PaletteConflict, PaletteBadRequest):
            # The name appeared since the lookup (or Palette reports a duplicate as a 400): adopt it.
            existing = client.find_by_name(registry.name)
            if existing is None:
                raise
    uid = str(existing["metadata"]["uid"])
    log.info("pack registry '%s': adopting the existing registration %s", registry.name, uid)
    if not client.shape.listing_is_full:
        # A summary item need not carry the annotations the PUT below has to keep.
        existing = client.get(uid)
    # Keep the annotations it carries (v1ObjectMeta: "preserved when modifying objects"); ours wins.
    annotations = (existing.get("metadata") or {}).get("annotations")
    if isinstance(annotations, Mapping):
        registry = dataclasses.replace(registry, annotations={str(k): str(v) for k, v in annotations.items()})
    client.update(uid, registry)
    return uid, False


def _sync(client: PaletteClient, uid: str, inputs: Mapping[str, Any], *, start: bool, started: bool) -> str:
    """The sync status to report, after starting a sync (``start``) and waiting for it (when asked).

    ``started``: Palette started one by itself (a new registration). With neither, nothing new is
    running, and the status is Palette's own.
    """
    if not inputs["sync"]:
        return ""
    if start:
        log.info("pack registry '%s': asking Palette to sync packs", client.registration)
        client.sync(uid)
    if inputs["wait_for_sync"]:
        status = client.wait_for_sync(uid, timeout_seconds=float(inputs["sync_timeout_seconds"]))
        text = str(status.get("status") or "")
        log.info("pack registry '%s': sync %s", client.registration, text or "not supported")
        return text
    if start or started:
        return "Pending"
    return str(client.sync_status(uid).get("status") or "")


def _roll_back(client: PaletteClient, uid: str, exc: BaseException) -> None:
    log.warning("pack registry '%s': removing the new registration %s after: %s", client.registration, uid, exc)
    try:
        client.delete(uid)
    except PaletteError as cleanup:
        exc.add_note(
            f"Removing the new registration {uid} failed too ({cleanup}); delete it in Palette "
            f"(Tenant Settings > Registries) before the next `pulumi up`."
        )


def _outputs(inputs: Mapping[str, Any], uid: str, sync_status: str, owner: str) -> dict[str, Any]:
    # With what the kind fixes (an OCI registry's provider_type): a refresh compares Palette's to it.
    fixed = shape_for(inputs.get("registry_kind")).fixed
    outs = {key: inputs[key] for key in (*INPUTS, *fixed) if key in inputs}
    outs.update(uid=uid, sync_status=sync_status, owner=owner)
    return outs


# ------------------------------------------------------------------------------------------ resource


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
