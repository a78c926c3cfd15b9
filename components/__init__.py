"""Components of the pack registry program, one concern per module."""

__all__ = [
    "bcrypt_hash",
    "certificates",
    "config",
    "credentials",
    "dynamic_values",
    "oci_client",
    "pack_archive",
    "pack_inputs",
    "pack_registry",
    "packs",
    "palette",
    "palette_client",
    "palette_errors",
    "palette_inputs",
    "palette_shapes",
    "readiness",
    "readiness_probe",
    "registry",
    "storage",
    "verified_tls",
]
