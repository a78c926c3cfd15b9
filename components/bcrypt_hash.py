"""The dotted path existing stacks' state names for the bcrypt provider (``components.bcrypt_hash.BcryptHashProvider``,
pickled by reference): it lives in ``components/credentials/bcrypt_hash.py`` and keeps this name."""

from components.credentials.bcrypt_hash import BcryptHashProvider

__all__ = ["BcryptHashProvider"]
