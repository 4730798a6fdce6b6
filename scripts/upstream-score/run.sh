#!/bin/bash
# Run lua-nginx-module's own Test::Nginx suite on the reference and on ngxlua, as upstream CI
# runs it, and score per file how many of the blocks that pass on the reference pass on ngxlua.
#
#   scripts/upstream-score/run.sh TEST_NGINX_DIR LUA_NGINX_MODULE_DIR [OUT_DIR] [STREAMS]
#
# TEST_NGINX_DIR: a checkout of openresty/test-nginx; LUA_NGINX_MODULE_DIR: a checkout of
# openresty/lua-nginx-module at tag v0.10.23 (the reference's version). Neither is part of this
# repository (fetch them; never commit them). Needs root: each stream runs in its own network
# and pid namespace (unshare) with upstream CI's iptables rules (127.0.0.2:12345 black-holed,
# udp 10086 rejected, 0.0.0.1 prohibited), its own redis-server and memcached on loopback, and
# a pid-1 shell that reaps the daemonized servers at once (this machine's init reaps slowly,
# which made every block wait ~1.5 s). Perl: libtest-base-perl libtext-diff-perl
# liblist-moreutils-perl libwww-perl libtest-longstring-perl; iptables, iproute2.
# The reference is Debian's nginx with the ndk, lua, echo and headers-more modules loaded, as
# upstream CI loads echo and headers-more. ngxlua runs from a frozen copy of this checkout.
set -eu
TN=$(realpath "$1"); LNM=$(realpath "$2"); OUT=$(realpath -m "${3:-/tmp/upstream-score}"); STREAMS=${4:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
# a frozen copy of ngxlua, so that edits during the run do not change what is measured
rm -rf "$OUT/snap" && mkdir -p "$OUT/snap"
(cd "$ROOT" && git archive HEAD | tar -x -C "$OUT/snap" && cp -r dist build "$OUT/snap/" && ln -s "$ROOT/node_modules" "$OUT/snap/node_modules")
git -C "$ROOT" log --oneline -1 > "$OUT/snap/COMMIT"
printf '#!/bin/sh\nexec node %s/snap/bin/ngxlua.js "$@"\n' "$OUT" > "$OUT/ngxlua" && chmod +x "$OUT/ngxlua"
M=/usr/lib/nginx/modules
MODS="$M/ndk_http_module.so $M/ngx_http_lua_module.so $M/ngx_http_echo_module.so $M/ngx_http_headers_more_filter_module.so"

stream() { # ENGINE N FILE...
  local eng=$1 n=$2; shift 2
  local bin=/usr/sbin/nginx port=$((21984 + n * 1000))
  [ "$eng" = ours ] && bin=$OUT/ngxlua && port=$((31984 + n * 1000))
  mkdir -p "$OUT/logs/$eng" "$OUT/root-$eng-$n" && (cd "$LNM/t" && for d in */; do mkdir -p "$OUT/logs/$eng/$d"; done)
  unshare --net --pid --fork --mount-proc bash -c "
    ip link set lo up
    iptables -I OUTPUT 1 -p udp --dport 10086 -j REJECT
    iptables -I OUTPUT -p tcp --dst 127.0.0.2 --dport 12345 -j DROP
    iptables -I OUTPUT -p udp --dst 127.0.0.2 --dport 12345 -j DROP
    ip route add prohibit 0.0.0.1/32 2>/dev/null || true
    redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save '' >/dev/null
    memcached -d -u root -l 127.0.0.1 -p 11211
    sleep 0.3
    cd '$LNM'
    export TEST_NGINX_BINARY='$bin' TEST_NGINX_PORT=$port TEST_NGINX_SERVROOT='$OUT/root-$eng-$n/servroot'
    export TEST_NGINX_LOAD_MODULES='$MODS' TEST_NGINX_IGNORE_MISSING_DIRECTIVES=1 TEST_NGINX_SLEEP=0.006
    for f in $*; do timeout 900 prove -v -I. -I'$TN/lib' t/\$f > '$OUT/logs/$eng/'\$f.log 2>&1 || true; done
  "
}

files=$(cd "$LNM/t" && ls *.t */*.t 2>/dev/null || true)
pids=()
for eng in ref ours; do
  for ((i = 0; i < STREAMS; i++)); do
    part=$(echo "$files" | awk -v n=$STREAMS -v i=$i 'NR % n == i')
    stream $eng $i $part & pids+=($!)
  done
done
wait "${pids[@]}"
python3 "$(dirname "$0")/score.py" "$OUT/logs" "$OUT/results"
