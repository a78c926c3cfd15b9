"""Packs as code: the pack directory's rules (``directory``), its one walk and what it leaves out (``walker``), the
shapes Spectro documents for its files (``file_shapes``, ``schemas/``), its reproducible archive (``archive``), the
OCI client that pushes it (``oci_client``), and the ``Pack`` dynamic resource (``provider``, ``inputs``).

The state names the provider ``components.packs.PackProvider`` (pickled by reference): it is exported here under
that name.
"""

from components.packs.provider import Pack, PackProvider

__all__ = ["Pack", "PackProvider"]
