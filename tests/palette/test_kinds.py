"""What differs between the two kinds of registration, and what moving between them does.

The lifecycle both kinds share is tested once for each in test_provider.py (the ``kind`` table); here:
the OCI registration's exact wire shape (docs/palette-api.md "OCI registries"), the
checks that depend on the kind, drift on refresh field by field, a change of kind, ``sync_trigger``, and a
state written before kinds existed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from pulumi.output import Unknown

from components.palette.client import MASKED
from components.palette.errors import PaletteConflict
from components.palette.shapes import OWNER_ANNOTATION
from tests.support.palette_support import (
    KINDS,
    SERIALIZED,
    ca_pem,
    checked,
    declared,
    new_password,
)
from tests.support.paths import ROOT

NAME = "custom-packs"
LEGACY, OCI = KINDS["legacy"], KINDS["oci"]


pytestmark = pytest.mark.usefixtures("fast_http")


def created(provider, palette, kind, **overrides) -> tuple[str, dict, dict]:
    inputs = checked(provider, kind.declared(palette.url, **overrides))
    result = provider.create(inputs)
    return result.id, {**result.outs, "__provider": SERIALIZED}, inputs


def failures(provider, props: dict) -> dict[str, str]:
    result = provider.check({}, {**props, "__provider": SERIALIZED})
    return {f.property: f.reason for f in result.failures}


# ------------------------------------------------------------------------------------ the OCI wire shape


def oci_spec(password: str, **changes) -> dict:
    """The v1BasicOciRegistrySpec docs/palette-api.md "OCI registries" gives, written out."""
    spec = {
        "endpoint": "https://registry.example.com:5000",
        "providerType": "pack",
        "baseContentPath": "packs",
        "isSyncSupported": True,
        "containsSpectroManifest": False,
        "auth": {
            "type": "basic",
            "username": "palette",
            "password": password,
            "tls": {"enabled": True, "insecureSkipVerify": False, "certificate": ca_pem()},
        },
    }
    spec.update(changes)
    return spec


def test_an_oci_registration_is_validated_then_created_in_the_contracts_shape(provider, palette):
    uid, outs, inputs = created(provider, palette, OCI)

    validate, lookup, create = palette.requests
    assert validate.target == "POST /v1/registries/oci/basic/validate"
    assert validate.body == oci_spec(inputs["password"])  # the bare spec: no metadata, no name, no private
    assert lookup.target == "GET /v1/registries/oci/summary" and lookup.query == {}
    assert create.target == "POST /v1/registries/oci/basic"
    assert create.query == {"skipPackSync": ["false"]}
    assert create.body == {
        "metadata": {"name": NAME, "annotations": {OWNER_ANNOTATION: outs["owner"]}},
        "spec": oci_spec(inputs["password"]),
    }
    assert palette.kind_of(uid) == "oci"
    assert palette.named(NAME, kind="legacy") == []
    assert outs["provider_type"] == "pack" and outs["base_content_path"] == "packs"
    assert outs["registry_kind"] == "oci"


def test_an_oci_update_puts_the_whole_registration_with_the_real_password(provider, palette):
    uid, outs, _ = created(provider, palette, OCI)
    rotated = new_password()
    news = checked(provider, {**OCI.declared(palette.url, base_content_path="team/packs"), "password": rotated})
    palette.reset_calls()

    provider.update(uid, outs, news)

    assert [c.target for c in palette.requests] == [
        "POST /v1/registries/oci/basic/validate",
        f"PUT /v1/registries/oci/{uid}/basic",
        f"POST /v1/registries/oci/{uid}/basic/sync",
    ]
    put = palette.requests[1]
    assert put.body["spec"] == oci_spec(rotated, baseContentPath="team/packs")
    assert put.body["metadata"]["name"] == NAME
    assert put.body["metadata"]["annotations"] == {OWNER_ANNOTATION: outs["owner"]}
    assert palette.requests[2].query == {"forceSync": ["false"]}
    (stored,) = palette.named(NAME)
    assert stored["spec"]["auth"]["password"] == rotated != MASKED


def test_an_ecr_registry_of_the_same_name_is_not_adopted(provider, palette):
    OCI.add(palette, NAME, registry_type="ecr")

    with pytest.raises(PaletteConflict, match="'ecr'"):
        created(provider, palette, OCI)

    assert len(palette.named(NAME)) == 1
    assert palette.calls("POST", OCI.create_re) == [] and palette.calls("PUT") == []


def test_adopting_an_oci_registration_reads_it_for_the_annotations_the_summary_lacks(provider, palette):
    existing = OCI.add(palette, NAME, annotations={"team": "platform"}, provider_type="helm")

    uid, outs, _ = created(provider, palette, OCI)

    assert uid == existing
    assert [c.target for c in palette.requests][1:4] == [
        "GET /v1/registries/oci/summary",
        f"GET /v1/registries/oci/{uid}/basic",
        f"PUT /v1/registries/oci/{uid}/basic",
    ]
    (stored,) = palette.named(NAME)
    assert stored["metadata"]["annotations"] == {"team": "platform", OWNER_ANNOTATION: outs["owner"]}
    assert stored["spec"]["providerType"] == "pack"


# ------------------------------------------------------------------------------------ checks by kind


@pytest.mark.parametrize(
    ("overrides", "prop", "words"),
    [
        ({"allow_http": True}, "allow_http", "registry_kind oci"),
        ({"endpoint": "http://r.example.com", "allow_http": True, "ca_certificate": None}, "allow_http", "https://"),
        ({"private": False}, "private", "OCI"),
        ({"base_content_path": "Packs"}, "base_content_path", "lower-case"),
        ({"base_content_path": "/packs"}, "base_content_path", "leading or trailing"),
        ({"base_content_path": "packs/"}, "base_content_path", "leading or trailing"),
        ({"base_content_path": "team/../packs"}, "base_content_path", "OCI repository path"),
        ({"base_content_path": "team//packs"}, "base_content_path", "OCI repository path"),
        ({"base_content_path": ""}, "base_content_path", "must not be empty"),
        ({"base_content_path": 3.0}, "base_content_path", "must be a string"),
        ({"registry_kind": "helm"}, "registry_kind", "legacy, oci"),
        ({"sync_trigger": 5.0}, "sync_trigger", "must be a string"),
    ],
)
def test_oci_check_names_the_bad_property(provider, palette, overrides, prop, words):
    found = failures(provider, OCI.declared(palette.url, **overrides))
    assert prop in found, found
    assert words in found[prop] and found[prop].startswith(prop)


def test_a_legacy_registration_refuses_a_base_content_path(provider, palette):
    found = failures(provider, declared(palette.url, base_content_path="packs"))
    assert "registry_kind oci" in found["base_content_path"]


@pytest.mark.parametrize("path", ["packs", "team/packs", "my-packs", "a.b_c/d__e", "x--y/z0"])
def test_oci_check_accepts_repository_paths(provider, palette, path):
    assert checked(provider, OCI.declared(palette.url, base_content_path=path))["base_content_path"] == path


def test_oci_check_defaults_the_base_content_path_and_fixes_the_provider_type(provider, palette):
    props = {**OCI.declared(palette.url), "provider_type": "helm"}
    del props["base_content_path"]

    inputs = checked(provider, props)

    assert inputs["base_content_path"] == "packs"
    assert inputs["provider_type"] == "pack"


def test_an_unknown_kind_in_a_preview_is_accepted_and_replaces(provider, palette):
    uid, outs, _ = created(provider, palette, LEGACY)
    result = provider.check({}, {**declared(palette.url), "registry_kind": Unknown(), "__provider": SERIALIZED})
    assert result.failures == []

    diff = provider.diff(uid, outs, {**result.inputs, "password": outs["password"]})

    assert diff.replaces == ["registry_kind"]


# ------------------------------------------------------------------------------------ drift on refresh

# (kind, out-of-band edit in Palette, the output a refresh reports, its value, where the PUT restores it)
DRIFTS = [
    *(
        (name, edit, output, seen, restored)
        for name in sorted(KINDS)
        for edit, output, seen, restored in [
            ({"endpoint": "https://elsewhere.example.com"}, "endpoint", "https://elsewhere.example.com", "endpoint"),
            ({"username": "intruder"}, "username", "intruder", "username"),
            ({"certificate": ""}, "ca_certificate", None, "certificate"),
        ]
    ),
    ("legacy", {"private": False}, "private", False, "private"),
    ("oci", {"baseContentPath": "elsewhere"}, "base_content_path", "elsewhere", "baseContentPath"),
    ("oci", {"providerType": "helm"}, "provider_type", "helm", "providerType"),
]


def _spec_field(stored: dict, key: str):
    spec = stored["spec"]
    if key in spec:
        return spec[key]
    auth = spec["auth"]
    return auth[key] if key in auth else auth["tls"][key]


@pytest.mark.parametrize(("kind_name", "edit", "output", "seen", "restored"), DRIFTS)
def test_each_field_palette_holds_drifts_on_refresh_and_is_put_back(
    provider, palette, kind_name, edit, output, seen, restored
):
    kind = KINDS[kind_name]
    uid, outs, inputs = created(provider, palette, kind)
    declared_value = _spec_field(palette.named(NAME)[0], restored)
    palette.edit(uid, **edit)

    refreshed = {**provider.read(uid, outs).outs, "__provider": SERIALIZED}

    assert refreshed[output] == seen
    assert refreshed["password"] == inputs["password"]
    news = checked(provider, {**kind.declared(palette.url), "password": inputs["password"]})
    diff = provider.diff(uid, refreshed, news)
    assert diff.changes is True and diff.replaces == []
    palette.reset_calls()
    provider.update(uid, refreshed, news)
    assert palette.calls("PUT")
    (stored,) = palette.named(NAME)
    assert _spec_field(stored, restored) == declared_value
    assert stored["spec"]["auth"]["password"] == inputs["password"]


# ------------------------------------------------------------------------------------ a change of kind


@pytest.mark.parametrize(("old", "new"), [(LEGACY, OCI), (OCI, LEGACY)], ids=["legacy-to-oci", "oci-to-legacy"])
def test_a_new_kind_replaces_the_registration_deleting_the_old_one_first(provider, palette, old, new):
    """The resource is delete-before-replace (test_replace.py), and the provider asks for it too:
    the engine deletes the old kind's registration, then creates the new kind's (step_generator.go)."""
    old_id, old_outs, inputs = created(provider, palette, old)
    news = checked(provider, {**new.declared(palette.url), "password": inputs["password"]})

    diff = provider.diff(old_id, old_outs, news)

    assert diff.changes is True
    assert diff.replaces == ["registry_kind"]
    assert diff.delete_before_replace is True
    palette.reset_calls()
    provider.delete(old_id, old_outs)
    replacement = provider.create(news)

    targets = [c.target for c in palette.requests]
    deleted = targets.index(f"DELETE {old.item(old_id)}")
    registered = targets.index(f"POST {new.create}")
    assert deleted < registered, targets
    (stored,) = palette.named(NAME)
    assert stored["metadata"]["uid"] == replacement.id != old_id
    assert palette.kind_of(replacement.id) == new.name
    assert replacement.outs["registry_kind"] == new.name
    assert provider.read(replacement.id, {**replacement.outs, "__provider": SERIALIZED}).id == replacement.id


# ------------------------------------------------------------------------------------ sync_trigger


def test_a_new_sync_trigger_starts_one_sync_and_puts_nothing(provider, palette, kind):
    uid, outs, inputs = created(provider, palette, kind, sync_trigger="digest-1")
    palette.reset_calls()
    news = checked(provider, {**kind.declared(palette.url, sync_trigger="digest-2"), "password": inputs["password"]})

    diff = provider.diff(uid, outs, news)
    assert diff.changes is True and diff.replaces == []
    result = provider.update(uid, outs, news)

    assert [c.target for c in palette.requests] == [f"POST {kind.sync(uid)}"]
    assert result.outs["sync_trigger"] == "digest-2"
    assert result.outs["sync_status"] == "Pending"


def test_the_same_sync_trigger_is_no_change_and_no_call(provider, palette, kind):
    uid, outs, inputs = created(provider, palette, kind, sync_trigger="digest-1")
    palette.reset_calls()
    news = checked(provider, {**kind.declared(palette.url, sync_trigger="digest-1"), "password": inputs["password"]})

    assert provider.diff(uid, outs, news).changes is False
    assert palette.requests == []


def test_a_new_sync_trigger_with_sync_off_calls_nothing(provider, palette, kind):
    uid, outs, inputs = created(provider, palette, kind, sync=False, sync_trigger="digest-1")
    palette.reset_calls()
    news = checked(
        provider, {**kind.declared(palette.url, sync=False, sync_trigger="digest-2"), "password": inputs["password"]}
    )

    result = provider.update(uid, outs, news)

    assert palette.requests == []
    assert (result.outs["sync_trigger"], result.outs["sync_status"]) == ("digest-2", "")


def test_a_new_sync_trigger_with_wait_reports_the_outcome(provider, palette, kind):
    uid, outs, inputs = created(provider, palette, kind, wait_for_sync=True, sync_trigger="a")
    palette.reset_calls()
    news = checked(
        provider, {**kind.declared(palette.url, wait_for_sync=True, sync_trigger="b"), "password": inputs["password"]}
    )

    result = provider.update(uid, outs, news)

    assert [c.target for c in palette.requests] == [f"POST {kind.sync(uid)}", f"GET {kind.sync_status(uid)}"]
    assert result.outs["sync_status"] == "Completed"


# ------------------------------------------------------------------------------------ a state from before kinds

# The outputs today's provider (before registry_kind) writes for a registration, key for key.
TODAYS_STATE_KEYS = {
    "__provider",
    "api_url",
    "name",
    "endpoint",
    "username",
    "password",
    "ca_certificate",
    "tls_enabled",
    "insecure_skip_verify",
    "private",
    "validate",
    "sync",
    "wait_for_sync",
    "sync_timeout_seconds",
    "allow_http",
    "uid",
    "sync_status",
    "owner",
}


def todays_state(provider, palette) -> tuple[str, dict]:
    uid, outs, _ = created(provider, palette, LEGACY)
    state = {key: value for key, value in outs.items() if key in TODAYS_STATE_KEYS}
    assert set(state) == TODAYS_STATE_KEYS
    return uid, state


@pytest.mark.parametrize(
    "spelled", [{}, {"registry_kind": "legacy"}, {"sync_trigger": ""}, {"registry_kind": "legacy", "sync_trigger": ""}]
)
def test_a_state_from_before_kinds_is_no_change(provider, palette, spelled):
    """An existing legacy stack upgrades with no diff: its state has none of the new keys, and the program
    leaves them out (or gives their defaults)."""
    uid, state = todays_state(provider, palette)
    palette.reset_calls()
    news = checked(provider, {**declared(palette.url, **spelled), "password": state["password"]})

    diff = provider.diff(uid, state, news)

    assert diff.changes is False and diff.replaces == []
    assert palette.requests == []


def test_a_state_from_before_kinds_is_read_updated_and_deleted_as_legacy(provider, palette):
    uid, state = todays_state(provider, palette)
    palette.reset_calls()

    assert provider.read(uid, state).id == uid
    rotated = checked(provider, {**declared(palette.url, validate=False), "password": new_password()})
    provider.update(uid, state, rotated)
    provider.delete(uid, state)

    assert [c.target for c in palette.requests] == [
        f"GET /v1/registries/pack/{uid}",
        f"PUT /v1/registries/pack/{uid}",
        f"POST /v1/registries/pack/{uid}/sync",
        f"GET /v1/registries/pack/{uid}",
        f"DELETE /v1/registries/pack/{uid}",
    ]
    assert palette.named(NAME) == []


# ------------------------------------------------------------------------------------ the resource


def test_the_resource_registers_the_oci_inputs():
    # set_mocks changes process-wide state, so the program runs in its own interpreter.
    script = textwrap.dedent(
        """
        import json, pulumi
        from pulumi.runtime import mocks, rpc

        seen = {}

        class Monitor(mocks.MockMonitor):
            def RegisterResource(self, request):
                if request.type != "pulumi:pulumi:Stack":
                    raw = rpc.deserialize_properties(request.object)
                    seen[request.name] = {k: v for k, v in raw.items() if k in
                                          ("registry_kind", "base_content_path", "sync_trigger", "private")}
                return super().RegisterResource(request)

        class Mocks(pulumi.runtime.Mocks):
            def new_resource(self, args):
                return "uid-1", {**args.inputs, "uid": "uid-1"}
            def call(self, args):
                return {}

        pulumi.runtime.set_mocks(Mocks(), project="palette-pack-registry", monitor=Monitor(Mocks()))
        from components.palette import PaletteRegistration

        @pulumi.runtime.test
        def run():
            common = dict(name="custom-packs", endpoint="https://r.example.com", username="palette",
                          password="pw", insecure_skip_verify=True)
            oci = PaletteRegistration("oci", **common, registry_kind="oci", base_content_path="packs",
                                      sync_trigger="sha256:abc")
            legacy = PaletteRegistration("legacy", **common)
            return pulumi.Output.all(oci.uid, legacy.uid)

        run()
        print(json.dumps(seen))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["oci"] == {
        "registry_kind": "oci",
        "base_content_path": "packs",
        "sync_trigger": "sha256:abc",
        "private": True,
    }
    assert seen["legacy"] == {"private": True}


@pytest.mark.parametrize("kind", [[], {}, ["oci"], {"oci": True}])
def test_a_registry_kind_that_is_not_a_string_is_refused_not_a_crash(kind) -> None:
    """``registry_kind`` is looked up in a dict of shapes: a list or a dict (unhashable) must come back as the same
    CheckFailure as any other unknown kind, and a diff must still answer (a replacement), not raise TypeError."""
    from components.palette import PackRegistryProvider

    props = {"name": "r", "endpoint": "http://a:5000", "username": "u", "password": "p", "allow_http": True}
    checked = PackRegistryProvider().check({}, {**props, "registry_kind": kind})
    assert [(f.property, f.reason) for f in checked.failures] == [
        ("registry_kind", f"registry_kind must be one of legacy, oci (got {kind!r})")
    ]
    diff = PackRegistryProvider().diff("uid", {**props, "registry_kind": "legacy"}, {**props, "registry_kind": kind})
    assert diff.changes
