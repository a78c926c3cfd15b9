# shellcheck shell=bash
# Shared steps of the stand-in image builds (sourced by build-standin-image.sh; see scripts/standin/).
#
# No image registry is reachable from the machines this project is tested on, so every stand-in image is
# FROM scratch: binaries from Debian packages, the shared libraries ldd names (kept at their paths,
# dynamic loader included) and the files a recipe adds. The image is labelled with a digest of the
# whole build context, so a second run with nothing changed returns at once.

STANDIN_LABEL_KEY="org.palette-pack-registry.standin.digest"

standin_die() {
    echo "build-standin-image: $*" >&2
    exit 1
}

# standin_require_engine: the docker CLI, ldd and an engine that answers.
standin_require_engine() {
    command -v docker >/dev/null || standin_die "docker CLI not found: install Debian's docker.io package"
    command -v ldd >/dev/null || standin_die "ldd not found"
    docker info >/dev/null 2>&1 || standin_die "the Docker engine does not answer: run scripts/start-dockerd.sh first"
}

# standin_copy_binary ROOTFS BINARY DEST: copies BINARY to DEST inside ROOTFS, with every shared
# library ldd names at the path the binary asks for.
standin_copy_binary() {
    local rootfs="$1" binary="$2" dest="$3" library
    if ldd "$binary" 2>&1 | grep -q "not found"; then
        standin_die "ldd reports missing libraries for $binary: $(ldd "$binary" 2>&1 | grep 'not found' | tr '\n' ' ')"
    fi
    mkdir -p "$rootfs$(dirname "$dest")"
    cp -L "$binary" "$rootfs$dest"
    # Shared libraries as ldd prints them: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and
    # "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file and is skipped.
    while read -r library; do
        # Keep the path the binary asks for (the loader path is baked into the ELF header); -L copies
        # the file a symlink such as /lib64/ld-linux-x86-64.so.2 points at.
        mkdir -p "$rootfs$(dirname "$library")"
        cp -L "$library" "$rootfs$library"
    done < <(ldd "$binary" | awk '
        $2 == "=>" && $3 ~ /^\// { print $3; next }
        $1 ~ /^\// { print $1 }
    ')
}

# standin_context_digest CONTEXT: a digest of every path, mode, symlink target and file content under
# CONTEXT (the Dockerfile included), so any change to what goes into the image triggers a rebuild.
standin_context_digest() {
    local context="$1"
    (
        cd "$context"
        find . -printf '%p %y %m %l\n' | LC_ALL=C sort
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    ) | sha256sum | cut -d' ' -f1
}

# standin_build IMAGE CONTEXT DESCRIPTION: builds CONTEXT (a Dockerfile and rootfs/) as IMAGE unless
# IMAGE already carries the context's digest (STANDIN_REBUILD=1 forces a build).
standin_build() {
    local image="$1" context="$2" description="$3" digest existing log
    log="$(dirname "$context")/build.log"
    digest="$(standin_context_digest "$context")"
    if [[ "${STANDIN_REBUILD:-0}" != "1" ]]; then
        existing="$(docker image inspect --format "{{ index .Config.Labels \"$STANDIN_LABEL_KEY\" }}" "$image" 2>/dev/null || true)"
        if [[ "$existing" == "$digest" ]]; then
            echo "build-standin-image: $image is up to date"
            return 0
        fi
    fi
    # The legacy builder: FROM scratch needs no base image, and it works without the buildx plugin
    # (which Debian's docker.io does not ship).
    # Its deprecation notice goes to stderr, which is shown only when the build fails.
    if ! DOCKER_BUILDKIT=0 docker build --quiet \
        --label "$STANDIN_LABEL_KEY=$digest" \
        --label "org.opencontainers.image.description=$description" \
        --tag "$image" "$context" >"$log" 2>&1; then
        cat "$log" >&2
        standin_die "docker build of $image failed"
    fi
    echo "build-standin-image: built $image"
}
