"""The whole program under Pulumi mocks: what it declares, what it exports, and that a re-run changes nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import bcrypt
import pulumi
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.harness import CONTAINER, PALETTE, READINESS, MockState, ProgramRun, run_program

COMPONENTS = {
    "palette-pack-registry:registry:Credentials": "credentials",
    "palette-pack-registry:registry:Certificates": "tls",
    "palette-pack-registry:registry:Registry": "registry",
}


def test_declares_the_expected_resources_with_kebab_case_children(dev_run: ProgramRun) -> None:
    types = Counter(r.type for r in dev_run.resources)
    top = dev_run.one("palette-pack-registry:registry:PackRegistry")
    assert top.parent and top.parent.endswith("pulumi:pulumi:Stack::palette-pack-registry-dev")
    # Everything else is the component's: __main__.py only reads settings and exports.
    assert [r.name for r in dev_run.resources if r.parent == top.parent] == ["pack-registry"]
    for type_, name in COMPONENTS.items():
        component = dev_run.one(type_)
        assert component.name == name
        assert component.parent == top.urn
        children = [r for r in dev_run.resources if r.parent == component.urn]
        assert children, f"{name} has no children"
        for child in children:
            assert child.name.startswith(f"{name}-"), child.name
            assert child.name == child.name.lower() and " " not in child.name
    assert types["docker:index/container:Container"] == 1
    assert types["random:index/randomPassword:RandomPassword"] == 3  # admin, spectro, http secret
    assert types["tls:index/privateKey:PrivateKey"] == 2


def test_exports(dev_run: ProgramRun) -> None:
    exports = dev_run.exports
    assert exports["endpoint"] == "https://localhost:5443"
    assert exports["caCertificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert exports["adminUser"] == "admin"
    assert exports["readOnlyUsers"] == ["spectro"]
    assert exports["loginCommand"] == "spectro registry login localhost:5443"
    assert exports["curlCommand"] == "curl --cacert ca.crt -u spectro https://localhost:5443/v1/_catalog"
    assert exports["containerName"] == "spectro-registry-dev"
    assert exports["dataVolume"] == "spectro-registry-dev-data"
    assert len(exports["adminPassword"]) == 32
    assert len(exports["readOnlyPasswords"]) == 1


def test_passwords_are_secret_and_nothing_else_leaks_them(dev_run: ProgramRun) -> None:
    assert {"adminPassword", "readOnlyPasswords"} <= dev_run.secret_exports
    secrets = [dev_run.exports["adminPassword"], *dev_run.exports["readOnlyPasswords"]]
    for key, value in dev_run.exports.items():
        if key in dev_run.secret_exports:
            continue
        for secret in secrets:
            assert secret not in str(value), f"export {key} contains a password"
        assert "PRIVATE KEY" not in str(value), f"export {key} contains a private key"


def test_http_mode_exports_an_insecure_login(http_run: ProgramRun) -> None:
    assert http_run.exports["endpoint"] == "http://localhost"
    assert http_run.exports["loginCommand"] == "spectro registry login localhost --insecure"
    assert http_run.exports["curlCommand"] == "curl -u spectro http://localhost/v1/_catalog"


def test_bad_config_fails_before_any_resource_is_registered() -> None:
    from tests.support.harness import MockState as State

    state = State()
    with pytest.raises(Exception, match=r"config key 'palette-pack-registry:port'"):
        run_program({"port": 99999}, state=state)
    assert state.resources == {}


def _inputs(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.urn: r.inputs for r in run.resources}


def test_second_run_with_nothing_changed_declares_identical_inputs_and_generates_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = MockState()
    first = run_program(state=state)
    assert state.generated >= 7  # 3 passwords (+ hashes), 2 keys, CA, CSR, server certificate
    generated_before = state.generated

    calls: Counter[str] = Counter()

    def counting(name: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(bcrypt, "hashpw", counting("bcrypt.hashpw", bcrypt.hashpw))
    monkeypatch.setattr(bcrypt, "gensalt", counting("bcrypt.gensalt", bcrypt.gensalt))
    monkeypatch.setattr(ec, "generate_private_key", counting("ec.generate_private_key", ec.generate_private_key))
    monkeypatch.setattr(rsa, "generate_private_key", counting("rsa.generate_private_key", rsa.generate_private_key))

    second = run_program(state=state)
    assert _inputs(second) == _inputs(first)
    assert second.exports == first.exports
    assert state.generated == generated_before
    assert calls == Counter(), f"the second run hashed or generated keys: {dict(calls)}"


def test_changing_one_setting_changes_only_what_depends_on_it() -> None:
    state = MockState()
    first = _inputs(run_program(state=state))
    second = _inputs(run_program({"logLevel": "debug"}, state=state))
    changed = {urn.rsplit("::", 1)[-1] for urn in first if first[urn] != second[urn]}
    # A new container re-runs the readiness gate (its trigger is the container id).
    assert changed == {"registry-container", "readiness"}


def test_rotation_changes_passwords_http_secret_and_container_only() -> None:
    state = MockState()
    first = _inputs(run_program(state=state))
    second = _inputs(run_program({"rotationKeeper": "2"}, state=state))
    changed = {urn.rsplit("::", 1)[-1] for urn in first if first[urn] != second[urn]}
    # Each new password's bcrypt hash (components/credentials/bcrypt_hash.py) is made again with it.
    assert changed == {
        "credentials-admin",
        "credentials-spectro",
        "credentials-admin-hash",
        "credentials-spectro-hash",
        "registry-http-secret",
        "registry-container",
        "readiness",
    }


def test_container_is_the_only_consumer_of_the_htpasswd(dev_run: ProgramRun) -> None:
    container = dev_run.one(CONTAINER)
    deps = {urn.rsplit("::", 1)[-1] for urn in container.options["dependencies"]}
    assert {"credentials-admin-hash", "credentials-spectro-hash", "tls-server", "registry-image"} <= deps
    htpasswd = next(u["content"] for u in container.inputs["uploads"] if u["file"] == "/auth/htpasswd-basic")
    hashes = [line.split(":", 1)[1] for line in htpasswd.splitlines()]
    holders = {r.name for r in dev_run.resources if any(h in repr(r.inputs) for h in hashes)}
    assert holders == {container.name}


def test_readiness_gate_waits_for_the_container_with_the_read_only_user(dev_run: ProgramRun) -> None:
    gate = dev_run.one(READINESS)
    container = dev_run.one(CONTAINER)
    assert container.urn in gate.options["dependencies"]
    assert gate.inputs["url"] == "https://localhost:5443"
    assert gate.inputs["server_name"] == "localhost"
    assert gate.inputs["username"] == "spectro"
    assert gate.inputs["password"] == dev_run.exports["readOnlyPasswords"][0]
    assert "password" in gate.secret_inputs
    assert gate.inputs["ca_certificate"] == dev_run.exports["caCertificate"]
    assert gate.inputs["health_path"] == "/health" and gate.inputs["catalog_path"] == "/v1/_catalog"
    assert gate.inputs["timeout_seconds"] == 60
    assert gate.inputs["interval_seconds"] <= 0.25
    # Re-run whenever the container is replaced: its id (whatever the provider makes it) is the trigger.
    assert gate.inputs["triggers"] == {"container": container.id}
    assert gate.options["property_dependencies"]["triggers"] == [container.urn]


def test_readiness_gate_can_be_turned_off() -> None:
    assert not run_program({"readinessCheck": False}).all(READINESS)


def test_palette_registration_is_off_by_default_and_says_so_once(dev_run: ProgramRun) -> None:
    assert not dev_run.all(PALETTE)
    assert not {"paletteRegistrationUid", "paletteRegistrationName", "paletteSyncStatus"} & set(dev_run.exports)
    said = [w for w in dev_run.warnings if "Palette registration" in w]
    assert said == ["info: Palette registration is off: no paletteApiKey, PALETTE_API_KEY or paletteApiUrl is set."]


API_KEY = "palette-api-key-0123456789abcdef"
# Palette must reach the endpoint: the dev stack's localhost endpoint keeps registration off.
REACHABLE = {"hosts": ["registry.example.com", "localhost"]}


@pytest.fixture(scope="module")
def palette_run() -> ProgramRun:
    return run_program({**REACHABLE, "paletteApiKey": API_KEY}, secrets_={"paletteApiKey"})


def test_an_exported_palette_key_does_not_register_the_dev_stacks_localhost(monkeypatch) -> None:
    monkeypatch.setenv("PALETTE_API_KEY", API_KEY)
    run = run_program(stack="dev")
    assert not run.all(PALETTE)
    said = [w for w in run.warnings if "Palette registration" in w]
    assert len(said) == 1 and "loopback" in said[0] and "'localhost'" in said[0]


def test_a_plain_text_secret_in_the_stack_file_stops_the_program_in_one_line() -> None:
    with pytest.raises(pulumi.RunError, match=r"paletteApiKey': is stored in plain text") as caught:
        run_program({**REACHABLE, "paletteApiKey": API_KEY})
    assert API_KEY not in str(caught.value) and "\n" not in str(caught.value)


def test_palette_user_admin_is_allowed_with_a_warning() -> None:
    run = run_program({**REACHABLE, "paletteApiKey": API_KEY, "paletteUser": "admin"}, secrets_={"paletteApiKey"})
    assert run.one(PALETTE).inputs["username"] == "admin"
    assert any(w.startswith("warning: paletteUser is the admin user") for w in run.warnings)


def test_palette_registration_inputs_and_ordering(palette_run: ProgramRun) -> None:
    registration = palette_run.one(PALETTE)
    inputs = registration.inputs
    assert inputs["name"] == "spectro-registry-dev"
    assert inputs["api_url"] == "https://api.spectrocloud.com"
    assert inputs["endpoint"] == "https://registry.example.com:5443"
    assert inputs["username"] == "spectro"
    assert inputs["password"] == palette_run.exports["readOnlyPasswords"][0]
    assert "password" in registration.secret_inputs
    assert inputs["ca_certificate"] == palette_run.exports["caCertificate"]
    assert inputs["tls_enabled"] is True and inputs["insecure_skip_verify"] is False
    assert inputs["validate"] is True and inputs["sync"] is True and inputs["wait_for_sync"] is False
    # It waits for the readiness gate, which waits for the container.
    gate = palette_run.one(READINESS)
    assert gate.urn in registration.options["dependencies"]
    assert palette_run.one(CONTAINER).urn in gate.options["dependencies"]
    # The exports are the registration's own outputs (their values are the mock provider's).
    assert palette_run.exports["paletteRegistrationUid"] == registration.outputs["uid"]
    assert palette_run.exports["paletteRegistrationName"] == registration.outputs["name"]
    assert palette_run.exports["paletteSyncStatus"] == registration.outputs["sync_status"]


def test_palette_api_key_is_in_no_input_output_or_export(palette_run: ProgramRun) -> None:
    for record in palette_run.resources:
        assert API_KEY not in repr(record.inputs), record.name
        assert API_KEY not in repr(record.outputs), record.name
        provider = record.inputs.get("__provider")
        if provider:
            import base64

            assert API_KEY.encode() not in base64.b64decode(provider), record.name
    assert API_KEY not in repr(palette_run.exports)


def test_palette_registration_depends_on_the_container_when_the_gate_is_off() -> None:
    run = run_program({**REACHABLE, "paletteApiKey": API_KEY, "readinessCheck": False}, secrets_={"paletteApiKey"})
    assert run.one(CONTAINER).urn in run.one(PALETTE).options["dependencies"]


NEXT_IMAGE = "gcr.io/spectro-images-public/release/spectro-registry:2.7.0"


def test_upgrading_the_image_replaces_only_the_container() -> None:
    """A new pinned tag changes the image reference and the container (which runs the image by id) and
    re-runs the readiness gate; passwords, htpasswd, certificates, the http secret and the data volume keep
    their inputs, so nothing else is replaced or regenerated, and Palette's record is left alone."""
    state = MockState()
    config = {**REACHABLE, "paletteApiKey": API_KEY}
    first = run_program(config, secrets_={"paletteApiKey"}, state=state)
    generated = state.generated
    second = run_program({**config, "image": NEXT_IMAGE}, secrets_={"paletteApiKey"}, state=state)
    before, after = _inputs(first), _inputs(second)
    assert before.keys() == after.keys()
    changed = {urn.rsplit("::", 1)[-1] for urn in before if before[urn] != after[urn]}
    assert changed == {"registry-image", "registry-container", "readiness"}
    assert state.generated == generated
    old, new = first.one(CONTAINER).inputs, second.one(CONTAINER).inputs
    assert {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)} == {"image"}
    assert new["image"] == second.one("docker:index/remoteImage:RemoteImage").outputs["imageId"]
    assert first.one(PALETTE).inputs == second.one(PALETTE).inputs
    for key in ("adminPassword", "readOnlyPasswords", "caCertificate", "certificateExpiresAt", "dataVolume"):
        assert first.exports[key] == second.exports[key], key


def test_a_provided_certificate_expiring_within_the_early_renewal_window_is_warned_about() -> None:
    """A provided certificate is not reissued by `pulumi up`: one that expires within certEarlyRenewalHours
    (720 by default; this one has 7 days left) must be said once, naming tlsCertificate, while nothing stops."""
    from tests.support.certs import make_ca, make_leaf

    _ca, ca_key, ca_cert = make_ca()
    leaf = make_leaf(ca_key, ca_cert, ["localhost"], ["127.0.0.1"])
    run = run_program(
        {"tlsMode": "provided", "tlsCertificate": leaf.certificate_pem, "tlsPrivateKey": leaf.key_pem},
        secrets_={"tlsPrivateKey"},
    )
    assert run.one(CONTAINER)
    said = [w for w in run.warnings if w.startswith("warning:") and "tlsCertificate" in w]
    assert len(said) == 1, run.warnings
