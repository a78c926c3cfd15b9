#!/usr/bin/env bash
# Build the real Pulumi CLI, the YAML language host and the Python SDK's two helper scripts from the Go
# module proxy into a cache folder, at pinned versions, and print that folder (the PULUMI_CLI_ROOT the
# tests take).
#
# The folder is reused while its `bin/pulumi version` answers the pinned version: the first run costs about
# 6 minutes on 2 cores and 1.5 GB of Go module cache; later runs take a second.
#
# Why a throwaway module: pkg/v3's go.mod has `replace` lines, so `go install .../cmd/pulumi@vX` is refused;
# building it as a dependency of another module works.
#
# Environment:
#   PULUMI_CLI_CACHE   where the built folders live (default: ${XDG_CACHE_HOME:-$HOME/.cache}/palette-pack-registry)
#   PULUMI_CLI_VERSION the pulumi/pulumi release to build (default below)
#   PULUMI_YAML_VERSION the pulumi-yaml release to build (default below)
set -euo pipefail

version="${PULUMI_CLI_VERSION:-v3.276.0}"
yaml_version="${PULUMI_YAML_VERSION:-v1.25.0}"
cache="${PULUMI_CLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palette-pack-registry}"
root="$cache/pulumi-cli-$version-yaml-$yaml_version"

log() { echo "build-pulumi-cli: $*" >&2; }

if [[ -x "$root/bin/pulumi" && -x "$root/bin/pulumi-language-yaml" \
      && -x "$root/bin/pulumi-language-python-exec" && -x "$root/bin/pulumi-resource-pulumi-python" ]] \
   && [[ "$("$root/bin/pulumi" version 2>/dev/null)" == "$version" ]]; then
    log "reusing $root ($version)"
    echo "$root"
    exit 0
fi

# The machine's Go toolchain; /usr/local/go/bin is where the official distribution installs it.
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { log "go not found: the CLI is built with the Go toolchain (1.24 or newer)"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
staging="$work/root"
mkdir -p "$staging/bin"

export CGO_ENABLED=0 GOFLAGS=-mod=mod
log "building pulumi $version from the Go module proxy (about 6 minutes the first time)"
(
    cd "$work"
    go mod init pulumi-cli-build >/dev/null 2>&1
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$version" >&2
    go build -trimpath -tags osusergo,grpcnotrace \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
        -o "$staging/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    # The Python SDK's two scripts that sit beside the CLI: the exec shim of the language runtime and the
    # dynamic-provider plugin (pulumi-resource-pulumi-python), from the sdk module at the same version.
    sdk_dir="$(go list -m -f '{{.Dir}}' "github.com/pulumi/pulumi/sdk/v3")"
    install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$staging/bin/"
    install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$staging/bin/"
)
log "building pulumi-language-yaml $yaml_version"
GOBIN="$staging/bin" go install "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$yaml_version" >&2

[[ "$("$staging/bin/pulumi" version)" == "$version" ]] || { log "the built CLI does not report $version"; exit 1; }
mkdir -p "$cache"
rm -rf "$root"
mv "$staging" "$root"
log "built $root"
echo "$root"
