# shellcheck shell=bash
# Recipe: the official `nginx` image (Debian-based tags), built from Debian's nginx package (1.22 in
# bookworm). Laid out like the official image: /etc/nginx/nginx.conf runs workers as user `nginx`, logs to
# stdout/stderr and includes /etc/nginx/conf.d/*.conf, where default.conf is a server on port 80 (the
# program replaces that file); mime.types; the default pages; `nginx -g 'daemon off;'`; SIGQUIT as the
# stop signal (a graceful shutdown: workers finish the requests in flight).
# The official image starts through /docker-entrypoint.sh (a shell script running its
# /docker-entrypoint.d hooks; none of them touches a conf.d/default.conf the program has replaced);
# FROM scratch has no shell, so the stand-in runs nginx directly.
# Debian's build has http core, ssl, proxy, map, geo and auth_basic built in (`nginx -V`; no dynamic
# module is loaded), and bcrypt htpasswd entries work through libxcrypt's libcrypt.so.1 (ldd).
recipe_image="palette-pack-registry-proxy-standin:test"
nginx_binary="${NGINX_BINARY:-/usr/sbin/nginx}"

recipe_check() {
    [[ -x "$nginx_binary" ]] || standin_die "$nginx_binary not found: install Debian's nginx package (apt-get install nginx)"
    [[ -f /etc/nginx/mime.types ]] || standin_die "/etc/nginx/mime.types not found: install Debian's nginx-common package"
}

recipe_rootfs() {
    local rootfs="$1" path
    standin_copy_binary "$rootfs" "$nginx_binary" /usr/sbin/nginx
    mkdir -p "$rootfs/etc/nginx/conf.d" "$rootfs/var/log/nginx" "$rootfs/run" "$rootfs/var/lock" \
        "$rootfs/usr/share/nginx/html"
    # The temp paths Debian's binary was compiled with (`nginx -V`: --http-*-temp-path); nginx creates
    # the last component itself, owned by the worker user.
    for path in body fastcgi proxy scgi uwsgi; do
        mkdir -p "$rootfs/var/lib/nginx/$path"
    done
    # The official image links its logs to the container's output.
    ln -s /dev/stdout "$rootfs/var/log/nginx/access.log"
    ln -s /dev/stderr "$rootfs/var/log/nginx/error.log"
    cp /etc/nginx/mime.types "$rootfs/etc/nginx/mime.types"
    # The official image's user and group (uid/gid 101).
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnginx:x:101:101:nginx user:/nonexistent:/bin/false\n' \
        >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnginx:x:101:\n' >"$rootfs/etc/group"
    cat >"$rootfs/usr/share/nginx/html/index.html" <<'HTML'
<!DOCTYPE html>
<html><head><title>Welcome to nginx!</title></head>
<body><h1>Welcome to nginx!</h1><p>Local stand-in for the official nginx image.</p></body></html>
HTML
    cat >"$rootfs/usr/share/nginx/html/50x.html" <<'HTML'
<!DOCTYPE html>
<html><head><title>Error</title></head>
<body><h1>An error occurred.</h1></body></html>
HTML
    # The official image's /etc/nginx/nginx.conf.
    cat >"$rootfs/etc/nginx/nginx.conf" <<'CONF'

user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    #tcp_nopush     on;

    keepalive_timeout  65;

    #gzip  on;

    include /etc/nginx/conf.d/*.conf;
}
CONF
    # The official image's /etc/nginx/conf.d/default.conf (its entrypoint adds the [::]:80 listener when
    # the container has IPv6).
    cat >"$rootfs/etc/nginx/conf.d/default.conf" <<'CONF'
server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
CONF
}

recipe_dockerfile() {
    cat <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
DOCKERFILE
}

recipe_description() {
    echo "Local stand-in for the official nginx image ($("$nginx_binary" -v 2>&1 | sed 's/^nginx version: //'), Debian)"
}
