"""Components of the pack registry program, one concern per module."""

__all__ = [
    "bcrypt_hash",
    "certificates",
    "config",
    "credentials",
    "dynamic_values",
    "pack_registry",
    "palette",
    "palette_client",
    "palette_errors",
    "palette_inputs",
    "readiness",
    "readiness_probe",
    "verified_tls",
    "registry",
    "storage",
]
