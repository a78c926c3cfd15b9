#!/usr/bin/env bash
# Build the local stand-in for the Spectro pack registry image.
#
# No image registry is reachable from the machines this project is tested on, so the real
# spectro-registry image cannot be pulled. Debian's docker-registry package ships the CNCF distribution
# registry (2.8), which honours the same REGISTRY_* environment variables, htpasswd (bcrypt) auth, TLS
# settings and /data storage layout; it answers /v2/ where the real server answers /health and /v1/.
# See shared/registry/FACTS.md ("A local stand-in for tests").
#
# The image is FROM scratch: the binary, the shared libraries ldd names (kept at their paths, dynamic
# loader included) and a minimal config. It is labelled with a digest of everything that goes into it,
# so a second run with nothing changed returns at once.
#
# Environment:
#   STANDIN_IMAGE     image name and tag (default: palette-pack-registry-standin:test)
#   REGISTRY_BINARY   the registry binary (default: /usr/bin/docker-registry)
#   STANDIN_REBUILD   set to 1 to rebuild even when the label matches
set -euo pipefail

image="${STANDIN_IMAGE:-palette-pack-registry-standin:test}"
binary="${REGISTRY_BINARY:-/usr/bin/docker-registry}"
label_key="org.palette-pack-registry.standin.digest"

die() {
    echo "build-standin-image: $*" >&2
    exit 1
}

[[ -x "$binary" ]] || die "$binary not found: install Debian's docker-registry package (apt-get install docker-registry)"
command -v docker >/dev/null || die "docker CLI not found: install Debian's docker.io package"
command -v ldd >/dev/null || die "ldd not found"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer: run scripts/start-dockerd.sh first"

config='version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /data
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
'

dockerfile='FROM scratch
COPY rootfs/ /
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
'

# Shared libraries as ldd prints them: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and
# "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file and is skipped.
mapfile -t libraries < <(ldd "$binary" | awk '
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\// { print $1 }
')
if ldd "$binary" 2>&1 | grep -q "not found"; then
    die "ldd reports missing libraries for $binary: $(ldd "$binary" 2>&1 | grep 'not found' | tr '\n' ' ')"
fi

# The label covers the binary, the libraries (after following symlinks), the config and the Dockerfile,
# so any of them changing triggers a rebuild.
digest="$(
    {
        sha256sum "$binary" | cut -d' ' -f1
        for library in "${libraries[@]}"; do
            echo "$library $(sha256sum "$(readlink -f "$library")" | cut -d' ' -f1)"
        done
        printf '%s' "$config"
        printf '%s' "$dockerfile"
    } | sha256sum | cut -d' ' -f1
)"

if [[ "${STANDIN_REBUILD:-0}" != "1" ]]; then
    existing="$(docker image inspect --format "{{ index .Config.Labels \"$label_key\" }}" "$image" 2>/dev/null || true)"
    if [[ "$existing" == "$digest" ]]; then
        echo "build-standin-image: $image is up to date ($binary unchanged)"
        exit 0
    fi
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
rootfs="$context/rootfs"
mkdir -p "$rootfs/usr/bin" "$rootfs/etc/docker/registry" "$rootfs/data" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp -L "$binary" "$rootfs/usr/bin/docker-registry"
for library in "${libraries[@]}"; do
    # Keep the path the binary asks for (the loader path is baked into the ELF header); -L copies the
    # file a symlink such as /lib64/ld-linux-x86-64.so.2 points at.
    mkdir -p "$rootfs$(dirname "$library")"
    cp -L "$library" "$rootfs$library"
done
printf '%s' "$config" >"$rootfs/etc/docker/registry/config.yml"
printf '%s' "$dockerfile" >"$context/Dockerfile"

# The legacy builder: FROM scratch needs no base image, and it works without the buildx plugin
# (which Debian's docker.io does not ship).
# Its deprecation notice goes to stderr, which is shown only when the build fails.
if ! DOCKER_BUILDKIT=0 docker build --quiet \
    --label "$label_key=$digest" \
    --label "org.opencontainers.image.description=Local stand-in for the Spectro pack registry (CNCF distribution $("$binary" --version 2>/dev/null | awk '{print $3}'))" \
    --tag "$image" "$context" >"$context/build.log" 2>&1; then
    cat "$context/build.log" >&2
    die "docker build of $image failed"
fi
echo "build-standin-image: built $image"
