"""The program and its components under the Pulumi mocks: what they declare, golden files, upgrades."""
