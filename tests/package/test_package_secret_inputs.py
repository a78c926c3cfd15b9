"""Review test: the package's schema marks the secret arguments secret, so callers' SDKs keep them secret.

The component makes a secret argument secret once it runs (components/package.py ``_settings``), but the
value has already travelled: the caller's SDK registers the component with its inputs (Construct carries them),
and the engine records them in the caller's state as the component's inputs. Pulumi's code generators wrap an
input only when the schema says ``secret: true``: pkg/codegen/nodejs/gen.go ``genResource``,
``if prop.Secret { arg = "args?.x ? pulumi.secret(args.x) : undefined" }`` (the same for the other languages).
The schema the host infers has no ``secret`` (the pinned SDK's analyzer cannot express it), so a TypeScript or
YAML program that passes ``ociPushPassword``, ``palettePassword``, ``dockerKey``... as a plain string (as the
README's examples pass ``port`` or ``hosts``) keeps it in plain text in its own state. The fix belongs in the
schema GetSchema returns (and the snapshot, tests/data/snapshots/package_schema.json): every config key of
``SECRET_KEYS`` as a ``secret`` input (the outputs are secret by their values at run time, which is enough).
"""

from __future__ import annotations

from components.config import SECRET_KEYS
from components.package import TYPE_TOKEN
from tests.support.package_support import schema


def test_every_secret_config_key_is_a_secret_input_of_the_schema() -> None:
    inputs = schema()["resources"][TYPE_TOKEN]["inputProperties"]
    not_secret = sorted(key for key in SECRET_KEYS if not inputs[key].get("secret"))
    assert not_secret == [], f"the schema lets callers pass these in plain text: {not_secret}"
