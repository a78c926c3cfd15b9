"""Evaluate the Pulumi program under mocks that behave like the real providers.

``pulumi.runtime.set_mocks`` is how Pulumi tests a program without its CLI. The mocks here do more than
echo inputs: like pulumi-random and pulumi-tls they return real passwords, real bcrypt hashes, real keys
and real certificates built from the inputs, so the tests can check the material with ``bcrypt``,
``htpasswd`` and ``cryptography`` and start the declared container on a real Docker engine.

A ``MockState`` remembers every resource's inputs and outputs by URN. Evaluating the program again with
the same state behaves like the engine on an unchanged stack: a resource whose inputs did not change gets
its old outputs back, without generating anything.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import hashlib
import ipaddress
import json
import re
import runpy
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import bcrypt
import pulumi
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from components import docker_engine
from components.docker_engine import EngineFacts

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "palette-pack-registry"
PROGRAM = ROOT / "__main__.py"

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"
DOCKER_PROVIDER = "pulumi:providers:docker"
PASSWORD = "random:index/randomPassword:RandomPassword"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
DYNAMIC = "pulumi-python:dynamic"
"""Prefix of every dynamic resource type (pulumi-python:dynamic/<module>:<Name>)."""
BCRYPT_HASH = "pulumi-python:dynamic/registry:BcryptHash"
READINESS = "pulumi-python:dynamic/registry:ReadinessGate"
PALETTE = "pulumi-python:dynamic/palette:PackRegistry"


@dataclass
class Recorded:
    """One registered resource: what the program declared and what the mock provider returned."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str | None
    options: dict[str, Any]
    secret_inputs: set[str]
    """Top-level input keys whose value the program marked secret (wholly or in part)."""
    id: str = ""
    """The id the mock provider gave it."""
    secret_paths: set[str] = field(default_factory=set)
    """Paths (``envs[4]``, ``uploads[2].content``) of every value the program marked secret."""


@dataclass
class MockState:
    """What the engine would remember between two `pulumi up`s: inputs and outputs by URN."""

    resources: dict[str, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    generated: int = 0
    """How many passwords, hashes, keys and certificates the mock providers generated."""


@dataclass
class ProgramRun:
    """The result of one evaluation of __main__.py."""

    resources: list[Recorded]
    exports: dict[str, Any]
    secret_exports: set[str]
    warnings: list[str]

    def all(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Recorded:
        found = self.all(type_)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}, found {[r.name for r in found]}")
        return found[0]

    def named(self, name: str) -> Recorded:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one resource named {name}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> Recorded:
        return next(r for r in self.resources if r.urn == urn)


# ---------------------------------------------------------------------------------------------------------
# Mock providers: the same material pulumi-random and pulumi-tls would produce.


def _password(inputs: dict[str, Any]) -> str:
    length = int(inputs.get("length", 16))
    classes = []
    if inputs.get("lower", True):
        classes.append((string.ascii_lowercase, int(inputs.get("minLower", 0))))
    if inputs.get("upper", True):
        classes.append((string.ascii_uppercase, int(inputs.get("minUpper", 0))))
    if inputs.get("numeric", True):
        classes.append((string.digits, int(inputs.get("minNumeric", 0))))
    if inputs.get("special", True):
        specials = inputs.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?"
        classes.append((specials, int(inputs.get("minSpecial", 0))))
    chars = [secrets.choice(pool) for pool, minimum in classes for _ in range(minimum)]
    alphabet = "".join(pool for pool, _ in classes)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _private_key(inputs: dict[str, Any]) -> Any:
    if inputs.get("algorithm") == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=int(inputs.get("rsaBits", 2048)))
    curve = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
    return ec.generate_private_key(curve[inputs.get("ecdsaCurve", "P224")]())


def _key_pem(key: Any) -> str:
    # pulumi-tls returns PKCS#1 ("RSA PRIVATE KEY") and SEC1 ("EC PRIVATE KEY") PEM.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


def _load_key(pem: str) -> Any:
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _name(subject: dict[str, Any] | None) -> x509.Name:
    subject = subject or {}
    attributes = []
    if subject.get("organization"):
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject["organization"]))
    if subject.get("commonName"):
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, subject["commonName"]))
    return x509.Name(attributes)


def _sans(inputs: dict[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in inputs.get("dnsNames") or []]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in inputs.get("ipAddresses") or []]
    return names


_KEY_USAGE = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
}
_EXTENDED = {"server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH}


def _sign(
    inputs: dict[str, Any],
    subject: x509.Name,
    public_key: Any,
    issuer: x509.Name,
    issuer_key: Any,
    sans: list[x509.GeneralName],
    issuer_ski: bytes | None,
) -> str:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=float(inputs["validityPeriodHours"])))
    )
    uses = list(inputs.get("allowedUses") or [])
    flags = {value: False for value in _KEY_USAGE.values()}
    for use in uses:
        if use in _KEY_USAGE:
            flags[_KEY_USAGE[use]] = True
    if any(flags.values()):
        builder = builder.add_extension(x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=True)
    extended = [_EXTENDED[use] for use in uses if use in _EXTENDED]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=bool(inputs.get("isCaCertificate")), path_length=None), critical=True
    )
    if inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if issuer_ski is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(issuer_ski, None, None), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


_PROVIDER_ZONE = datetime.timezone(datetime.timedelta(hours=1))
"""pulumi-tls formats validity times in its host's local zone; the mocks pick one that is not UTC."""


def _validity(pem: str) -> dict[str, str]:
    """validityStartTime/validityEndTime as pulumi-tls reports them: Go's time.MarshalText (RFC 3339 with
    fractional seconds, local zone) of NotBefore/NotAfter, which keep the sub-second part the certificate
    drops (hashicorp/terraform-provider-tls internal/provider/common_cert.go createCertificate)."""
    certificate = x509.load_pem_x509_certificate(pem.encode())
    fraction = datetime.timedelta(microseconds=secrets.randbelow(999_999) + 1)

    def marshal(moment: datetime.datetime) -> str:
        return (moment + fraction).astimezone(_PROVIDER_ZONE).isoformat()

    return {
        "validityStartTime": marshal(certificate.not_valid_before_utc),
        "validityEndTime": marshal(certificate.not_valid_after_utc),
    }


def _ski(certificate: x509.Certificate) -> bytes | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def _dynamic_outputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Dynamic resources: only the pure, local provider (bcrypt hashing) is run for real."""
    import base64

    import dill
    from pulumi.dynamic.dynamic import PROVIDER_KEY

    from components.bcrypt_hash import BcryptHashProvider

    provider = dill.loads(base64.b64decode(inputs[PROVIDER_KEY]))
    props = {k: v for k, v in inputs.items() if k != PROVIDER_KEY}
    if isinstance(provider, BcryptHashProvider):
        return {**inputs, **provider.create(props).outs}
    return dict(inputs)


def replaces(typ: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a change of inputs replaces the resource (new outputs) rather than updating it in place.

    RandomPassword as pulumi-random does it (terraform-provider-random internal/provider/resource_password.go:
    every argument that shapes the result is ``RequiresReplace``; ``keepers`` is ``RequiresReplaceIfValuesNotNull``,
    internal/planmodifiers/mapplanmodifiers/requires_replace_if_values_not_null.go): a changed keeper value
    replaces it, and so does a removed keeper key; a key added with a null value does not. Every other mock
    treats any change as a replacement, which is at least as strict.
    """
    if typ != PASSWORD:
        return True
    if {k: v for k, v in old.items() if k != "keepers"} != {k: v for k, v in new.items() if k != "keepers"}:
        return True
    before, after = old.get("keepers") or {}, new.get("keepers") or {}
    if set(before) - set(after):
        return True
    return any(value is not None and before.get(key) != value for key, value in after.items())


def generate(typ: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """What pulumi-random or pulumi-tls returns when it creates a resource of ``typ``: the inputs and the
    generated password, key or certificate; None for a type neither provides. The mocks here and the stand-in
    provider plugins the CLI tests run (tests/cli/plugins) both generate their material with it."""
    if typ == PASSWORD:
        result = _password(inputs)
        digest = bcrypt.hashpw(result.encode()[:72], bcrypt.gensalt(rounds=10)).decode()
        return {**inputs, "result": result, "bcryptHash": digest}
    if typ == PRIVATE_KEY:
        key = _private_key(inputs)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {**inputs, "privateKeyPem": _key_pem(key), "publicKeyPem": public.decode()}
    if typ == SELF_SIGNED:
        key = _load_key(inputs["privateKeyPem"])
        subject = _name(inputs.get("subject"))
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
        pem = _sign(
            inputs,
            subject,
            key.public_key(),
            subject,
            key,
            _sans(inputs),
            ski if inputs.get("setAuthorityKeyId") else None,
        )
        return {**inputs, "certPem": pem, **_validity(pem)}
    if typ == CERT_REQUEST:
        key = _load_key(inputs["privateKeyPem"])
        builder = x509.CertificateSigningRequestBuilder().subject_name(_name(inputs.get("subject")))
        sans = _sans(inputs)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        csr = builder.sign(key, hashes.SHA256())
        return {**inputs, "certRequestPem": csr.public_bytes(serialization.Encoding.PEM).decode()}
    if typ == LOCALLY_SIGNED:
        csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
        ca = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
        try:
            sans = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            sans = []
        pem = _sign(
            inputs, csr.subject, csr.public_key(), ca.subject, _load_key(inputs["caPrivateKeyPem"]), sans, _ski(ca)
        )
        return {**inputs, "certPem": pem, **_validity(pem)}
    return None


class RealisticMocks(pulumi.runtime.Mocks):
    """Mock providers that return real secrets, hashes, keys and certificates."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self.urns: dict[tuple[str, str], str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        urn = self.urns.get((args.typ, args.name), f"{args.typ}::{args.name}")
        inputs = _unwrap(args.inputs)
        remembered = self.state.resources.get(urn)
        if remembered is not None and remembered[0] == inputs:
            outputs = remembered[1]
        elif remembered is not None and not replaces(args.typ, remembered[0], inputs):
            outputs = {**remembered[1], **inputs}
            self.state.resources[urn] = (inputs, outputs)
        else:
            outputs = self._create(args.typ, inputs)
            self.state.resources[urn] = (inputs, outputs)
        return outputs.get("__id", f"{args.name}-id"), {k: v for k, v in outputs.items() if k != "__id"}

    def _create(self, typ: str, inputs: dict[str, Any]) -> dict[str, Any]:
        material = generate(typ, inputs)
        if material is not None:
            self.state.generated += 1
            return material
        if typ == IMAGE:
            digest = hashlib.sha256(inputs["name"].encode()).hexdigest()
            return {**inputs, "imageId": f"sha256:{digest}", "repoDigest": f"{inputs['name']}@sha256:{digest}"}
        if typ == CONTAINER:
            return {**inputs, "__id": secrets.token_hex(32)}
        if typ == VOLUME:
            return {**inputs, "mountpoint": f"/var/lib/docker/volumes/{inputs['name']}/_data"}
        if typ == PALETTE:
            uid = secrets.token_hex(12)
            return {**inputs, "uid": uid, "sync_status": "Pending", "__id": uid}
        if typ == READINESS:
            return {**inputs, "ready_seconds": 0.1, "attempts": 1, "health_status": 200}
        if typ.startswith(DYNAMIC):
            outputs = _dynamic_outputs(inputs)
            if "hash" in outputs and outputs["hash"] != inputs.get("hash"):
                self.state.generated += 1
            return outputs
        return dict(inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping each registration's parent, options and secret inputs."""

    def __init__(self, mocks: RealisticMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Recorded] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives a resource (pulumi/pulumi pkg/resource/deploy/deployment.go ``generateURN``).

        Its type is prefixed with the parent's whole qualified type (``Outer$Inner$type``), except when the
        parent is the root stack (``pulumi:pulumi:Stack``), whose children carry no prefix. The SDK's mock
        monitor keeps only the parent's last type and prefixes the stack's: an upgrade test compares URNs
        with the engine's, so they must be built the same way.
        """
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                qualified = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        assert isinstance(self.mocks, RealisticMocks)
        self.mocks.urns[(request.type, request.name)] = urn
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        secret_inputs = {key for key, value in raw.items() if _contains_secret(value)}
        inputs = {key: _unwrap(value) for key, value in raw.items()}
        outputs = self.mocks.state.resources[urn][1]
        self.recorded.append(
            Recorded(
                type=request.type,
                name=request.name,
                urn=urn,
                inputs=inputs,
                outputs={k: v for k, v in outputs.items() if k != "__id"},
                parent=request.parent or None,
                options={
                    "provider": request.provider or None,
                    "dependencies": list(request.dependencies),
                    "delete_before_replace": request.deleteBeforeReplace,
                    "retain_on_delete": request.retainOnDelete,
                    "protect": request.protect,
                    "additional_secret_outputs": list(request.additionalSecretOutputs),
                    "replace_on_changes": list(request.replaceOnChanges),
                    "ignore_changes": list(request.ignoreChanges),
                    "property_dependencies": {
                        key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                    "aliases": [_alias(alias) for alias in request.aliases],
                },
                secret_inputs=secret_inputs,
                id=response.id,
                secret_paths={path for key, value in raw.items() for path in _secret_paths(value, key)},
            )
        )
        return response


def _alias(alias: Any) -> dict[str, Any]:
    """An alias as sent to the engine: a full URN, or a spec (name/type/parent or no parent) to resolve."""
    if alias.HasField("urn"):
        return {"urn": alias.urn}
    spec = alias.spec
    return {
        "name": spec.name,
        "type": spec.type,
        "stack": spec.stack,
        "project": spec.project,
        "parent_urn": spec.parentUrn,
        "no_parent": spec.noParent,
    }


def _secret_paths(value: Any, path: str) -> list[str]:
    if rpc.is_rpc_secret(value):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _secret_paths(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _secret_paths(item, f"{path}[{index}]")]
    return []


def _contains_secret(value: Any) -> bool:
    if rpc.is_rpc_secret(value):
        return True
    if isinstance(value, dict):
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secret(v) for v in value)
    return False


def _unwrap(value: Any) -> Any:
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class _WarningLog:
    """Collects what the program says through pulumi.log (the mock engine's logger)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def debug(self, message: str, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, level: str) -> Any:
        return lambda message, *args, **kwargs: self.messages.append(f"{level}: {message}")


# ---------------------------------------------------------------------------------------------------------
# Running the program.


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans, as the CLI's gopkg.in/yaml.v3 resolves them (go-yaml
    ``resolve.go``: true/True/TRUE, false/False/FALSE; ``yes``, ``on`` and ``off`` stay strings)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    """YAML as the Pulumi CLI reads Pulumi.yaml and stack files."""
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


def declared_defaults() -> dict[str, Any]:
    """The defaults Pulumi.yaml declares, key -> value (a null default is none, as for the CLI)."""
    declared = load_yaml((ROOT / "Pulumi.yaml").read_text())["config"]
    return {key: spec["default"] for key, spec in declared.items() if spec.get("default") is not None}


def stack_config(stack: str) -> dict[str, Any]:
    """The committed Pulumi.<stack>.yaml config, project namespace stripped."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    data = load_yaml(path.read_text()) if path.exists() else {}
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in ((data or {}).get("config") or {}).items()}


def as_config_string(value: Any) -> str:
    """How the CLI hands config values to a program: strings, with lists and maps as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _every_limit_kept(host: str, container_name: str, **_: Any) -> EngineFacts:
    return EngineFacts()


def run_program(
    config: dict[str, Any] | None = None,
    *,
    stack: str = "dev",
    state: MockState | None = None,
    secrets_: set[str] | None = None,
    use_stack_file: bool = True,
    preview: bool = False,
    program_file: Path = PROGRAM,
    main: Callable[[], Any] | None = None,
    engine: Callable[..., EngineFacts] | None = None,
) -> ProgramRun:
    """Evaluate __main__.py for ``stack`` with its committed config, overridden by ``config``.

    ``engine`` stands in for ``components.docker_engine.ask_engine`` (what each Docker engine answers before
    deploying); by default every engine keeps memory and swap limits and adds no log options. Pass
    ``docker_engine.ask_engine`` itself to ask the real engines the config names.

    Keys in ``secrets_`` are passed as secret config, as `pulumi config set --secret` would. As the CLI
    does, every key the stack leaves unset gets its declared default, as a plain value (pulumi/pulumi
    ``pkg/workspace/config.go`` ``mergeConfig``). ``main``, when given, runs instead of the program file.
    """
    values = {
        **declared_defaults(),
        **(stack_config(stack) if use_stack_file else {}),
        **(config or {}),
    }
    state = state if state is not None else MockState()
    mocks = RealisticMocks(state)
    monitor = RecordingMonitor(mocks)
    log = _WarningLog()

    def evaluate() -> ProgramRun:
        # A loop of its own: a test that ran asyncio.run() earlier leaves this thread without one.
        asyncio.set_event_loop(asyncio.new_event_loop())
        pulumi.runtime.set_all_config(
            {f"{PROJECT}:{k}": as_config_string(v) for k, v in values.items()},
            [f"{PROJECT}:{k}" for k in (secrets_ or set())],
        )
        pulumi.runtime.settings.ROOT.set(None)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor, logger=log)  # type: ignore[arg-type]

        outputs: dict[str, pulumi.Output[Any]] = {}

        @pulumi.runtime.test
        def program() -> Any:
            if main is not None:
                main()
            else:
                runpy.run_path(str(program_file), run_name="__main__")
            root = pulumi.runtime.settings.get_root_resource()
            outputs.update({k: pulumi.Output.from_input(v) for k, v in (getattr(root, "outputs", {}) or {}).items()})
            return pulumi.Output.all(*outputs.values())

        with mock.patch.object(docker_engine, "ask_engine", engine or _every_limit_kept):
            program()
        exports = {key: _sync_await(output.future()) for key, output in outputs.items()}
        secret_exports = {key for key, output in outputs.items() if _sync_await(output.is_secret())}
        return ProgramRun(monitor.recorded, exports, secret_exports, log.messages)

    return contextvars.Context().run(evaluate)
