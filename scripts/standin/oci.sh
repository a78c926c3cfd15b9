# shellcheck shell=bash
# Recipe: the official `registry` image (distribution-library-image, 2.8 line): /bin/registry, its config
# at /etc/docker/registry/config.yml (that repository's config-example.yml: deletes on, blob descriptor
# cache in memory, data under /var/lib/registry, declared a VOLUME, debug and metrics on :5001, the
# storage health check), `registry serve <config>` as the command. The official image starts through
# /entrypoint.sh (a shell script); FROM scratch has no shell, so the stand-in runs the binary directly,
# which is what that script does for a config-file argument.
recipe_image="palette-pack-registry-oci-standin:test"
registry_binary="${REGISTRY_BINARY:-/usr/bin/docker-registry}"

recipe_check() {
    [[ -x "$registry_binary" ]] ||
        standin_die "$registry_binary not found: install Debian's docker-registry package (apt-get install docker-registry)"
}

recipe_rootfs() {
    local rootfs="$1"
    standin_copy_binary "$rootfs" "$registry_binary" /bin/registry
    mkdir -p "$rootfs/etc/docker/registry" "$rootfs/var/lib/registry"
    cat >"$rootfs/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
log:
  fields:
    service: registry
storage:
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
  debug:
    addr: :5001
    prometheus:
      enabled: true
      path: /metrics
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
YAML
}

recipe_dockerfile() {
    cat <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
DOCKERFILE
}

recipe_description() {
    echo "Local stand-in for the official registry image (CNCF distribution $("$registry_binary" --version 2>/dev/null | awk '{print $3}'))"
}
