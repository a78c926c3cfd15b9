"""A replacement of the Palette registration, replayed in the order the Pulumi engine runs it.

How the engine orders a replacement (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``):

- ``diff``: for a resource marked for replacement (``pulumi up --replace <urn>``, ``--target-replace``)
  the engine does not ask the provider; it returns ``DiffResult{Changes: DiffSome, ReplaceKeys: ["id"]}``,
  with ``DeleteBeforeReplace`` false. ``replace_on_changes`` turns a provider's update into a replacement
  (``applyReplaceOnChanges``) and keeps the provider's ``DeleteBeforeReplace``.
- ``continueStepsFromDiff``: ``deleteBeforeReplace := diff.DeleteBeforeReplace``, then
  ``if goal.DeleteBeforeReplace != nil { deleteBeforeReplace = *goal.DeleteBeforeReplace }``: the
  resource option, when the program set it, wins over the provider's answer. With it the steps are
  ``DeleteReplacement`` (old) then ``CreateReplacement`` (new); without it ``CreateReplacement`` first,
  and the delete of the old resource "is generated later on, after all creates/updates finish".

The Python SDK sends ``deleteBeforeReplace`` with ``deleteBeforeReplaceDefined`` (``pulumi/runtime/resource.py``);
the program harness records ``deleteBeforeReplace``. ``create`` adopts a registration by name, so a
create-first replacement adopts the very uid the engine then deletes as "the old one".
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from pulumi.dynamic import DiffResult

from components.palette.errors import PaletteAuthError
from tests.support.harness import PALETTE, run_program
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import KINDS, SERIALIZED, checked, configure
from tests.support.paths import ROOT

NAME = "custom-packs"
API_KEY = "palette-api-key-0123456789abcdef"


pytestmark = pytest.mark.usefixtures("fast_http")


@pytest.fixture(scope="module")
def declared_delete_before_replace() -> bool:
    """The option the program's registration is registered with (what the engine reads as the goal's)."""
    run = run_program({"hosts": ["registry.example.com"], "paletteApiKey": API_KEY}, secrets_={"paletteApiKey"})
    return bool(run.one(PALETTE).options["delete_before_replace"])


def deletes_first(goal_delete_before_replace: bool, provider_diff: DiffResult | None) -> bool:
    """step_generator.go ``continueStepsFromDiff``: the provider's answer, unless the goal sets the option.

    ``provider_diff`` is None for a targeted replace: the engine's ``diff`` answers for the provider.
    The SDK leaves the option undefined (nil in the goal) unless the program set it.
    """
    decided = bool(provider_diff.delete_before_replace) if provider_diff is not None else False
    if goal_delete_before_replace:
        decided = True
    return decided


def replace(provider, old_id: str, old_outs: dict, new_inputs: dict, *, delete_first: bool) -> tuple[str, dict]:
    """The replacement's provider calls, in the engine's order; the new resource's id and outputs."""
    if delete_first:
        provider.delete(old_id, old_outs)
        new = provider.create(new_inputs)
    else:
        new = provider.create(new_inputs)
        provider.delete(old_id, old_outs)
    return new.id, {**new.outs, "__provider": SERIALIZED}


def assert_palette_matches_the_state(provider, palette: FakePalette, new_id: str, new_outs: dict) -> None:
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [new_id], "Palette lost the registration"
    # The next `pulumi refresh` keeps it.
    assert provider.read(new_id, new_outs).id == new_id


def _endpoint_moved(provider, palette, kind, inputs, old_outs):
    """``replace_on_changes=["endpoint"]``: the provider calls the change an update and does not ask to
    delete first; applyReplaceOnChanges makes it a replacement, and the option decides the order."""
    news = checked(
        provider, {**kind.declared(palette.url, endpoint="https://moved.example.com"), "password": inputs["password"]}
    )
    diff = provider.diff(old_outs["uid"], old_outs, news)
    assert diff.changes and diff.replaces == [] and not diff.delete_before_replace
    return news, diff


@pytest.mark.parametrize("how", ["forced", "replace_on_changes"])
def test_a_replacement_deletes_first_as_the_program_declares_and_keeps_the_registration(
    provider, palette, kind, declared_delete_before_replace, how
):
    """``pulumi up --replace <urn>`` / ``--target-replace`` (the provider's diff is not asked), or a
    ``replace_on_changes`` replacement of what the provider calls an update: the engine would create first
    (``deletes_first(False, ...)``), and only the program's declared ``delete_before_replace`` makes it
    delete the old registration first. Then the create makes a new one (a new uid, not the adopted old one)
    and Palette holds exactly what the state holds."""
    inputs = checked(provider, kind.declared(palette.url))
    old = provider.create(inputs)
    old_outs = {**old.outs, "__provider": SERIALIZED}
    if how == "forced":
        news, diff = checked(provider, kind.declared(palette.url)), None
    else:
        news, diff = _endpoint_moved(provider, palette, kind, inputs, old_outs)
    assert deletes_first(False, diff) is False, "without the option the engine creates first"
    assert declared_delete_before_replace is True
    delete_first = deletes_first(declared_delete_before_replace, provider_diff=diff)

    new_id, new_outs = replace(provider, old.id, old_outs, news, delete_first=delete_first)

    assert new_id != old.id, "the old registration was not deleted before the new one was created"
    assert_palette_matches_the_state(provider, palette, new_id, new_outs)
    if how == "replace_on_changes":
        assert palette.named(NAME)[0]["spec"]["endpoint"] == "https://moved.example.com"


def test_create_before_delete_keeps_the_registration_through_its_owner_token(provider, palette, kind):
    """The order the option rules out, replayed on its own: the replacement adopts the live uid and
    writes its own owner token into it, so the engine's delete of that uid as the old resource's leaves
    it in place (without the token check, Palette lost it and a refresh dropped it from the state)."""
    inputs = checked(provider, kind.declared(palette.url))
    old = provider.create(inputs)

    new_id, new_outs = replace(
        provider,
        old.id,
        {**old.outs, "__provider": SERIALIZED},
        checked(provider, kind.declared(palette.url)),
        delete_first=False,
    )

    assert new_id == old.id  # adopted
    assert new_outs["owner"] != old.outs["owner"]
    assert_palette_matches_the_state(provider, palette, new_id, new_outs)


def test_every_program_gets_the_option_whatever_its_opts_say():
    """Declared by the resource class itself, merged last over the program's own ``opts``."""
    # set_mocks changes process-wide state, so the program runs in its own interpreter.
    script = textwrap.dedent(
        """
        import json, pulumi
        from pulumi.runtime import mocks

        seen = []

        class Monitor(mocks.MockMonitor):
            def RegisterResource(self, request):
                if request.type != "pulumi:pulumi:Stack":
                    seen.append([request.name, request.deleteBeforeReplace, request.deleteBeforeReplaceDefined,
                                 request.protect, list(request.additionalSecretOutputs)])
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
            common = dict(name="custom-packs", endpoint="https://r.example.com", username="palette",
                          password="pw", insecure_skip_verify=True)
            plain = PaletteRegistration("plain", **common)
            opted_out = PaletteRegistration(
                "opted-out", **common,
                opts=pulumi.ResourceOptions(delete_before_replace=False, protect=True,
                                            additional_secret_outputs=["username"]))
            return pulumi.Output.all(plain.uid, opted_out.uid)

        run()
        print(json.dumps(seen))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = {name: rest for name, *rest in json.loads(done.stdout.strip().splitlines()[-1])}

    assert seen["plain"] == [True, True, False, ["password"]]
    assert seen["opted-out"][:3] == [True, True, True]
    assert sorted(seen["opted-out"][3]) == ["password", "username"]


def test_renaming_the_resource_without_an_alias_keeps_the_registration(provider, palette, kind):
    """Renaming the ``palette`` resource in the program (no alias): the new URN has no old state, so
    ``generateSteps`` gives it a plain create; the old URN is never registered again, so
    ``GenerateDeletes`` (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``, "wasn't seen at all,
    delete it") deletes it after every create and update has run. No resource option reorders these two:
    ``delete_before_replace`` only applies to a replacement of one URN. ``create`` adopts the registration
    by its name, so the old resource's delete removes the uid the new resource now holds in the state.
    docs/troubleshooting.md asks for an alias; a user who forgets it, or moves the resource under a
    component, loses the registration silently and the next refresh drops it from the state.

    The new resource adopts the registration and writes its own owner token into it, so the delete of the
    old URN finds a registration it no longer owns and leaves it: both steps succeed, and Palette keeps the
    one registration the state now holds."""
    old = provider.create(checked(provider, kind.declared(palette.url)))

    # pulumi up with the resource renamed: create the new URN, then delete the unseen old URN.
    new = provider.create(checked(provider, kind.declared(palette.url)))
    new_outs = {**new.outs, "__provider": SERIALIZED}
    provider.delete(old.id, {**old.outs, "__provider": SERIALIZED})

    assert new.id == old.id, "the new resource adopts the registration by its name"
    assert_palette_matches_the_state(provider, palette, new.id, new_outs)


def test_moving_to_another_palette_names_the_palette_that_refused_the_key(provider, palette, kind):
    """A new ``api_url`` is a replacement, delete first (the provider's ``diff`` asks for it, and the
    resource option forces it): the engine deletes the old registration at the *old* Palette, with the
    one configured key, before creating it at the new one. Moving to another Palette with its own key
    therefore fails at that delete with a 401 whose advice ("set paletteApiKey") is the very change that
    caused it, and which does not say which Palette refused. It has to name that Palette (and the way
    through: delete the registration with the old key first, or ``pulumi state delete`` it)."""
    old = provider.create(checked(provider, kind.declared(palette.url)))
    old_outs = {**old.outs, "__provider": SERIALIZED}
    with FakePalette() as elsewhere:
        configure(provider, elsewhere.api_key)  # pulumi config set --secret paletteApiKey <the new Palette's key>
        news = checked(provider, {**kind.declared(elsewhere.url), "password": old.outs["password"]})
        diff = provider.diff(old.id, old_outs, news)
        assert diff.replaces == ["api_url"] and diff.delete_before_replace

        with pytest.raises(PaletteAuthError) as caught:
            replace(provider, old.id, old_outs, news, delete_first=True)

    message = str(caught.value)
    assert "HTTP 401" in message
    assert palette.url in message, message
    assert elsewhere.api_key not in message and palette.api_key not in message
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [old.id]


@pytest.mark.parametrize(("old", "new"), [("legacy", "oci"), ("oci", "legacy")])
def test_a_new_kind_deletes_the_old_registration_then_creates_the_new_one(
    provider, palette, declared_delete_before_replace, old, new
):
    """Another ``registry_kind`` is a replacement; both the provider's diff and the resource option say
    delete first, so the engine deletes the old kind's registration before it creates the new kind's."""
    old_kind, new_kind = KINDS[old], KINDS[new]
    inputs = checked(provider, old_kind.declared(palette.url))
    first = provider.create(inputs)
    old_outs = {**first.outs, "__provider": SERIALIZED}
    news = checked(provider, {**new_kind.declared(palette.url), "password": inputs["password"]})
    diff = provider.diff(first.id, old_outs, news)
    assert diff.replaces == ["registry_kind"] and diff.delete_before_replace

    palette.reset_calls()
    delete_first = deletes_first(declared_delete_before_replace, provider_diff=diff)
    new_id, new_outs = replace(provider, first.id, old_outs, news, delete_first=delete_first)

    targets = [c.target for c in palette.requests]
    assert targets.index(f"DELETE {old_kind.item(first.id)}") < targets.index(f"POST {new_kind.create}"), targets
    assert palette.kind_of(new_id) == new
    assert_palette_matches_the_state(provider, palette, new_id, new_outs)
