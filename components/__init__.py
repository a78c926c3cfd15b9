"""The pack registry program's components, a package per concern.

- ``config/``: the stack's typed, validated settings, a module per concern;
- ``kinds/``: the registry kinds (legacy, oci, an existing registry), everything in which they differ;
- ``instance/``: the containers of one instance on one Docker host, their storage, the engine query;
- ``credentials/``: the users' passwords, their bcrypt hashes, the TLS certificates;
- ``readiness/``: the gate that waits until an instance answers as its clients will use it;
- ``packs/``: the pack directory's rules, its archive, the OCI client and the ``Pack`` provider;
- ``palette/``: the registration in Palette (provider, client, errors, inputs, API shapes);
- ``dynamic/``: what the dynamic providers share (inputs, HTTP, an endpoint that cannot be reached);
- ``pack_registry/``: the whole registry as one component, its outputs, and the component package;
- ``oci_reference``: the OCI name, tag and image reference grammar; ``project``: the project's name and
  declared config; ``bcrypt_hash``: a path the state names (see there).
"""

__all__ = ["config", "pack_registry"]
