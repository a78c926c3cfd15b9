"""Stand-in for pulumi-random: RandomPassword, generated as tests/support/harness.py ``generate`` does (real bcrypt)."""

from __future__ import annotations

from tests.cli.plugins.server import Props, ResourceType, StandinProvider, changed_keys, plugin_version, serve
from tests.support.provider_material import PASSWORD, generate, replaces


class RandomPassword(ResourceType):
    """Every argument that shapes the result is RequiresReplace; ``keepers`` replaces only for a changed or
    removed value (terraform-provider-random internal/provider/resource_password.go; the rule is harness
    ``replaces``), so a keeper added with a null value is an update that keeps the password."""

    token = PASSWORD
    computed = ("result", "bcryptHash")

    def diff(self, state: Props, old_inputs: Props, news: Props) -> tuple[list[str], list[str]]:
        changed = changed_keys(old_inputs, news)
        return changed, changed if changed and replaces(PASSWORD, old_inputs, news) else []

    def create(self, inputs: Props) -> tuple[str, Props]:
        outputs = generate(PASSWORD, inputs)
        assert outputs is not None
        # The provider's id for every password (resource_password.go Create).
        return "none", outputs


def main() -> None:
    serve(StandinProvider("random", plugin_version("pulumi_random"), [RandomPassword()]))


if __name__ == "__main__":
    main()
