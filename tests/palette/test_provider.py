"""The dynamic provider's methods called directly, against the fake Palette."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import pytest
from pulumi.dynamic import ReadResult
from pulumi.output import Unknown

from components import palette as palette_module
from components.palette import INPUTS, OUTPUTS, PackRegistryProvider
from components.palette.access import DEFAULT_API_URL
from components.palette.client import MASKED
from components.palette.errors import (
    PaletteAuthError,
    PaletteBadRequest,
    PaletteNotFound,
    PaletteSyncError,
    PaletteUnavailable,
)
from components.palette.shapes import OWNER_ANNOTATION
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import (
    KINDS,
    SERIALIZED,
    Kind,
    ca_pem,
    checked,
    configure,
    declared,
    new_password,
    private_key_pem,
)
from tests.support.paths import ROOT

NAME = "custom-packs"


LEGACY_KIND = KINDS["legacy"]


pytestmark = pytest.mark.usefixtures("fast_http")


def created(provider, palette, kind: Kind, **overrides) -> tuple[str, dict, dict]:
    """Create a registration of ``kind``; its id, outputs (as the state keeps them) and checked inputs."""
    inputs = checked(provider, kind.declared(palette.url, **overrides))
    result = provider.create(inputs)
    return result.id, {**result.outs, "__provider": SERIALIZED}, inputs


def failures(provider, props: dict) -> dict[str, str]:
    result = provider.check({}, {**props, "__provider": SERIALIZED})
    return {f.property: f.reason for f in result.failures}


# ---------------------------------------------------------------------------------------------- check


def test_check_fills_defaults_and_normalises(provider):
    props = declared(DEFAULT_API_URL + "/", endpoint="https://Registry.Example.com:443/", sync_timeout_seconds=90.0)
    del props["api_url"]

    inputs = checked(provider, props)

    assert inputs["api_url"] == DEFAULT_API_URL
    assert inputs["endpoint"] == "https://registry.example.com"
    assert inputs["sync_timeout_seconds"] == 90 and isinstance(inputs["sync_timeout_seconds"], int)
    assert inputs["tls_enabled"] is True
    assert inputs["private"] is True and inputs["insecure_skip_verify"] is False
    assert inputs["validate"] is True and inputs["sync"] is True and inputs["wait_for_sync"] is False
    assert inputs["allow_http"] is False
    assert inputs["ca_certificate"] == ca_pem()
    assert inputs["__provider"] == SERIALIZED


def test_check_keeps_a_port_and_an_http_endpoint_when_allowed(provider, palette):
    assert checked(provider, declared(palette.url))["endpoint"] == "https://registry.example.com:5000"

    inputs = checked(
        provider, declared(palette.url, endpoint="http://10.0.0.5:5000", allow_http=True, ca_certificate=None)
    )
    assert inputs["endpoint"] == "http://10.0.0.5:5000"
    assert inputs["tls_enabled"] is False


def test_check_accepts_insecure_skip_verify_without_a_certificate(provider, palette):
    inputs = checked(provider, declared(palette.url, ca_certificate=None, insecure_skip_verify=True))
    assert "ca_certificate" not in inputs


@pytest.mark.parametrize(
    ("overrides", "prop", "words"),
    [
        ({"name": ""}, "name", "must not be empty"),
        ({"name": " padded "}, "name", "spaces"),
        ({"name": None}, "name", "is required"),
        ({"name": 7.0}, "name", "must be a string"),
        ({"endpoint": "http://registry.example.com:5000", "ca_certificate": None}, "endpoint", "https://"),
        ({"endpoint": "ftp://registry.example.com"}, "endpoint", "https://"),
        ({"endpoint": "registry.example.com:5000"}, "endpoint", "https://"),
        ({"endpoint": "https://registry.example.com/v2/"}, "endpoint", "scheme://host"),
        ({"endpoint": "https://user:pw@registry.example.com"}, "endpoint", "credentials"),
        ({"endpoint": "https://registry.example.com:99999"}, "endpoint", "port"),
        ({"endpoint": "https://registry.example.com?x=1"}, "endpoint", "query"),
        ({"username": ""}, "username", "must not be empty"),
        ({"username": None}, "username", "is required"),
        ({"password": None}, "password", "is required"),
        ({"password": MASKED}, "password", "mask"),
        ({"ca_certificate": None}, "ca_certificate", "insecure_skip_verify"),
        ({"ca_certificate": "not a certificate"}, "ca_certificate", "PEM"),
        ({"ca_certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "ca_certificate", "PEM"),
        ({"ca_certificate": private_key_pem()}, "ca_certificate", "private key"),
        ({"tls_enabled": False}, "tls_enabled", "https://"),
        (
            {"endpoint": "http://r.example.com", "allow_http": True, "tls_enabled": True, "ca_certificate": None},
            "tls_enabled",
            "http://",
        ),
        ({"endpoint": "http://r.example.com", "allow_http": True}, "ca_certificate", "http://"),
        ({"private": "yes"}, "private", "true or false"),
        ({"insecure_skip_verify": 1.0}, "insecure_skip_verify", "true or false"),
        ({"sync": False, "wait_for_sync": True}, "wait_for_sync", "needs sync"),
        ({"sync_timeout_seconds": 0.0}, "sync_timeout_seconds", "whole number"),
        ({"sync_timeout_seconds": 1.5}, "sync_timeout_seconds", "whole number"),
        ({"sync_timeout_seconds": True}, "sync_timeout_seconds", "whole number"),
        ({"api_url": "http://palette.example.com"}, "api_url", "https://"),
        ({"api_url": "palette.example.com"}, "api_url", "https://"),
    ],
)
def test_check_names_the_bad_property(provider, palette, overrides, prop, words):
    found = failures(provider, {**declared(palette.url), **overrides})
    assert prop in found, found
    assert words in found[prop]
    assert found[prop].startswith(prop)


def test_check_reports_every_failure_at_once(provider):
    found = failures(provider, {"endpoint": "ftp://x", "username": "", "private": "no"})
    assert {"name", "endpoint", "username", "password", "private"} <= set(found)


@pytest.mark.parametrize(
    "prop",
    [
        "endpoint",
        "password",
        "ca_certificate",
        "name",
        "allow_http",
        "insecure_skip_verify",
        "api_url",
        "sync_timeout_seconds",
    ],
)
def test_check_accepts_unknown_values_during_a_preview(provider, palette, prop):
    props = {**declared(palette.url), prop: Unknown()}

    result = provider.check({}, {**props, "__provider": SERIALIZED})

    assert result.failures == []
    assert isinstance(result.inputs[prop], Unknown)


def test_check_does_not_call_palette(provider, palette):
    checked(provider, declared(palette.url))
    assert palette.requests == []


# ---------------------------------------------------------------------------------------------- create


def test_create_registers_and_reports(provider, palette, kind):
    uid, outs, inputs = created(provider, palette, kind)

    (stored,) = palette.named(NAME)
    assert stored["metadata"]["uid"] == uid
    assert stored["spec"]["auth"]["password"] == inputs["password"]
    assert stored["spec"]["auth"]["tls"]["certificate"] == ca_pem()
    assert set(outs) == (set(INPUTS) - kind.absent) | set(OUTPUTS) | kind.extra_outputs | {"__provider"}
    assert outs["uid"] == uid
    assert outs["password"] == inputs["password"]
    assert outs["endpoint"] == "https://registry.example.com:5000"
    assert outs["sync_status"] == "Pending"


def test_create_makes_three_calls_with_validate_and_sync(provider, palette, kind):
    created(provider, palette, kind)

    assert [c.target for c in palette.requests] == [
        f"POST {kind.validate}",
        f"GET {kind.listing}",
        f"POST {kind.create}",
    ]
    # The create itself starts the sync: no separate sync call.
    assert palette.calls("POST")[-1].query == {"skipPackSync": ["false"]}
    assert len(palette.requests) <= 4


def test_create_waiting_for_sync_makes_four_calls(provider, palette, kind):
    _, outs, _ = created(provider, palette, kind, wait_for_sync=True)

    assert outs["sync_status"] == "Completed"
    assert len(palette.requests) == 4
    assert palette.requests[-1].target.endswith("/sync/status")


def test_create_without_sync_skips_it(provider, palette, kind):
    _, outs, _ = created(provider, palette, kind, sync=False, validate=False)

    assert [c.target for c in palette.requests] == [f"GET {kind.listing}", f"POST {kind.create}"]
    assert palette.requests[-1].query == {"skipPackSync": ["true"]}
    assert outs["sync_status"] == ""


def test_failed_validation_registers_nothing(provider, palette, kind):
    palette.validate_error = (400, "cannot reach https://registry.example.com:5000/v2/")

    with pytest.raises(Exception, match="cannot reach"):
        created(provider, palette, kind)
    assert palette.named(NAME) == []


def test_an_existing_registration_is_adopted(provider, palette, kind):
    existing = kind.add(palette, NAME, endpoint="https://old.example.com", username="old")

    uid, _, inputs = created(provider, palette, kind)

    assert uid == existing
    (stored,) = palette.named(NAME)
    assert stored["spec"]["endpoint"] == "https://registry.example.com:5000"
    assert stored["spec"]["auth"]["username"] == "palette"
    assert stored["spec"]["auth"]["password"] == inputs["password"]
    assert palette.calls("POST", kind.create_re) == []
    # An adopted registration is not synced by a create: it is told to.
    assert len(palette.calls("POST", f"{kind.sync(uid)}$")) == 1


def test_an_existing_registration_beyond_the_first_page_is_adopted(provider, palette):
    """Legacy only: the OCI summary does not page."""
    kind = LEGACY_KIND
    for index in range(75):
        palette.add_registry(f"team-{index:02d}")
    existing = kind.add(palette, NAME)

    uid, _, _ = created(provider, palette, kind)

    assert uid == existing
    assert len(palette.named(NAME)) == 1
    assert len(palette.calls("GET", kind.listing_re)) == 2


@pytest.mark.parametrize("duplicate_status", [409, 400])
def test_a_name_taken_during_create_is_adopted(provider, palette, kind, duplicate_status):
    palette.duplicate_status = duplicate_status
    racer: list[str] = []
    palette.before_next(lambda: racer.append(kind.add(palette, NAME)), method="POST", path=kind.create_re)

    uid, _, _ = created(provider, palette, kind)

    assert [uid] == racer
    assert len(palette.named(NAME)) == 1


def test_persistent_500_fails_clearly_and_leaves_nothing(provider, palette, kind):
    palette.fail_next(None, 500, method="POST", path=kind.create_re)

    with pytest.raises(PaletteUnavailable) as caught:
        created(provider, palette, kind)

    assert "HTTP 500" in str(caught.value) and f"'{NAME}'" in str(caught.value)
    assert palette.named(NAME) == []


def test_a_failed_sync_removes_the_new_registration(provider, palette, kind):
    palette.sync_outcome, palette.sync_message = "Failed", "manifest unknown"

    with pytest.raises(PaletteSyncError, match="manifest unknown"):
        created(provider, palette, kind, wait_for_sync=True)

    assert palette.named(NAME) == []
    assert len(palette.calls("DELETE")) == 1


def test_a_sync_error_after_create_removes_the_new_registration(provider, palette, kind):
    palette.fail_next(None, 500, method="GET", path="/sync/status$")

    with pytest.raises(PaletteUnavailable):
        created(provider, palette, kind, wait_for_sync=True)

    assert palette.named(NAME) == []


def test_a_failed_sync_that_quotes_the_registry_password_does_not_show_it(provider, palette, kind, caplog, capfd):
    """Palette's sync status carries the message of whatever failed while it logged in to the registry
    (docs/palette-api.md "Sync": ``{isSyncSupported, status, message, ...}``), and that may quote the credentials
    Palette holds. Redacting the registry password only from validate, create and update replies (the
    sync status, sync, get and list calls of the API key only) let it reach the error, the roll-back
    warning in the log, and the CLI: every call has to redact it."""
    caplog.set_level(logging.DEBUG)
    props = kind.declared(palette.url, wait_for_sync=True)
    palette.sync_outcome = "Failed"
    palette.sync_message = f"registry login --username palette --password {props['password']}: unauthorized"

    with pytest.raises(PaletteSyncError) as caught:
        provider.create(checked(provider, props))

    out, err = capfd.readouterr()
    for text in (str(caught.value), caplog.text, out, err):
        assert props["password"] not in text
    assert "unauthorized" in str(caught.value)


def test_a_failed_roll_back_says_what_to_clean_up(provider, palette, kind):
    palette.sync_outcome = "Failed"
    palette.fail_next(None, 500, method="DELETE")

    with pytest.raises(PaletteSyncError) as caught:
        created(provider, palette, kind, wait_for_sync=True)

    (stored,) = palette.named(NAME)
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert stored["metadata"]["uid"] in notes
    assert "delete it in Palette" in notes


def test_a_failed_sync_leaves_an_adopted_registration_alone(provider, palette, kind):
    existing = kind.add(palette, NAME)
    palette.sync_outcome = "Failed"

    with pytest.raises(PaletteSyncError):
        created(provider, palette, kind, wait_for_sync=True)

    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [existing]
    assert palette.calls("DELETE") == []


# ---------------------------------------------------------------------------------------------- diff


def test_no_change_diff_is_empty_and_calls_nothing(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.reset_calls()

    # The next `pulumi up`: the program declares the same inputs again.
    news = checked(provider, {**kind.declared(palette.url), "password": outs["password"]})
    result = provider.diff(uid, outs, news)

    assert result.changes is False
    assert result.replaces == []
    assert palette.requests == []


def test_rotating_the_password_updates_in_place_with_the_real_secret(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    rotated = new_password()
    news = checked(provider, {**kind.declared(palette.url), "password": rotated})

    result = provider.diff(uid, outs, news)
    assert result.changes is True and result.replaces == []

    update = provider.update(uid, outs, news)

    (put,) = palette.calls("PUT")
    assert put.body["spec"]["auth"]["password"] == rotated
    assert palette.named(NAME)[0]["spec"]["auth"]["password"] == rotated
    assert update.outs["password"] == rotated
    assert update.outs["uid"] == uid


def test_a_masked_password_in_the_state_never_compares_equal(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    news = checked(provider, {**kind.declared(palette.url), "password": MASKED + "x"})

    assert provider.diff(uid, {**outs, "password": MASKED}, news).changes is True
    assert provider.diff(uid, {**outs, "password": MASKED}, {**news, "password": MASKED}).changes is True


def test_renaming_replaces(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    news = checked(provider, {**kind.declared(palette.url, name="other-packs"), "password": outs["password"]})

    result = provider.diff(uid, outs, news)

    assert result.changes is True
    assert result.replaces == ["name"]
    assert not result.delete_before_replace


def test_another_palette_replaces_deleting_first(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    news = checked(provider, {**kind.declared("https://palette.example.com"), "password": outs["password"]})

    result = provider.diff(uid, outs, news)

    assert result.replaces == ["api_url"]
    assert result.delete_before_replace is True


@pytest.mark.parametrize(
    ("kind_name", "prop", "value"),
    [
        *(
            (kind_name, prop, value)
            for kind_name in sorted(KINDS)
            for prop, value in [
                ("endpoint", "https://registry.example.com:5443"),
                ("username", "someone-else"),
                ("insecure_skip_verify", True),
                ("ca_certificate", None),
            ]
        ),
        ("legacy", "private", False),
        ("oci", "base_content_path", "team/packs"),
    ],
)
def test_changes_in_place(provider, palette, kind_name, prop, value):
    kind = KINDS[kind_name]
    uid, outs, _ = created(provider, palette, kind)
    props = {**kind.declared(palette.url), "password": outs["password"], prop: value}
    if prop == "ca_certificate":
        props["insecure_skip_verify"] = True
    news = checked(provider, props)

    result = provider.diff(uid, outs, news)

    assert result.changes is True
    assert result.replaces == []


def test_tls_enabled_is_compared(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    news = checked(provider, {**kind.declared(palette.url), "password": outs["password"]})
    assert provider.diff(uid, outs, news).changes is False

    result = provider.diff(uid, {**outs, "tls_enabled": False}, news)

    assert result.changes is True and result.replaces == []


@pytest.mark.parametrize(
    ("kind_name", "prop", "value"),
    [
        *(
            (kind_name, prop, value)
            for kind_name in sorted(KINDS)
            for prop, value in [
                ("validate", False),
                ("sync", False),
                ("wait_for_sync", True),
                ("sync_timeout_seconds", 30),
                ("sync_trigger", "packs-digest-2"),
            ]
        ),
        ("legacy", "allow_http", True),
    ],
)
def test_behaviour_flags_are_compared_and_never_replace(provider, palette, kind_name, prop, value):
    kind = KINDS[kind_name]
    uid, outs, _ = created(provider, palette, kind)
    news = checked(provider, {**kind.declared(palette.url), "password": outs["password"], prop: value})

    result = provider.diff(uid, outs, news)

    assert result.changes is True
    assert result.replaces == []


def test_a_float_timeout_from_the_wire_is_the_same(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    news = checked(
        provider, {**kind.declared(palette.url), "password": outs["password"], "sync_timeout_seconds": 600.0}
    )
    assert provider.diff(uid, outs, news).changes is False


def test_a_certificate_with_other_whitespace_is_the_same(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    news = checked(
        provider,
        {
            **kind.declared(palette.url),
            "password": outs["password"],
            "ca_certificate": "\n" + ca_pem().strip() + "\n\n",
        },
    )
    assert provider.diff(uid, outs, news).changes is False


def test_unknown_values_in_a_preview_diff(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    news = checked(provider, {**kind.declared(palette.url), "password": outs["password"]})

    assert provider.diff(uid, outs, {**news, "password": Unknown()}).changes is True
    unknown_name = provider.diff(uid, outs, {**news, "name": Unknown()})
    assert unknown_name.changes is True and unknown_name.replaces == ["name"]


# ---------------------------------------------------------------------------------------------- update


def test_update_of_a_registration_deleted_out_of_band_says_refresh(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.remove(uid)
    news = checked(provider, {**kind.declared(palette.url), "password": new_password()})

    with pytest.raises(PaletteNotFound, match="pulumi refresh"):
        provider.update(uid, outs, news)


def test_update_syncs_and_validates(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.reset_calls()
    news = checked(provider, {**kind.declared(palette.url, wait_for_sync=True), "password": new_password()})

    result = provider.update(uid, outs, news)

    assert [c.target for c in palette.requests] == [
        f"POST {kind.validate}",
        f"PUT {kind.item(uid)}",
        f"POST {kind.sync(uid)}",
        f"GET {kind.sync_status(uid)}",
    ]
    assert result.outs["sync_status"] == "Completed"


def updated(provider, uid: str, outs: dict, props: dict):
    """``diff`` then, when it reports a change, ``update``: what the engine does on ``pulumi up``."""
    news = checked(provider, {**props, "password": outs["password"]})
    diff = provider.diff(uid, outs, news)
    assert diff.changes is True, "the engine would not call update"
    assert diff.replaces == []
    return provider.update(uid, outs, news)


def test_turning_sync_on_starts_a_sync(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind, sync=False)
    assert outs["sync_status"] == ""
    palette.reset_calls()

    result = updated(provider, uid, outs, kind.declared(palette.url))

    assert [c.target for c in palette.requests] == [f"POST {kind.sync(uid)}"]
    assert result.outs["sync"] is True
    assert result.outs["sync_status"] == "Pending"


def test_turning_sync_on_with_wait_reports_the_outcome(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind, sync=False)

    result = updated(provider, uid, outs, kind.declared(palette.url, wait_for_sync=True))

    assert len(palette.calls("POST", "/sync$")) == 1
    assert result.outs["sync_status"] == "Completed"


def test_turning_sync_off_stops_reporting_the_old_status(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind, wait_for_sync=True)
    assert outs["sync_status"] == "Completed"
    palette.reset_calls()

    result = updated(provider, uid, outs, kind.declared(palette.url, sync=False))

    assert result.outs["sync"] is False
    assert result.outs["sync_status"] == ""
    assert palette.requests == []


def test_turning_wait_for_sync_on_syncs_and_waits_without_touching_the_registration(provider, palette, kind):
    palette.sync_polls_to_finish = 2
    uid, outs, _ = created(provider, palette, kind)
    palette.reset_calls()

    result = updated(
        provider, uid, outs, kind.declared(palette.url, validate=False, wait_for_sync=True, sync_timeout_seconds=30)
    )

    assert [c.target for c in palette.requests] == [
        f"POST {kind.sync(uid)}",
        f"GET {kind.sync_status(uid)}",
        f"GET {kind.sync_status(uid)}",
    ]
    assert result.outs["sync_status"] == "Completed"
    assert (result.outs["validate"], result.outs["wait_for_sync"], result.outs["sync_timeout_seconds"]) == (
        False,
        True,
        30,
    )


def test_turning_validate_on_validates_now(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind, validate=False)
    palette.reset_calls()
    palette.validate_error = (400, "the registry cannot be reached")

    with pytest.raises(PaletteBadRequest, match="cannot be reached"):
        updated(provider, uid, outs, kind.declared(palette.url))
    assert palette.calls("PUT") == []


def test_allow_http_alone_changes_nothing_in_palette_and_reads_the_status(provider, palette):
    """Legacy only: an OCI registration refuses allow_http (see the OCI check tests)."""
    kind = LEGACY_KIND
    uid, outs, _ = created(provider, palette, kind)
    palette.reset_calls()

    result = updated(provider, uid, outs, kind.declared(palette.url, allow_http=True))

    assert [c.target for c in palette.requests] == [f"GET {kind.sync_status(uid)}"]
    assert result.outs["allow_http"] is True
    assert result.outs["sync_status"] == "Completed"


# ---------------------------------------------------------------------------------------------- read


def test_read_of_an_unchanged_registration(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.reset_calls()

    result = provider.read(uid, outs)

    assert result.id == uid
    assert {k: result.outs[k] for k in INPUTS if k in result.outs} == {k: outs[k] for k in INPUTS if k in outs}
    assert result.outs["sync_status"] == "InProgress"
    assert [c.target for c in palette.requests] == [f"GET {kind.item(uid)}"]
    news = checked(provider, {**kind.declared(palette.url), "password": outs["password"]})
    assert provider.diff(uid, {**result.outs, "__provider": SERIALIZED}, news).changes is False


def test_read_after_an_out_of_band_delete_reports_it_gone(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.remove(uid)

    result = provider.read(uid, outs)

    assert isinstance(result, ReadResult)
    assert (result.id, result.outs) == ("", {})


def test_read_after_an_out_of_band_edit_shows_it_and_keeps_the_password(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.edit(
        uid, endpoint="https://elsewhere.example.com", username="intruder", insecureSkipVerify=True, **kind.drift
    )

    result = provider.read(uid, outs)

    assert result.outs["endpoint"] == "https://elsewhere.example.com"
    assert result.outs["username"] == "intruder"
    assert {key: result.outs[key] for key in kind.drift_seen} == kind.drift_seen
    assert result.outs["insecure_skip_verify"] is True
    assert result.outs["password"] == outs["password"] != MASKED
    # The next `pulumi up` sees the drift and puts the declared state back.
    news = checked(provider, {**kind.declared(palette.url), "password": outs["password"]})
    refreshed = {**result.outs, "__provider": SERIALIZED}
    assert provider.diff(uid, refreshed, news).changes is True
    provider.update(uid, refreshed, news)
    (stored,) = palette.named(NAME)
    assert stored["spec"]["endpoint"] == "https://registry.example.com:5000"
    assert stored["spec"]["auth"]["password"] == outs["password"]
    assert all(stored["spec"].get(key) != value for key, value in kind.drift.items()), stored["spec"]


def test_read_with_a_rejected_key_does_not_report_it_gone(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    configure(provider, "a-revoked-key")

    with pytest.raises(PaletteAuthError):
        provider.read(uid, outs)


def test_a_404_for_a_rejected_key_does_not_drop_a_live_registration(provider, palette, kind):
    """An invalid key has been seen to answer 404 ResourceNotFound (docs/palette-api.md "Errors"). A refresh with such
    a key must not take that 404 for "gone": the key is checked with one cheap listing call first."""
    uid, outs, _ = created(provider, palette, kind)
    palette.rejected_key_status = 404
    wrong = "revoked-" + palette.api_key
    configure(provider, wrong)
    palette.reset_calls()

    with pytest.raises(PaletteAuthError) as caught:
        provider.read(uid, outs)

    message = str(caught.value)
    assert "404" in message and "API key" in message and "PALETTE_API_KEY" in message
    assert wrong not in message and palette.api_key not in message
    assert [c.target for c in palette.requests] == [f"GET {kind.item(uid)}", f"GET {kind.listing}"]
    assert palette.requests[-1].query == kind.key_check_query
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [uid]


def test_a_confirmed_404_still_reports_the_registration_gone(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.remove(uid)
    palette.reset_calls()

    result = provider.read(uid, outs)

    assert (result.id, result.outs) == ("", {})
    assert [c.target for c in palette.requests] == [f"GET {kind.item(uid)}", f"GET {kind.listing}"]


# ---------------------------------------------------------------------------------------------- delete


def test_delete_and_delete_again(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)

    provider.delete(uid, outs)
    assert palette.named(NAME) == []
    palette.reset_calls()
    provider.delete(uid, outs)  # 404 counts as done
    # delete reads the registration first (whose is it?): the 404 there, confirmed by the list, ends it.
    assert [c.target for c in palette.requests] == [f"GET {kind.item(uid)}", f"GET {kind.listing}"]


def test_delete_with_a_persistent_error_raises(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.fail_next(None, 503, method="DELETE")

    with pytest.raises(PaletteUnavailable):
        provider.delete(uid, outs)
    assert len(palette.named(NAME)) == 1


def test_destroy_with_a_key_palette_answers_404_does_not_orphan_the_registration(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.rejected_key_status = 404
    configure(provider, "revoked-" + palette.api_key)

    with pytest.raises(PaletteAuthError, match="404"):
        provider.delete(uid, outs)
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [uid]

    configure(provider, palette.api_key)
    provider.delete(uid, outs)
    assert palette.named(NAME) == []


def test_update_with_a_key_palette_answers_404_blames_the_key_not_the_registration(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    palette.rejected_key_status = 404
    configure(provider, "revoked-" + palette.api_key)
    news = checked(provider, {**kind.declared(palette.url, validate=False), "password": new_password()})

    with pytest.raises(PaletteAuthError) as caught:
        provider.update(uid, outs, news)
    assert "pulumi refresh" not in str(caught.value)


# ---------------------------------------------------------------------------------------------- owner


def live_owner(palette: FakePalette) -> str | None:
    (stored,) = palette.named(NAME)
    return (stored["metadata"].get("annotations") or {}).get(OWNER_ANNOTATION)


def test_every_create_writes_a_fresh_owner_token_that_diff_ignores(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    assert outs["owner"] and live_owner(palette) == outs["owner"]

    # Another resource adopting the name takes the registration over with its own token.
    adopted = provider.create(checked(provider, kind.declared(palette.url)))
    assert adopted.id == uid
    assert adopted.outs["owner"] not in ("", outs["owner"])
    assert live_owner(palette) == adopted.outs["owner"]

    news = checked(provider, {**kind.declared(palette.url), "password": outs["password"]})
    assert "owner" not in news
    assert provider.diff(uid, outs, news).changes is False


def test_adopting_keeps_the_registrations_other_annotations(provider, palette, kind):
    kind.add(palette, NAME, annotations={"team": "platform"})

    _, outs, _ = created(provider, palette, kind)

    (stored,) = palette.named(NAME)
    assert stored["metadata"]["annotations"] == {"team": "platform", OWNER_ANNOTATION: outs["owner"]}


def test_update_and_read_keep_the_states_token(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    news = checked(provider, {**kind.declared(palette.url, validate=False), "password": new_password()})

    updated = provider.update(uid, outs, news)

    assert updated.outs["owner"] == outs["owner"] == live_owner(palette)
    palette.annotate(uid, {OWNER_ANNOTATION: "someone-else"})  # another resource's token
    assert provider.read(uid, outs).outs["owner"] == outs["owner"]


def test_a_state_from_before_tokens_gets_one_on_its_next_update(provider, palette, kind):
    uid, outs, _ = created(provider, palette, kind)
    old_state = {k: v for k, v in outs.items() if k != "owner"}
    palette.annotate(uid, None)
    palette.reset_calls()
    # A change Palette does not hold: before tokens it made no PUT; now one writes the token.
    news = checked(provider, {**kind.declared(palette.url, sync=False), "password": outs["password"]})

    updated = provider.update(uid, old_state, news)

    assert updated.outs["owner"] and live_owner(palette) == updated.outs["owner"]
    assert [c.target for c in palette.requests] == [f"PUT {kind.item(uid)}"]


def test_delete_leaves_a_registration_another_resource_holds(provider, palette, kind, caplog):
    """The renamed-resource order (pulumi/pulumi step_generator.go: creates first, GenerateDeletes
    after): the new resource adopted the registration, so the old one's delete must not remove it."""
    caplog.set_level(logging.INFO)
    uid, old_outs, _ = created(provider, palette, kind)
    new = provider.create(checked(provider, kind.declared(palette.url)))
    palette.reset_calls()

    provider.delete(uid, old_outs)

    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [new.id] == [uid]
    assert palette.calls("DELETE") == []
    assert "another resource now holds it" in caplog.text
    provider.delete(new.id, {**new.outs, "__provider": SERIALIZED})
    assert palette.named(NAME) == []


def test_delete_of_a_registration_without_a_token_deletes_it(provider, palette, kind):
    """A Palette that drops annotations: no token to compare, so delete does what it did before."""
    palette.keeps_annotations = False
    uid, outs, _ = created(provider, palette, kind)
    assert live_owner(palette) is None
    palette.reset_calls()

    provider.delete(uid, outs)

    assert palette.named(NAME) == []
    assert [c.target for c in palette.requests] == [
        f"GET {kind.item(uid)}",
        f"DELETE {kind.item(uid)}",
    ]


# ---------------------------------------------------------------------------------------------- the key


def test_configure_keeps_nothing_on_the_provider(provider):
    assert vars(provider) == {}


def test_the_environment_is_the_fallback(palette, monkeypatch):
    provider = PackRegistryProvider()
    configure(provider, None)
    monkeypatch.setenv("PALETTE_API_KEY", palette.api_key)

    uid, _, _ = created(provider, palette, LEGACY_KIND)

    assert palette.named(NAME)[0]["metadata"]["uid"] == uid


def test_the_stack_config_wins_over_the_environment(provider, palette, monkeypatch):
    monkeypatch.setenv("PALETTE_API_KEY", "stale-key-from-the-shell")
    created(provider, palette, LEGACY_KIND)
    assert {c.headers["apikey"] for c in palette.requests} == {palette.api_key}


def test_a_configured_key_with_a_trailing_newline_works(provider, palette):
    configure(provider, palette.api_key + "\n")

    uid, _, _ = created(provider, palette, LEGACY_KIND)

    assert palette.named(NAME)[0]["metadata"]["uid"] == uid
    assert {c.headers["apikey"] for c in palette.requests} == {palette.api_key}


def test_an_environment_key_with_a_trailing_newline_works(palette, monkeypatch):
    provider = PackRegistryProvider()
    configure(provider, " \n")  # blank in the stack config: the environment is used
    monkeypatch.setenv("PALETTE_API_KEY", palette.api_key + "\r\n")

    uid, _, _ = created(provider, palette, LEGACY_KIND)

    assert palette.named(NAME)[0]["metadata"]["uid"] == uid


def test_no_key_anywhere_says_how_to_set_one(palette):
    provider = PackRegistryProvider()
    configure(provider, None)

    with pytest.raises(PaletteAuthError) as caught:
        created(provider, palette, LEGACY_KIND)
    assert "paletteApiKey" in str(caught.value) and "PALETTE_API_KEY" in str(caught.value)
    assert palette.requests == []


def test_a_rejected_key_never_shows_up_in_messages_or_logs(palette, kind, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    wrong_key = "wrong-" + palette.api_key
    provider = PackRegistryProvider()
    configure(provider, wrong_key)
    props = kind.declared(palette.url)
    try:
        with pytest.raises(PaletteAuthError) as caught:
            created(provider, palette, kind, password=props["password"])
    finally:
        configure(provider, None)

    message = str(caught.value)
    assert "HTTP 401" in message
    out, err = capfd.readouterr()
    for text in (message, caplog.text, out, err):
        assert wrong_key not in text
        assert props["password"] not in text


def test_no_secret_in_logs_or_errors_across_a_lifecycle(provider, palette, kind, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    uid, outs, inputs = created(provider, palette, kind, wait_for_sync=True)
    rotated = new_password()
    news = checked(provider, {**kind.declared(palette.url), "password": rotated})
    provider.update(uid, outs, news)
    provider.read(uid, outs)
    palette.validate_error = (400, f"bad credentials {rotated}")
    try:
        provider.update(uid, outs, news)
    except Exception as exc:
        errors.append(str(exc))
    palette.validate_error = None
    provider.delete(uid, outs)

    assert errors and "HTTP 400" in errors[0]
    out, err = capfd.readouterr()
    logged = caplog.text + out + err + "".join(errors)
    assert "registering" in caplog.text and "deleted" in caplog.text
    for secret in (palette.api_key, inputs["password"], rotated):
        assert secret not in logged


# ---------------------------------------------------------------------------------------------- resource


def test_the_resource_declares_its_inputs_and_keeps_the_password_secret():
    # set_mocks changes process-wide state, so the program runs in its own interpreter.
    script = textwrap.dedent(
        """
        import base64, json, dill, pulumi
        from pulumi.runtime import mocks, rpc

        seen = {}

        class Monitor(mocks.MockMonitor):
            def RegisterResource(self, request):
                if request.type != "pulumi:pulumi:Stack":
                    seen["type"] = request.type
                    seen["secret_outputs"] = list(request.additionalSecretOutputs)
                    raw = rpc.deserialize_properties(request.object)
                    seen["password_is_secret"] = rpc.is_rpc_secret(raw["password"])
                    seen["keys"] = sorted(raw)
                    provider = rpc.unwrap_rpc_secret(raw["__provider"])
                    seen["provider"] = type(dill.loads(base64.b64decode(provider))).__name__
                return super().RegisterResource(request)

        class Mocks(pulumi.runtime.Mocks):
            def new_resource(self, args):
                return "uid-1", {**args.inputs, "uid": "uid-1", "sync_status": "Pending"}
            def call(self, args):
                return {}

        pulumi.runtime.set_mocks(Mocks(), project="palette-pack-registry", monitor=Monitor(Mocks()))
        from components.palette import PaletteRegistration

        @pulumi.runtime.test
        def run():
            res = PaletteRegistration("registration", name="custom-packs", endpoint="https://r.example.com",
                                      username="palette", password="pw-in-the-program",
                                      insecure_skip_verify=True, sync_timeout_seconds=60)
            return pulumi.Output.all(res.uid, res.sync_status, res.name).apply(
                lambda v: seen.update(outputs=v))

        run()
        print(json.dumps(seen))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["type"] == "pulumi-python:dynamic/palette:PackRegistry"
    assert seen["secret_outputs"] == ["password"]
    assert seen["password_is_secret"] is True
    assert seen["provider"] == "PackRegistryProvider"
    assert seen["outputs"] == ["uid-1", "Pending", "custom-packs"]
    assert set(seen["keys"]) == {
        "__provider",
        "api_url",
        "name",
        "endpoint",
        "username",
        "password",
        "insecure_skip_verify",
        "private",
        "validate",
        "sync",
        "wait_for_sync",
        "sync_timeout_seconds",
        "allow_http",
    }
    assert palette_module.API_KEY_CONFIG == "palette-pack-registry:paletteApiKey"
