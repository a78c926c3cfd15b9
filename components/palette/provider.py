"""The pack registry's registration in Palette, as a Pulumi dynamic resource.

Either kind of registration (``registry_kind``: a legacy pack registry, or an OCI registry holding
packs) goes through the one lifecycle below; what differs between them (paths, bodies, finding by name,
where a read body keeps the sync status, which inputs Palette holds) is the kind's
``shapes.RegistryShape``, handed to the client.

``PaletteRegistration`` (``registration.py``) is the resource a program declares; ``PackRegistryProvider`` here
does the work through ``client``. Pulumi pickles the provider (with dill) into the state and runs it later in
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

from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.dynamic.unreachable import keep_on_refresh, release_or_fail
from components.palette import client as palette_client
from components.palette.access import API_KEY_CONFIG, API_KEY_ENV, DEFAULT_API_URL, normalise_api_key
from components.palette.client import PaletteClient
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
from components.palette.policy import HttpPolicy
from components.palette.shapes import RegistrationSpec, owner_of, shape_for

__all__ = ["OUTPUTS", "PackRegistryProvider", "client_for", "remember_api_key"]

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


class PackRegistryProvider(ResourceProvider):
    """Create, adopt, update, read and delete one Palette pack registration."""

    # Pickled by reference into state as ``components.palette.{class name}`` (tests/program/test_state_unpickles.py):
    # the path stays, so existing stacks unpickle it and a new pickle is byte for byte the one they hold.
    __module__ = "components.palette"

    def configure(self, req: ConfigureRequest) -> None:
        remember_api_key(req)

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
        client = client_for(inputs)
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
        client = client_for(inputs, old)
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
        client = client_for(props)
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
        client = client_for(props)
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


def remember_api_key(req: ConfigureRequest) -> None:
    """What a Palette provider's ``configure()`` does: keep the stack's API key (module state, never provider
    state) and let progress through to the provider host's stderr."""
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
        for name in (__name__, palette_client.__name__, f"{__package__}.proof"):
            logging.getLogger(name).setLevel(logging.INFO)


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


def client_for(props: Mapping[str, Any], *more: Mapping[str, Any]) -> PaletteClient:
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
