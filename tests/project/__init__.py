"""The repository's own files: the README's tables and commands, .ci/run, and when a missing Docker engine fails."""
