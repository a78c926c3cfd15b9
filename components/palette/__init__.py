"""The registration of the pack registry in Palette: the dynamic resource (``registration``) and its provider
(``provider``), the HTTP client (``client``, ``policy``), its errors (``errors``), the registration's inputs
(``inputs``), the proof that Palette lists every published pack (``proof``), the two API shapes (``shapes``) and
where Palette and its API key are found (``access``).

The state names the providers ``components.palette.PackRegistryProvider`` and ``components.palette.PackProofProvider``
(pickled by reference): they are exported here under those names.
"""

from components.palette.access import API_KEY_CONFIG
from components.palette.inputs import INPUTS
from components.palette.proof import PackProof, PackProofProvider
from components.palette.provider import OUTPUTS, PackRegistryProvider
from components.palette.registration import PaletteRegistration

__all__ = [
    "API_KEY_CONFIG",
    "INPUTS",
    "OUTPUTS",
    "PackProof",
    "PackProofProvider",
    "PackRegistryProvider",
    "PaletteRegistration",
]
