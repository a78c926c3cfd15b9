"""The repository's own files: the README and docs pages, scripts/test.sh and .ci/run, and when a missing Docker
engine fails."""
