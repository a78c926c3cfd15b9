#!/usr/bin/env bash
# Build a local stand-in image from Debian packages: build-standin-image.sh [legacy|oci|proxy]
#
# No image registry is reachable from the machines this project is tested on, so the images the program
# pins cannot be pulled. Each recipe in scripts/standin/ lays a Debian binary out like the image it
# stands in for (see docs/registry-servers.md):
#   legacy  palette-pack-registry-standin:test        the Spectro pack registry: Debian's CNCF distribution
#           registry (2.8), which honours the same REGISTRY_* variables, htpasswd (bcrypt) auth, TLS
#           settings and /data layout; it answers /v2/ where the real server answers /health and /v1/.
#   oci     palette-pack-registry-oci-standin:test    the official `registry` image (same binary, its layout)
#   proxy   palette-pack-registry-proxy-standin:test  the official `nginx` image (Debian's nginx)
# The shared steps (binary and ldd libraries, digest label, legacy builder) are in scripts/lib-standin.sh.
#
# Environment:
#   STANDIN_IMAGE     image name and tag (default: the recipe's)
#   REGISTRY_BINARY   the registry binary for legacy and oci (default: /usr/bin/docker-registry)
#   NGINX_BINARY      the nginx binary for proxy (default: /usr/sbin/nginx)
#   STANDIN_REBUILD   set to 1 to rebuild even when the label matches
set -euo pipefail

scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib-standin.sh
source "$scripts/lib-standin.sh"

recipe="${1:-legacy}"
[[ -f "$scripts/standin/$recipe.sh" ]] || standin_die "unknown recipe '$recipe' (one of: legacy, oci, proxy)"
# A recipe defines recipe_image (default image), recipe_check, recipe_rootfs ROOTFS,
# recipe_dockerfile (prints it) and recipe_description (prints it).
# shellcheck source=/dev/null
source "$scripts/standin/$recipe.sh"

image="${STANDIN_IMAGE:-$recipe_image}"
recipe_check
standin_require_engine

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
context="$work/context"
mkdir -p "$context/rootfs/tmp"
chmod 1777 "$context/rootfs/tmp"
recipe_rootfs "$context/rootfs"
recipe_dockerfile >"$context/Dockerfile"
standin_build "$image" "$context" "$(recipe_description)"
