"""Who may use the registry and how it proves itself: the users' passwords and htpasswd file (``passwords``), the
bcrypt hash of a supplied password (``bcrypt_hash``), and the TLS certificates (``certificates``)."""
