"""The registration of the pack registry in Palette: the dynamic resource (``registration``) and its provider
(``provider``), the HTTP client (``client``, ``policy``), its errors (``errors``), the registration's inputs
(``inputs``), the two API shapes (``shapes``) and where Palette and its API key are found (``access``).

The state names the provider ``components.palette.PackRegistryProvider`` (pickled by reference): it is
exported here under that name.
"""

from components.palette.access import API_KEY_CONFIG
from components.palette.inputs import INPUTS
from components.palette.provider import OUTPUTS, PackRegistryProvider
from components.palette.registration import PaletteRegistration

__all__ = ["API_KEY_CONFIG", "INPUTS", "OUTPUTS", "PackRegistryProvider", "PaletteRegistration"]
