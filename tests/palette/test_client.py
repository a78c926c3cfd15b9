"""The Palette client against the fake Palette: bodies, headers, paging, retries, errors."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import replace
from urllib.parse import quote, quote_plus

import pytest
from urllib3.util import Retry

from components.palette.access import DEFAULT_API_URL
from components.palette.client import MASKED, PaletteClient, sync_state
from components.palette.errors import (
    PaletteAuthError,
    PaletteBadRequest,
    PaletteConflict,
    PaletteError,
    PaletteForbiddenError,
    PaletteNotFound,
    PaletteSyncError,
    PaletteUnavailable,
)
from components.palette.policy import HttpPolicy
from components.palette.shapes import OCI_REGISTRY_API, OWNER_ANNOTATION, PACK_REGISTRY_API, RegistrationSpec, owner_of
from tests.support.api_keys import INSIDE, SURROUNDING
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import FAST_POLICY, ca_pem, new_password

NAME = "custom-packs"


@pytest.fixture
def client(palette: FakePalette) -> PaletteClient:
    return PaletteClient(palette.url, palette.api_key, registration=NAME, policy=FAST_POLICY)


@pytest.fixture
def registry() -> RegistrationSpec:
    return RegistrationSpec(
        name=NAME,
        endpoint="https://registry.example.com:5000",
        username="palette",
        password=new_password(),
        ca_certificate=ca_pem(),
    )


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


# -------------------------------------------------------------------------------------------- bodies


def test_the_owner_token_travels_in_the_annotations_and_a_put_keeps_the_others(client, palette, registry):
    """v1ObjectMeta ``annotations``: a string map "preserved when modifying objects"."""
    uid = client.create(replace(registry, owner="token-1", annotations={"team": "platform"}), skip_pack_sync=True)

    (call,) = palette.calls("POST", r"^/v1/registries/pack$")
    assert call.body["metadata"] == {"name": NAME, "annotations": {"team": "platform", OWNER_ANNOTATION: "token-1"}}
    assert owner_of(client.get(uid)) == "token-1"
    assert owner_of(client.find_by_name(NAME) or {}) == "token-1"

    client.update(uid, replace(registry, owner="token-2", annotations={"team": "platform"}))
    assert owner_of(client.get(uid)) == "token-2"
    client.update(uid, registry)  # no annotations in the body: the fake keeps the stored ones
    assert client.get(uid)["metadata"]["annotations"] == {"team": "platform", OWNER_ANNOTATION: "token-2"}
    assert owner_of({"metadata": {"name": NAME}}) == ""


def test_messages_are_redacted_of_the_clients_own_secrets_on_every_call(palette, registry):
    """A sync status, a get or a list error carries no secret of the call itself: the client's own."""
    client = PaletteClient(
        palette.url, palette.api_key, registration=NAME, policy=FAST_POLICY, secrets=(registry.password,)
    )
    uid = client.create(registry, skip_pack_sync=False)
    palette.fail_next(None, 400, method="GET", message=f"bad request for {registry.password}")

    with pytest.raises(PaletteBadRequest) as caught:
        client.get(uid)

    assert registry.password not in str(caught.value)
    assert palette.url in str(caught.value)
    assert registry.password not in repr(client)


def test_create_body_is_the_contract_shape(client, palette, registry):
    client.create(registry, skip_pack_sync=True)

    (call,) = palette.calls("POST", r"^/v1/registries/pack$")
    assert call.query == {"skipPackSync": ["true"]}
    assert call.body == {
        "metadata": {"name": NAME},
        "spec": {
            "name": NAME,
            "endpoint": "https://registry.example.com:5000",
            "private": True,
            "auth": {
                "type": "basic",
                "username": "palette",
                "password": registry.password,
                "tls": {"enabled": True, "insecureSkipVerify": False, "certificate": ca_pem()},
            },
        },
    }


def test_every_request_carries_the_api_key_and_no_project_uid(client, palette, registry):
    uid = client.create(registry, skip_pack_sync=False)
    client.get(uid)
    client.sync(uid)
    client.sync_status(uid)
    client.delete(uid)

    assert len(palette.requests) == 5
    for call in palette.requests:
        assert call.headers["apikey"] == palette.api_key
        assert "projectuid" not in call.headers
        assert "authorization" not in call.headers


def test_validate_posts_the_bare_spec(client, palette, registry):
    client.validate(registry)

    (call,) = palette.calls("POST", "/validate$")
    assert call.body == PACK_REGISTRY_API.spec(registry)
    assert "metadata" not in call.body


def test_validate_refusal_is_a_bad_request_naming_the_call(client, palette, registry):
    palette.validate_error = (400, "registry https://registry.example.com:5000 is not reachable")

    with pytest.raises(PaletteBadRequest) as caught:
        client.validate(registry)

    message = str(caught.value)
    assert f"pack registry '{NAME}'" in message
    assert "POST /v1/registries/pack/validate" in message
    assert "HTTP 400" in message
    assert "not reachable" in message


def test_update_puts_the_full_registry_with_the_real_password(client, palette, registry):
    uid = client.create(registry, skip_pack_sync=True)
    rotated = replace(registry, password=new_password(), endpoint="https://registry.example.com:5443")

    client.update(uid, rotated)

    (call,) = palette.calls("PUT")
    assert call.body == PACK_REGISTRY_API.body(rotated, uid)
    assert call.body["metadata"] == {"name": NAME, "uid": uid}
    (stored,) = palette.named(NAME)
    assert stored["spec"]["auth"]["password"] == rotated.password
    assert stored["spec"]["endpoint"] == "https://registry.example.com:5443"


def test_reads_are_masked(client, palette, registry):
    uid = client.create(registry, skip_pack_sync=True)

    assert client.get(uid)["spec"]["auth"]["password"] == MASKED
    assert client.find_by_name(NAME)["spec"]["auth"]["password"] == MASKED


def test_without_a_certificate_none_is_sent():
    spec = PACK_REGISTRY_API.spec(RegistrationSpec(NAME, "https://r.example.com", "u", "p", insecure_skip_verify=True))
    assert spec["auth"]["tls"] == {"enabled": True, "insecureSkipVerify": True}


# -------------------------------------------------------------------------------------------- reads


def test_find_by_name_pages_past_fifty(client, palette):
    for index in range(120):
        palette.add_registry(f"other-{index:03d}")
    palette.add_registry(NAME)

    found = client.find_by_name(NAME)

    assert found is not None and found["metadata"]["name"] == NAME
    lists = palette.calls("GET", r"^/v1/registries/pack$")
    assert len(lists) == 3
    assert [c.query.get("limit") for c in lists] == [["50"]] * 3
    assert "continue" not in lists[0].query
    assert all(c.query["continue"][0] for c in lists[1:])


def test_find_by_name_matches_exactly_and_stops_at_the_end(client, palette):
    palette.add_registry(NAME + "-old")
    palette.add_registry(NAME.upper())

    assert client.find_by_name(NAME) is None
    assert len(palette.calls("GET")) == 1


def test_get_of_a_missing_registration_is_not_found(client, palette):
    with pytest.raises(PaletteNotFound) as caught:
        client.get("0123456789abcdef01234567")
    assert caught.value.status == 404
    assert caught.value.code == "ResourceNotFound"
    assert "GET /v1/registries/pack/0123456789abcdef01234567" in str(caught.value)


def test_delete_counts_404_as_done(client, palette, registry):
    uid = client.create(registry, skip_pack_sync=True)

    assert client.delete(uid) is True
    assert client.delete(uid) is False
    assert palette.named(NAME) == []


def test_duplicate_create_is_a_conflict(client, palette, registry):
    palette.add_registry(NAME)
    with pytest.raises(PaletteConflict) as caught:
        client.create(registry, skip_pack_sync=True)
    assert caught.value.status == 409
    assert len(palette.named(NAME)) == 1


# -------------------------------------------------------------------------------------------- retries


def test_create_after_two_503s_registers_exactly_once(client, palette, registry):
    """The client owns retrying a create (the provider and the gRPC host only call it): tested here once."""
    palette.fail_next(2, 503, method="POST", path=r"^/v1/registries/pack$")

    uid = client.create(registry, skip_pack_sync=True)

    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [uid]
    # Never two POSTs in a row: each failed attempt is followed by a lookup of the name.
    assert [c.target for c in palette.requests] == [
        "POST /v1/registries/pack",
        "GET /v1/registries/pack",
        "POST /v1/registries/pack",
        "GET /v1/registries/pack",
        "POST /v1/registries/pack",
    ]


@pytest.mark.parametrize("spoil", ["drop", "503"])
def test_create_whose_answer_is_lost_adopts_what_it_registered(client, palette, registry, spoil):
    # The server registers it, then the answer is lost: a blind retry would register it twice.
    if spoil == "drop":
        palette.drop_next(1, method="POST", path=r"^/v1/registries/pack$", commit=True)
    else:
        palette.fail_next(1, 503, method="POST", path=r"^/v1/registries/pack$", commit=True)

    uid = client.create(registry, skip_pack_sync=True)

    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [uid]
    assert len(palette.calls("POST")) == 1


def test_create_timeout_adopts_what_it_registered(palette, registry):
    client = PaletteClient(
        palette.url, palette.api_key, registration=NAME, policy=replace(FAST_POLICY, read_timeout=0.3)
    )
    palette.slow_next(1, 1.0, method="POST", path=r"^/v1/registries/pack$", commit=True)

    uid = client.create(registry, skip_pack_sync=True)

    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [uid]
    assert len(palette.calls("POST")) == 1


def test_create_timeout_before_palette_acts_still_registers_once(palette, registry):
    # The slow first POST is still in flight when the lookup finds nothing and the create is tried
    # again; when it lands, Palette refuses the duplicate name.
    client = PaletteClient(
        palette.url, palette.api_key, registration=NAME, policy=replace(FAST_POLICY, read_timeout=0.3)
    )
    palette.slow_next(1, 0.6, method="POST", path=r"^/v1/registries/pack$")

    uid = client.create(registry, skip_pack_sync=True)
    time.sleep(0.5)

    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [uid]
    assert len(palette.calls("POST")) == 2


def test_persistent_500_on_create_fails_clearly_and_registers_nothing(client, palette, registry):
    palette.fail_next(None, 500, method="POST", path=r"^/v1/registries/pack$")

    with pytest.raises(PaletteUnavailable) as caught:
        client.create(registry, skip_pack_sync=True)

    message = str(caught.value)
    assert f"pack registry '{NAME}'" in message
    assert "POST /v1/registries/pack?skipPackSync=true" in message
    assert "HTTP 500" in message
    assert palette.named(NAME) == []
    assert len(palette.calls("POST")) == FAST_POLICY.retries + 1
    assert_no_secret(message, palette.api_key, registry.password)


def test_get_is_retried_on_503_by_urllib3(client, palette, registry):
    uid = client.create(registry, skip_pack_sync=True)
    palette.fail_next(2, 503, method="GET")

    assert client.get(uid)["metadata"]["uid"] == uid
    assert len(palette.calls("GET")) == 3


def test_retry_after_is_honoured(client, palette, registry):
    uid = client.create(registry, skip_pack_sync=True)
    palette.fail_next(1, 429, method="GET", retry_after="1")

    started = time.monotonic()
    client.get(uid)

    assert time.monotonic() - started >= 0.9
    assert len(palette.calls("GET")) == 2


def test_sync_post_is_retried_because_it_cannot_duplicate(client, palette, registry):
    uid = client.create(registry, skip_pack_sync=True)
    palette.fail_next(2, 502, method="POST", path="/sync$")

    client.sync(uid)

    assert len(palette.calls("POST", "/sync$")) == 3


def test_dropped_connection_on_get_is_retried(client, palette, registry):
    uid = client.create(registry, skip_pack_sync=True)
    palette.drop_next(1, method="GET")

    assert client.get(uid)["metadata"]["uid"] == uid


def test_slow_palette_times_out(palette):
    client = PaletteClient(
        palette.url, palette.api_key, registration=NAME, policy=replace(FAST_POLICY, read_timeout=0.2, retries=1)
    )
    palette.slow_next(None, 1.0)

    with pytest.raises(PaletteUnavailable) as caught:
        client.find_by_name(NAME)
    assert "GET /v1/registries/pack?limit=50" in str(caught.value)
    assert "0.2s" in str(caught.value)
    assert len(palette.calls("GET")) == 2


def test_unreachable_palette_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = PaletteClient(f"http://127.0.0.1:{port}", "some-key", registration=NAME, policy=FAST_POLICY)

    with pytest.raises(PaletteUnavailable) as caught:
        client.get("0123456789abcdef01234567")
    assert f"could not reach Palette at http://127.0.0.1:{port}" in str(caught.value)
    assert "some-key" not in str(caught.value)


def test_redirects_are_not_followed(client, palette):
    palette.fail_next(1, 302, method="GET")
    with pytest.raises(Exception) as caught:
        client.find_by_name(NAME)
    assert "HTTP 302" in str(caught.value)
    assert len(palette.requests) == 1


# -------------------------------------------------------------------------------------------- errors


def test_401_says_how_to_fix_it_without_the_key(palette, registry):
    client = PaletteClient(palette.url, "wrong-key-" + "x" * 20, registration=NAME, policy=FAST_POLICY)

    with pytest.raises(PaletteAuthError) as caught:
        client.create(registry, skip_pack_sync=True)

    message = str(caught.value)
    assert "API key" in message and "HTTP 401" in message
    assert "paletteApiKey" in message and "PALETTE_API_KEY" in message
    assert "GET /v1/registries/pack" in message or "POST /v1/registries/pack" in message
    assert_no_secret(message, "wrong-key-", palette.api_key, registry.password)


def test_403_says_a_tenant_admin_is_needed(client, palette):
    palette.fail_next(1, 403, method="GET", message="forbidden")
    with pytest.raises(PaletteForbiddenError) as caught:
        client.find_by_name(NAME)
    assert "tenant admin" in str(caught.value)
    assert "HTTP 403" in str(caught.value)


def test_secrets_echoed_by_palette_are_redacted(client, palette, registry):
    palette.validate_error = (400, f"login with {registry.password} failed; key {palette.api_key}")

    with pytest.raises(PaletteBadRequest) as caught:
        client.validate(registry)

    assert_no_secret(str(caught.value), palette.api_key, registry.password)
    assert "[redacted]" in str(caught.value)


@pytest.mark.parametrize("padding", list(SURROUNDING.values()), ids=list(SURROUNDING))
def test_a_key_with_surrounding_whitespace_is_stripped(palette, padding):
    """A key read from a mounted secret file or a CI variable often ends in a newline."""
    client = PaletteClient(palette.url, padding + palette.api_key + padding, registration=NAME, policy=FAST_POLICY)

    assert client.find_by_name(NAME) is None
    assert [c.headers["apikey"] for c in palette.requests] == [palette.api_key]


@pytest.mark.parametrize("inner", list(INSIDE.values()), ids=list(INSIDE))
def test_a_key_with_a_control_character_inside_is_malformed_and_not_echoed(palette, inner):
    head, tail = "key-head-" + "a" * 12, "key-tail-" + "b" * 12
    client = PaletteClient(palette.url, head + inner + tail + "\n", registration=NAME, policy=FAST_POLICY)

    with pytest.raises(PaletteAuthError) as caught:
        client.find_by_name(NAME)

    message = str(caught.value)
    assert "malformed" in message and "could not reach" not in message
    assert "PALETTE_API_KEY" in message
    assert_no_secret(message + repr(caught.value), head, tail)
    assert palette.requests == []


def test_every_form_of_the_key_is_redacted():
    key = 'pk/"with\\odd+chars= &' + "c" * 16
    with FakePalette(api_key=key) as palette:
        client = PaletteClient(palette.url, key, registration=NAME, policy=FAST_POLICY)
        forms = [key, repr(key), quote(key, safe=""), quote(key), quote_plus(key), json.dumps(key)]
        assert len(set(forms)) == len(forms)
        palette.fail_next(1, 400, method="GET", message="echo: " + " | ".join(forms))

        with pytest.raises(PaletteBadRequest) as caught:
            client.find_by_name(NAME)

    message = str(caught.value)
    assert message.count("[redacted]") == len(forms)
    assert "odd" not in message and "c" * 16 not in message


def test_a_request_requests_refuses_is_malformed_not_unreachable(palette):
    # A client built around the strip: the header value still holds a line break.
    client = PaletteClient(palette.url, palette.api_key, registration=NAME, policy=FAST_POLICY)
    object.__setattr__(client, "api_key", " " + palette.api_key)

    with pytest.raises(PaletteError) as caught:
        client.find_by_name(NAME)

    message = str(caught.value)
    assert "malformed" in message and "could not reach" not in message
    assert not isinstance(caught.value, PaletteUnavailable)
    assert_no_secret(message, palette.api_key)
    assert palette.requests == []


def test_get_trusts_a_404_only_after_the_key_is_confirmed(palette, registry):
    client = PaletteClient(palette.url, palette.api_key, registration=NAME, policy=FAST_POLICY)
    uid = client.create(registry, skip_pack_sync=True)
    palette.rejected_key_status = 404
    wrong = PaletteClient(palette.url, "revoked-" + palette.api_key, registration=NAME, policy=FAST_POLICY)

    for call in (lambda: wrong.get(uid), lambda: wrong.delete(uid), lambda: wrong.update(uid, registry)):
        with pytest.raises(PaletteAuthError) as caught:
            call()
        assert not isinstance(caught.value, PaletteNotFound)
        assert "404" in str(caught.value)
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [uid]


def test_a_confirmation_that_fails_for_another_reason_says_so(client, palette, registry):
    palette.fail_next(None, 503, method="GET", path=r"^/v1/registries/pack$")

    with pytest.raises(PaletteUnavailable):
        client.get("0123456789abcdef01234567")


def test_no_key_fails_before_any_request(palette):
    client = PaletteClient(palette.url, "", registration=NAME, policy=FAST_POLICY)
    with pytest.raises(PaletteAuthError) as caught:
        client.find_by_name(NAME)
    assert "PALETTE_API_KEY" in str(caught.value)
    assert palette.requests == []


def test_the_key_is_not_in_the_client_repr(palette):
    client = PaletteClient(palette.url, palette.api_key, registration=NAME)
    assert palette.api_key not in repr(client)
    assert "secret-pw" not in repr(RegistrationSpec(NAME, "https://r", "u", "secret-pw"))


# -------------------------------------------------------------------------------------------- sync


def test_wait_for_sync_polls_until_completed(client, palette, registry):
    palette.sync_polls_to_finish = 3
    uid = client.create(registry, skip_pack_sync=False)

    status = client.wait_for_sync(uid, timeout_seconds=10)

    assert status["status"] == "Completed"
    assert len(palette.calls("GET", "/sync/status$")) == 3


def test_failed_sync_raises_with_palettes_message(client, palette, registry):
    palette.sync_outcome, palette.sync_message = "Failed", "unauthorized: authentication required"
    uid = client.create(registry, skip_pack_sync=False)

    with pytest.raises(PaletteSyncError) as caught:
        client.wait_for_sync(uid, timeout_seconds=10)
    assert "authentication required" in str(caught.value)
    assert "'Failed'" in str(caught.value)


def test_sync_that_does_not_finish_times_out(client, palette, registry):
    palette.sync_polls_to_finish = 10**6
    uid = client.create(registry, skip_pack_sync=False)

    with pytest.raises(PaletteSyncError) as caught:
        client.wait_for_sync(uid, timeout_seconds=0.2)
    assert "sync_timeout_seconds" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Completed", "done"),
        ("success", "done"),
        ("Failed", "failed"),
        ("Error", "failed"),
        ("InProgress", "running"),
        ("Running", "running"),
        ("Syncing", "running"),
        ("", "running"),
        ("Pending", "running"),
        ("Unknown", "running"),
        (None, "running"),
    ],
)
def test_sync_states(status, state):
    assert sync_state(status) == state


# -------------------------------------------------------------------------------------------- policy


def test_production_policy_is_patient_but_bounded():
    policy = HttpPolicy()
    retry = policy.retry(retry_post=False)
    assert policy.connect_timeout > 0 and policy.read_timeout > 0
    assert retry.total >= 3 and policy.backoff_factor > 0 and policy.backoff_jitter > 0
    assert 429 in retry.status_forcelist and 503 in retry.status_forcelist
    assert retry.respect_retry_after_header
    assert "POST" not in retry.allowed_methods
    assert "POST" in policy.retry(retry_post=True).allowed_methods
    # The worst-case total backoff stays within a few minutes.
    assert sum(min(policy.backoff_max, policy.backoff_factor * 2**n) for n in range(policy.retries)) < 120
    assert DEFAULT_API_URL == "https://api.spectrocloud.com"


def test_backoff_grows_exponentially():
    retry: Retry = replace(HttpPolicy(), backoff_jitter=0).retry(retry_post=False)
    sleeps = []
    for _ in range(4):
        retry = retry.increment(method="GET", url="/x")
        sleeps.append(retry.get_backoff_time())
    assert sleeps == [0, 1.0, 2.0, 4.0]


def test_policy_from_env():
    policy = HttpPolicy.from_env(
        {
            "PALETTE_HTTP_RETRIES": "2",
            "PALETTE_HTTP_BACKOFF_FACTOR": "0",
            "PALETTE_HTTP_TIMEOUT_SECONDS": "1.5",
            "PALETTE_SYNC_POLL_SECONDS": "0",
        }
    )
    assert (policy.retries, policy.backoff_factor, policy.backoff_jitter) == (2, 0, 0)
    assert (policy.read_timeout, policy.sync_poll_seconds) == (1.5, 0)
    assert HttpPolicy.from_env({}) == HttpPolicy()
    with pytest.raises(ValueError, match="PALETTE_HTTP_RETRIES"):
        HttpPolicy.from_env({"PALETTE_HTTP_RETRIES": "many"})


# -------------------------------------------------------------------------------------------- the OCI shape


@pytest.fixture
def oci_client(palette: FakePalette) -> PaletteClient:
    return PaletteClient(palette.url, palette.api_key, registration=NAME, policy=FAST_POLICY, shape=OCI_REGISTRY_API)


@pytest.fixture
def oci_registry(registry: RegistrationSpec) -> RegistrationSpec:
    return replace(registry, base_content_path="packs")


def test_oci_find_by_name_reads_the_summary_once_and_matches_exactly(oci_client, palette):
    palette.add_registry(NAME + "-old", kind="oci")
    palette.add_registry(NAME.upper(), kind="oci")
    palette.add_registry(NAME)  # a legacy registration of that name is another API's

    assert oci_client.find_by_name(NAME) is None
    assert [(c.target, c.query) for c in palette.requests] == [("GET /v1/registries/oci/summary", {})]
    uid = palette.add_registry(NAME, kind="oci")
    assert oci_client.find_by_name(NAME)["metadata"]["uid"] == uid


def test_oci_create_after_two_503s_registers_exactly_once(oci_client, palette, oci_registry):
    palette.fail_next(2, 503, method="POST", path=r"^/v1/registries/oci/basic$")

    uid = oci_client.create(oci_registry, skip_pack_sync=True)

    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [uid]
    assert [c.target for c in palette.requests] == [
        "POST /v1/registries/oci/basic",
        "GET /v1/registries/oci/summary",
    ] * 2 + ["POST /v1/registries/oci/basic"]
    assert palette.requests[-1].query == {"skipPackSync": ["true"]}


def test_oci_404_is_trusted_only_after_the_summary_confirms_the_key(palette, oci_registry):
    client = PaletteClient(palette.url, palette.api_key, registration=NAME, policy=FAST_POLICY, shape=OCI_REGISTRY_API)
    uid = client.create(oci_registry, skip_pack_sync=True)
    palette.rejected_key_status = 404
    wrong_key = "revoked-" + palette.api_key
    wrong = PaletteClient(palette.url, wrong_key, registration=NAME, policy=FAST_POLICY, shape=OCI_REGISTRY_API)
    palette.reset_calls()

    with pytest.raises(PaletteAuthError) as caught:
        wrong.delete(uid)

    message = str(caught.value)
    assert "GET /v1/registries/oci/summary" in message and "404" in message
    assert_no_secret(message, wrong_key, palette.api_key, oci_registry.password)
    assert [c.target for c in palette.requests] == [
        f"DELETE /v1/registries/oci/{uid}/basic",
        "GET /v1/registries/oci/summary",
    ]
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [uid]
    palette.remove(uid)
    assert client.delete(uid) is False


def test_oci_messages_name_the_oci_call_and_redact_echoed_secrets(oci_client, palette, oci_registry):
    palette.validate_error = (400, f"login failed for palette:{oci_registry.password} with key {palette.api_key}")

    with pytest.raises(PaletteBadRequest) as caught:
        oci_client.validate(oci_registry)

    message = str(caught.value)
    assert "POST /v1/registries/oci/basic/validate returned HTTP 400" in message
    assert "login failed" in message
    assert_no_secret(message, oci_registry.password, palette.api_key)


# ------------------------------------------------------------------------- an answer that is not Palette's API

CONSOLE_PAGE = b"<!doctype html><html><head><title>Palette</title></head><body><div id=root></div></body></html>"


@pytest.mark.parametrize(
    ("call", "path"),
    [
        ("get", r"^/v1/registries/pack/"),
        ("find_by_name", r"^/v1/registries/pack$"),
        ("sync_status", r"/sync/status$"),
        ("wait_for_packs", r"^/v1/packs/"),
        ("create", r"^/v1/registries/pack$"),
    ],
)
def test_a_success_whose_body_is_not_a_json_object_fails_in_one_line_naming_paletteapiurl(
    client: PaletteClient, palette: FakePalette, registry: RegistrationSpec, call: str, path: str
) -> None:
    """An api_url that names Palette's web console answers 200 with its HTML page: one line that says so and names
    the setting, never a traceback (a JSON list or a body cut short answers the same way)."""
    uid = client.create(registry, skip_pack_sync=True) if call != "create" else ""
    palette.answer_next(None, CONSOLE_PAGE, status=201 if call == "create" else 200, path=path)
    calls = {
        "get": lambda: client.get(uid),
        "find_by_name": lambda: client.find_by_name(NAME),
        "sync_status": lambda: client.sync_status(uid),
        "wait_for_packs": lambda: client.wait_for_packs(uid, ["hello"], proven=lambda *_: True, timeout_seconds=5),
        "create": lambda: client.create(replace(registry, name="other"), skip_pack_sync=True),
    }

    with pytest.raises(PaletteError) as raised:
        calls[call]()

    message = str(raised.value)
    assert type(raised.value) is PaletteError, message
    assert (
        "\n" not in message
        and f"with a body that is not a JSON object (text/html, {len(CONSOLE_PAGE)} bytes)" in message
    )
    assert "Set paletteApiUrl to Palette's API address" in message and palette.url in message
    assert_no_secret(message, palette.api_key, registry.password)


@pytest.mark.parametrize("body", [b"[]", b'{"uid": ""}', b'{"metadata": {}}'])
def test_a_create_answered_without_a_uid_says_the_registration_may_exist(
    client: PaletteClient, palette: FakePalette, registry: RegistrationSpec, body: bytes
) -> None:
    palette.answer_next(1, body, content_type="application/json", status=201, method="POST")

    with pytest.raises(PaletteError) as raised:
        client.create(registry, skip_pack_sync=True)

    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"pack registry '{NAME}' at {palette.url}: POST /v1/registries/")
    expected = "not a JSON object" if body == b"[]" else "without the new registration's uid"
    assert expected in message, message


def test_what_a_hostile_server_sends_reaches_a_message_as_one_short_printable_line(
    client: PaletteClient, palette: FakePalette, registry: RegistrationSpec
) -> None:
    """A Content-Type or an error message may hold a terminal's escape sequences, line breaks, a quoted secret, or be
    megabytes long: the message stays one short printable line, without the secret."""
    uid = client.create(registry, skip_pack_sync=True)
    hostile = f"text/html\x1b[2J\x1b[31m; key={palette.api_key}; " + "a" * 5000
    palette.answer_next(1, CONSOLE_PAGE, content_type=hostile, path=r"^/v1/")
    with pytest.raises(PaletteError) as raised:
        client.get(uid)
    message = str(raised.value)
    assert message.isprintable() and len(message) < 700, repr(message)
    assert_no_secret(message, palette.api_key)

    said = json.dumps({"code": "Bad\nCode", "message": f"line one\nline two\x1b[0m {palette.api_key}\x85"})
    palette.answer_next(1, said.encode(), content_type="application/json", status=400, path=r"^/v1/")
    with pytest.raises(PaletteError) as raised:
        client.get(uid)
    message = str(raised.value)
    assert message.isprintable() and "line one line two" in message, repr(message)
    assert_no_secret(message, palette.api_key)
