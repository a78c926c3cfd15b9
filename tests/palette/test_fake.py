"""The fake Palette's OCI-registry API, called with plain ``requests``: it must answer as
docs/palette-api.md "OCI registries" says, or the provider tests
prove nothing about the real one."""

from __future__ import annotations

import pytest
import requests

from tests.support.palette_fake import MASKED, FakePalette
from tests.support.palette_support import ca_pem, new_password

OCI = "/v1/registries/oci"


def spec(password: str, **changes) -> dict:
    body = {
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
    body.update(changes)
    return body


def call(palette: FakePalette, method: str, path: str, *, key: str | None = None, **kwargs) -> requests.Response:
    headers = {"ApiKey": palette.api_key if key is None else key}
    return requests.request(method, palette.url + path, headers=headers, timeout=5, **kwargs)


def test_the_oci_lifecycle_answers_with_the_documented_statuses(palette):
    password = new_password()

    assert call(palette, "POST", f"{OCI}/basic/validate", json=spec(password)).status_code == 204
    created = call(
        palette,
        "POST",
        f"{OCI}/basic",
        params={"skipPackSync": "false"},
        json={"metadata": {"name": "p"}, "spec": spec(password)},
    )
    assert created.status_code == 201
    uid = created.json()["uid"]
    read = call(palette, "GET", f"{OCI}/{uid}/basic")
    assert read.status_code == 200
    body = read.json()
    assert body["spec"]["auth"]["password"] == MASKED
    assert body["spec"]["providerType"] == "pack" and body["spec"]["baseContentPath"] == "packs"
    assert body["status"]["syncStatus"]["status"] == "InProgress"
    assert "packSyncStatus" not in body["status"]
    put = call(palette, "PUT", f"{OCI}/{uid}/basic", json={"metadata": {"name": "p"}, "spec": spec(password)})
    assert put.status_code == 204
    assert call(palette, "POST", f"{OCI}/{uid}/basic/sync", params={"forceSync": "false"}).status_code == 202
    status = call(palette, "GET", f"{OCI}/{uid}/basic/sync/status")
    assert status.status_code == 200
    assert set(status.json()) == {"isSyncSupported", "status", "message", "lastRunTime", "lastSyncedTime"}
    assert call(palette, "DELETE", f"{OCI}/{uid}/basic").status_code == 204
    gone = call(palette, "GET", f"{OCI}/{uid}/basic")
    assert gone.status_code == 404
    assert gone.json()["code"] == "ResourceNotFound"
    assert set(gone.json()) == {"code", "message", "details", "ref"}


def test_the_summary_lists_every_oci_registry_without_paging_or_secrets(palette):
    for index in range(60):
        palette.add_registry(f"team-{index:02d}", kind="oci")
    palette.add_registry("charts", kind="oci", provider_type="helm", registry_type="ecr")
    palette.add_registry("legacy-packs")

    summary = call(palette, "GET", f"{OCI}/summary")

    assert summary.status_code == 200
    payload = summary.json()
    assert set(payload) == {"items"}
    items = {item["metadata"]["name"]: item for item in payload["items"]}
    assert len(items) == 61 and "legacy-packs" not in items
    assert items["charts"]["spec"]["registryType"] == "ecr"
    assert items["charts"]["spec"]["providerType"] == "helm"
    assert items["team-00"]["spec"]["registryType"] == "basic"
    assert items["team-00"]["status"]["sync"]["isSyncSupported"] is True
    assert "auth" not in items["team-00"]["spec"]
    assert MASKED not in summary.text and "someone-elses-" not in summary.text


def test_a_spec_without_provider_type_is_helm(palette):
    body = spec(new_password())
    del body["providerType"]

    uid = call(palette, "POST", f"{OCI}/basic", json={"metadata": {"name": "p"}, "spec": body}).json()["uid"]

    assert call(palette, "GET", f"{OCI}/{uid}/basic").json()["spec"]["providerType"] == "helm"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"private": True}, "private"),
        ({"name": "p"}, "name"),
        ({"providerType": "oci"}, "providerType"),
        ({"isSyncSupported": "yes"}, "isSyncSupported"),
    ],
)
def test_a_spec_outside_the_schema_is_a_400(palette, change, words):
    response = call(palette, "POST", f"{OCI}/basic/validate", json=spec(new_password(), **change))

    assert response.status_code == 400
    assert words in response.json()["message"]


def test_validate_takes_the_bare_spec_and_a_duplicate_name_is_a_conflict(palette):
    body = {"metadata": {"name": "p"}, "spec": spec(new_password())}

    assert call(palette, "POST", f"{OCI}/basic/validate", json=body).status_code == 400
    assert call(palette, "POST", f"{OCI}/basic", json=body).status_code == 201
    assert call(palette, "POST", f"{OCI}/basic", json=body).status_code == 409


def test_the_two_kinds_do_not_see_each_other(palette):
    legacy = palette.add_registry("legacy-packs")
    oci = palette.add_registry("oci-packs", kind="oci")

    assert call(palette, "GET", f"{OCI}/{legacy}/basic").status_code == 404
    assert call(palette, "GET", f"/v1/registries/pack/{oci}").status_code == 404
    listed = call(palette, "GET", "/v1/registries/pack").json()["items"]
    assert [item["metadata"]["name"] for item in listed] == ["legacy-packs"]


@pytest.mark.parametrize("status", [401, 404])
def test_a_wrong_key_is_refused_on_the_oci_paths(palette, status):
    palette.rejected_key_status = status

    response = call(palette, "GET", f"{OCI}/summary", key="wrong")

    assert response.status_code == status
