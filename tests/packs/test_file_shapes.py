"""The shapes Spectro documents for pack.json, presets.yaml and schema.yaml: the documentation's own examples are
accepted, and where the documentation contradicts itself, what Spectro's own packs use is.

The examples are those of Spectro's pages "Add a Custom Pack" (its OS pack examples) and "Pack Constraints" (its
pack.json with dependencies and with resources, its presets.yaml and every schema template it shows); what
Spectro's packs use is what its community pack repository holds (spectrocloud/pack-central, packs/*/pack.json:
addonType "app-services", cloudTypes "custom", scheduleType "worker", an empty presets.yaml and schema.yaml).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft7Validator

from components.packs import file_shapes
from components.packs.file_shapes import ShapeProblem, check_pack_json, check_presets, check_schema_yaml
from tests.support.paths import SAMPLE_PACK

OS_PACK_AWS = {
    "annotations": {
        "cloudRegion": "us-east-1",
        "imageId": "ami-071f6fc516c53fca1",
        "imageOwner": "421085264799",
        "osName": "centos",
        "os_spectro_version": "0",
        "sshUsername": "centos",
        "skipK8sInstall": "false",
    },
    "cloudTypes": ["aws"],
    "displayName": "CentOS",
    "eol": "2024-06-30",
    "group": "",
    "kubeManifests": [],
    "layer": "os",
    "name": "golden-centos-aws",
    "version": "7.7.1908",
}
OS_PACK_VSPHERE = {
    **OS_PACK_AWS,
    "annotations": {"folder": "spectro-templates", "imageId": "/Datacenter/vm/base", "osName": "ubuntu"},
    "cloudTypes": ["vsphere"],
    "group": "LTS",
    "name": "golden-ubuntu-vsphere",
    "version": "18.04.4",
}
CONSTRAINTS_PACK = {
    "addonType": "system app",
    "cloudTypes": ["all"],
    "displayName": "Test Pack",
    "kubeManifests": [],
    "layer": "addon",
    "name": "pack-constraints-test",
    "version": "1.0.0",
}
DEPENDENCIES = {
    "dependencies": [
        {"packName": "vault", "layer": "addon", "minVersion": "0.6.0", "maxVersion": "", "type": "optional"},
        {
            "packName": "csi-vsphere-volume",
            "layer": "csi",
            "minVersion": "1.0.0",
            "maxVersion": "",
            "type": "notSupported",
        },
        {"packName": "kubernetes", "layer": "k8s", "minVersion": "1.17.0", "maxVersion": "1.18.6", "type": "required"},
    ]
}
RESOURCES = {
    "resources": [
        {
            "type": "cpu",
            "minLimit": 2000,
            "components": [
                {"resourceRequestParamRef": "requests.cpu", "replicaCountParamRef": "replicas", "scheduleType": "all"}
            ],
        },
        {
            "type": "memory",
            "minLimit": 2048,
            "components": [
                {
                    "resourceRequestParamRef": "requests.memory",
                    "replicaCountParamRef": "replicas",
                    "scheduleType": "worker",
                }
            ],
        },
        {"type": "diskSize", "minLimit": 10},
    ]
}
# The documentation's template pack.json, its placeholders filled in.
TEMPLATE_PACK = {
    "annotations": {"name": "value"},
    "displayName": "Prometheus",
    "eol": "2028-04-30",
    "group": "monitoring",
    "kubeManifests": ["manifests/deployment.yaml"],
    "layer": "addon",
    "addonType": "monitoring",
    "name": "prometheus",
    "version": "1.0.0",
}

DOCUMENTED_PACK_JSON = {
    "os pack (aws)": OS_PACK_AWS,
    "os pack (vsphere)": OS_PACK_VSPHERE,
    "dependencies": {**CONSTRAINTS_PACK, "constraints": DEPENDENCIES},
    "resources": {**CONSTRAINTS_PACK, "constraints": RESOURCES},
    "template, without cloudTypes": TEMPLATE_PACK,
    "the sample pack": json.loads((SAMPLE_PACK / "pack.json").read_text()),
}

DOCUMENTED_PRESETS = """\
presets:
- name: "privatePackRegistry"
  displayName: "Private Registry"
  group: "registry"
  remove: ["registry.ingress.host"]
  add: |
    registry:
      private: true
      type: "PACK"
      host:
       ip: "127.0.0.1"
       port: 5000
- name: "publicPackRegistry"
  displayName: "Public Registry"
  group: "registry"
  remove: ["registry.ingress.host"]
  add: |
    registry:
      private: false
      type: "PACK"
      host:
       ip: "13.233.2.255"
       port: 80
"""

DOCUMENTED_SCHEMA = r"""
registry.hostname:
  schema: '{{ required | format "${string:/^([a-z0-9].*)$/}" }}'
registry.readonlyName:
  schema: '{{ readonly }}'
registry.anyFormat:
  schema: '{{ required | format "${FORMAT_TYPE:/REGEX/ OR [NUMBER RANGE] OR [LIST_OPTIONS]}" }}'
registry.port:
  schema: '{{ format "${number:[5000-5005]}" }}'
registry.portPattern:
  schema: '{{ format "${number:/^(500[0-5])$/}" }}'
registry.private:
  schema: '{{ format "${boolean}" }}'
registry.password:
  schema: '{{ format "${password:/^([a-z0-9].*)$/}" }}'
registry.type:
  schema: '{{ format "${list:[PACK,GIT,CHART]}" }}'
registry.hostIp:
  schema: '{{ format "${ipv4}" }}'
registry.version:
  schema: '{{ required | format "${version}" }}'
registry.description:
  schema: '{{ hints "description A" "description B" }}'
registry.addresses.$[]:
  schema: '{{ required | format "${ipv4} - ${ipv4}" | hints "ip pool range"}}'
storageType:
  schema: '{{ required | format "${string}, ${string:/size=\d+/}" }}'
"""


@pytest.mark.parametrize("data", DOCUMENTED_PACK_JSON.values(), ids=DOCUMENTED_PACK_JSON.keys())
def test_the_documentations_pack_json_examples_are_accepted(data: dict[str, Any]) -> None:
    check_pack_json(data)


@pytest.mark.parametrize(
    "changes",
    [
        {"addonType": "app-services"},  # outside both of the documentation's lists; 3 of Spectro's packs
        {"addonType": "system app", "addonSubType": "gateway"},
        {"cloudTypes": ["custom", "edge-native", "maas"]},
        {"cloudTypes": ["tencent", "libvirt", "coxedge"]},
        {"constraints": {"resources": [{"type": "cpu", "components": [{"scheduleType": "master"}]}]}},
        {"constraints": {"resources": [{"type": "cpu", "components": [{"scheduleType": "control-plane"}]}]}},
        {"ansibleRoles": ["roles/harden"], "commit_msg": "a key of Spectro's own packs"},
    ],
)
def test_what_spectros_own_packs_use_is_accepted(changes: dict[str, Any]) -> None:
    check_pack_json({**TEMPLATE_PACK, **changes})


def test_the_documentations_presets_and_schema_templates_are_accepted() -> None:
    check_presets(DOCUMENTED_PRESETS)
    check_schema_yaml(DOCUMENTED_SCHEMA)


@pytest.mark.parametrize("text", ["", "# nothing yet\n"])
def test_an_empty_presets_or_schema_file_is_nothing_to_check(text: str) -> None:
    check_presets(text)
    check_schema_yaml(text)


def test_a_template_with_a_bar_inside_a_hint_is_one_hint() -> None:
    check_schema_yaml("""a.b:\n  schema: '{{ hints "one | two" "say \\"three\\"" | required }}'\n""")


@pytest.mark.parametrize("name", ["pack_json", "presets_yaml", "schema_yaml"])
def test_each_schema_is_a_valid_draft_7_schema_built_once(name: str) -> None:
    Draft7Validator.check_schema(json.loads((file_shapes.SCHEMAS / f"{name}.schema.json").read_text()))
    assert file_shapes.validator(name) is file_shapes.validator(name)


def test_a_problem_names_the_file_and_the_deepest_field() -> None:
    data = {**CONSTRAINTS_PACK, "constraints": {"dependencies": [{"packName": "k", "layer": "k8s", "type": "later"}]}}

    with pytest.raises(ShapeProblem) as raised:
        check_pack_json(data)

    assert raised.value.file == "pack.json"
    assert raised.value.problem == "has constraints.dependencies[0].type 'later', which Palette does not know"
    assert raised.value.fix == "Use one of required | optional | notSupported | upgrade."


def test_a_dependency_without_a_type_is_accepted_as_spectros_own_packs_publish_it() -> None:
    data = {**CONSTRAINTS_PACK, "constraints": {"dependencies": [{"packName": "k", "layer": "k8s"}]}}
    check_pack_json(data)
    missing_layer = {**CONSTRAINTS_PACK, "constraints": {"dependencies": [{"packName": "k"}]}}
    with pytest.raises(ShapeProblem):
        check_pack_json(missing_layer)
