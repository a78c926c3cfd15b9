"""The suite, one folder per layer, with ``support/`` (shared code) and ``data/`` (golden files, snapshots, the
sample pack, programs): docs/testing.md "Where the tests are" says what each folder holds."""
