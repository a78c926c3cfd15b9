# shellcheck shell=bash
# Recipe: the Spectro pack registry stand-in (CNCF distribution with the spectro-registry layout: /data).
recipe_image="palette-pack-registry-standin:test"
registry_binary="${REGISTRY_BINARY:-/usr/bin/docker-registry}"

recipe_check() {
    [[ -x "$registry_binary" ]] ||
        standin_die "$registry_binary not found: install Debian's docker-registry package (apt-get install docker-registry)"
}

recipe_rootfs() {
    local rootfs="$1"
    standin_copy_binary "$rootfs" "$registry_binary" /usr/bin/docker-registry
    mkdir -p "$rootfs/etc/docker/registry" "$rootfs/data"
    cat >"$rootfs/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
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
YAML
}

recipe_dockerfile() {
    cat <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
DOCKERFILE
}

recipe_description() {
    echo "Local stand-in for the Spectro pack registry (CNCF distribution $("$registry_binary" --version 2>/dev/null | awk '{print $3}'))"
}
