#!/bin/sh
# Benchmark: "autodiscover serve" in proxy mode vs Apache httpd with the
# WorkMail recipe (SSLProxyEngine on + ProxyPass), both in front of the
# same local TLS upstream, in one run.
#
#   bench/proxy/run.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]
#   FLOOR=1 bench/proxy/run.sh ...   # also bench/proxy/floor, a bare relay
#
# Proxies and upstream are pinned to CPU 0, the load generator (wrk, TLS
# keep-alive, the seed's authenticated POST) to CPU 1; all run in this
# script's session, so in one scheduling group (see autogroup below). The two proxies take
# turns, ROUNDS times (default 3, the order alternating), so that a slow
# spell of a shared machine hits both alike. Prints, per round, requests/s,
# p50/p99 latency, CPU time per request (the proxy's and the upstream's on
# its behalf), upstream connections opened, and memory (the largest PSS seen
# during the run, sampled twice a second; Apache: summed over its processes); then the ratios ours/Apache per round and their median.
# UPSTREAM_CPU=1 puts the upstream on CPU 1 with wrk instead of on the
# proxies' core (then CPU 1 is busy too: read its numbers with care).
# With FLOOR=1 each round also measures bench/proxy/floor, a TLS relay with
# no HTTP stack (the least a Go proxy can cost), after the two proxies.
# Needs: go, python3 (to pick free ports), openssl, wrk, apache2 (modules proxy, proxy_http, ssl,
# socache_shmcb), taskset (util-linux), curl. Not part of go test.
set -eu
DURATION=${1:-20}
CONNS=${2:-32}
ROUNDS=${3:-3}
FLOOR=${FLOOR:-0}
UPSTREAM_CPU=${UPSTREAM_CPU:-0}
case $UPSTREAM_CPU in 0|1) ;; *) echo "UPSTREAM_CPU must be 0 or 1" >&2; exit 2;; esac
case $CONNS in ''|*[!0-9]*) echo "connections must be a number" >&2; exit 2;; esac
case $ROUNDS in ''|*[!0-9]*|0) echo "rounds must be a number from 1" >&2; exit 2;; esac
[ "$ROUNDS" -le 10 ] || { echo "rounds capped at 10" >&2; exit 2; }
case $DURATION in ''|*[!0-9]*) echo "duration must be whole seconds" >&2; exit 2;; esac
[ "$DURATION" -le 300 ] || { echo "duration capped at 300 s" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/autodiscover-bench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	[ -f "$W/apache/httpd.pid" ] && kill "$(cat "$W/apache/httpd.pid")" 2>/dev/null || true
	sleep 1
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

# Four loopback ports free a moment ago.
set -- $(python3 -c 'import socket
ss=[socket.socket() for _ in range(4)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))')
OURS=127.0.0.1:$1 APACHE=127.0.0.1:$2 UP=$3 BARE=127.0.0.1:$4

echo "# building" >&2
(cd "$ROOT" && go build -o "$W/autodiscover" ./cmd/autodiscover && go build -o "$W/upstream" ./bench/proxy/upstream && go build -o "$W/floor" ./bench/proxy/floor)

echo "# certificates" >&2
cd "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
	-keyout ca.key -out ca.pem 2>/dev/null
leaf() { # name, SANs
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
leaf upstream localhost "DNS:localhost,IP:127.0.0.1"
leaf front autodiscover.company.tld "DNS:autodiscover.company.tld,DNS:company.tld"

cat > autodiscover.yaml <<YAML
listen:
  https: $OURS
  http: "off"
tls:
  certificates:
    - cert_file: $W/front.pem
      key_file: $W/front.key
domains:
  - name: company.tld
    mode: proxy
    upstream: https://localhost:$UP/autodiscover/autodiscover.xml
    upstream_ca_file: $W/ca.pem
YAML

mkdir apache
USERDIRS=""
if [ "$(id -u)" = 0 ]; then USERDIRS="User www-data
Group www-data"; fi
M=/usr/lib/apache2/modules
cat > apache/httpd.conf <<CONF
ServerRoot "$W/apache"
ServerName autodiscover.company.tld
DefaultRuntimeDir "$W/apache"
PidFile "$W/apache/httpd.pid"
$USERDIRS
Listen $APACHE
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule proxy_module $M/mod_proxy.so
LoadModule proxy_http_module $M/mod_proxy_http.so
LoadModule ssl_module $M/mod_ssl.so
LoadModule socache_shmcb_module $M/mod_socache_shmcb.so
# Debian's mpm_event.conf
StartServers 2
MinSpareThreads 25
MaxSpareThreads 75
ThreadLimit 64
ThreadsPerChild 25
MaxRequestWorkers 150
MaxConnectionsPerChild 0
# Keep-alive without a request cap, like ours (Apache's default is 100).
KeepAlive On
MaxKeepAliveRequests 0
ErrorLog "$W/apache/error.log"
LogLevel warn
SSLSessionCache "shmcb:$W/apache/ssl_scache(512000)"
<VirtualHost $APACHE>
  ServerName autodiscover.company.tld
  SSLEngine on
  SSLCertificateFile $W/front.pem
  SSLCertificateKeyFile $W/front.key
  # The WorkMail recipe, with the local upstream for the AWS one.
  SSLProxyEngine on
  SSLProxyCACertificateFile $W/ca.pem
  # Verify the upstream's certificate, as ours does (Apache's default is
  # SSLProxyVerify none: any certificate with the right name passes).
  SSLProxyVerify require
  ProxyPass /autodiscover/autodiscover.xml https://localhost:$UP/autodiscover/autodiscover.xml
</VirtualHost>
CONF
chmod 755 "$W" apache; chmod 644 ./*.pem ./*.key

# This script's own helpers (curl, awk, the memory sampler) run on CPU 1,
# beside wrk, so that CPU 0 holds only the servers.
taskset -p -c 1 $$ >/dev/null
echo "# starting upstream, ours and Apache on CPU 0" >&2
taskset -c "$UPSTREAM_CPU" ./upstream -addr 127.0.0.1:$UP -cert upstream.pem -key upstream.key & UP_PID=$!; PIDS="$PIDS $UP_PID"
taskset -c 0 ./autodiscover serve --config autodiscover.yaml --log-level warn 2>ours.log & OURS_PID=$!; PIDS="$PIDS $OURS_PID"
# In the foreground (no daemon): Apache stays in this session like the
# others. A daemon calls setsid, and with the kernel's autogroup scheduling
# (sched_autogroup_enabled, on by default) a new session is a scheduling
# group of its own: on the shared core the proxy would then compete with
# the upstream as a group rather than as threads, which changes the
# proxy's throughput by a quarter or more (either proxy, measured).
taskset -c 0 /usr/sbin/apache2 -f "$W/apache/httpd.conf" -D FOREGROUND & PIDS="$PIDS $!"
FLOOR_PID=""
if [ "$FLOOR" = 1 ]; then
	taskset -c 0 ./floor -addr "$BARE" -upstream "127.0.0.1:$UP" -cert front.pem -key front.key -ca ca.pem & FLOOR_PID=$!; PIDS="$PIDS $FLOOR_PID"
fi
sleep 2
groups=$(for p in $UP_PID $OURS_PID $(cat "$W/apache/httpd.pid") $FLOOR_PID; do cat "/proc/$p/autogroup" 2>/dev/null | cut -d' ' -f1; done | sort -u | wc -l)
if [ "$groups" -gt 1 ]; then
	echo "the upstream and the proxies are in different scheduling groups (autogroup): the comparison would be unfair" >&2
	exit 1
fi

BODY=$ROOT/examples/request.xml
check() { # name addr
	out=$(curl -sS --max-time 10 --cacert ca.pem --resolve "autodiscover.company.tld:${2##*:}:127.0.0.1" \
		-d @"$BODY" -u testuser@company.tld:testpassword "https://autodiscover.company.tld:${2##*:}/autodiscover/autodiscover.xml")
	case $out in *"<Type>MobileSync</Type>"*) ;; *) echo "$1 does not relay: $out" >&2; cat ours.log apache/error.log >&2; exit 1;; esac
}
check ours $OURS
check apache $APACHE
[ "$FLOOR" = 1 ] && check floor $BARE
# The path as Outlook spells it: does each proxy relay it?
mixed() {
	curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert ca.pem --resolve "autodiscover.company.tld:${1##*:}:127.0.0.1" \
		-d @"$BODY" -u testuser@company.tld:testpassword "https://autodiscover.company.tld:${1##*:}/Autodiscover/Autodiscover.xml"
}
MIXED="POST /Autodiscover/Autodiscover.xml: ours $(mixed $OURS), Apache $(mixed $APACHE)"

sum_over() { # file-under-/proc/PID awk-program pids... : the value summed over the processes
	file=$1 prog=$2; shift 2
	t=0
	for p in "$@"; do
		v=$(awk "$prog" "/proc/$p/$file" 2>/dev/null || echo 0)
		t=$((t + ${v:-0}))
	done
	echo $t
}
# Proportional set size, KiB: shared pages (Apache's children share most
# of theirs) count once in total, not once per process as in RSS.
pss_kb() { sum_over smaps_rollup '/^Pss:/ {print $2}' "$@"; }
sample_pss() { # pids-function file: the largest PSS seen, until file.stop exists
	max=0
	while [ ! -f "$2.stop" ]; do
		v=$(pss_kb $($1))
		[ "$v" -gt "$max" ] && max=$v && echo "$max" > "$2"
		sleep 0.5
	done
}
apache_pids() {
	parent=$(cat "$W/apache/httpd.pid")
	echo "$parent $(pgrep -P "$parent" | tr '\n' ' ')"
}

# User+system CPU time, in clock ticks, of the processes and of their
# children that have ended (Apache replaces children under load: their time
# moves to the parent's cutime/cstime).
cpu_ticks() { sum_over stat '{print $14 + $15 + $16 + $17}' "$@"; }
HZ=$(getconf CLK_TCK)

run() { # name round addr pids-function
	name=$1 round=$2 addr=$3 pids=$4
	BENCH_BODY=$BODY taskset -c 1 wrk -t1 -c"$CONNS" -d3s -s "$ROOT/bench/proxy/post.lua" "https://$addr/autodiscover/autodiscover.xml" >/dev/null
	before=$(cpu_ticks $($pids)) up_before=$(cpu_ticks "$UP_PID") stats_before=$(upstream_stats)
	echo 0 > "pss-$name-$round.txt"
	sample_pss "$pids" "pss-$name-$round.txt" & sampler=$!
	BENCH_BODY=$BODY taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$ROOT/bench/proxy/post.lua" \
		"https://$addr/autodiscover/autodiscover.xml" > "wrk-$name-$round.txt"
	after=$(cpu_ticks $($pids)) up_after=$(cpu_ticks "$UP_PID") stats_after=$(upstream_stats)
	touch "pss-$name-$round.txt.stop"; wait "$sampler"
	# CPU time per request (µs) of the proxy and of the upstream.
	n=$(awk '/requests in/ {print $1}' "wrk-$name-$round.txt")
	echo $(( (after - before) * 1000000 / HZ / n )) $(( (up_after - up_before) * 1000000 / HZ / n )) > "cpu-$name-$round.txt"
	# Connections the proxy opened to the upstream (reuse) and requests
	# relayed; the first /stats call's own connection is not the proxy's.
	set -- $stats_before $stats_after
	echo $(($3 - $1 - 1)) $(($4 - $2)) > "upstream-$name-$round.txt"
}
upstream_stats() { # connections and requests the upstream has seen
	curl -sS --max-time 5 --cacert ca.pem "https://localhost:$UP/stats"
}
ours_pids() { echo "$OURS_PID"; }
floor_pids() { echo "$FLOOR_PID"; }
echo "# wrk: $CONNS connections, ${DURATION}s each after a 3 s warm-up, $ROUNDS rounds" >&2
r=1
while [ $r -le "$ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then
		run ours $r $OURS ours_pids; run apache $r $APACHE apache_pids
	else
		run apache $r $APACHE apache_pids; run ours $r $OURS ours_pids
	fi
	[ "$FLOOR" = 1 ] && run floor $r $BARE floor_pids
	r=$((r + 1))
done

rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99ms() { # wrk's 99th percentile, in ms
	awk '$1=="99%" {v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
		if (u=="us") v/=1000; else if (u=="s") v*=1000; print v}' "$1"
}
report() { # name file pss-file cpu-file upstream-file round
	p50=$(awk '$1=="50%" {print $2}' "$2")
	p99=$(awk '$1=="99%" {print $2}' "$2")
	non200=$(awk '/^status errors:/ {print $3}' "$2")
	errs=$(awk '/Socket errors/ {print}' "$2")
	read -r cpu up < "$4"
	read -r upconns upreqs < "$5"
	read -r pss < "$3"
	printf '| %s | %s | %s | %s | %s | %d µs | %d µs | %d / %d | %d MiB | %s %s |\n' "$6" "$1" "$(rps "$2")" "$p50" "$p99" "$cpu" "$up" "$upconns" "$upreqs" $((pss / 1024)) "${non200:-0}" "$errs"
}
median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
APACHE_NAME="Apache httpd $(/usr/sbin/apache2 -v | awk -F'[/ ]' '/version/ {print $4}') (ProxyPass + SSLProxyEngine)"
echo
echo "| round | proxy | requests/s | p50 | p99 | proxy CPU/request | upstream CPU/request | upstream connections / requests | peak PSS | status >= 400, socket errors |"
echo "|---|---|---|---|---|---|---|---|---|---|"
r=1
: > ratios.txt; : > floor-ratios.txt
while [ $r -le "$ROUNDS" ]; do
	report "autodiscover serve (proxy mode)" "wrk-ours-$r.txt" "pss-ours-$r.txt" "cpu-ours-$r.txt" "upstream-ours-$r.txt" $r
	report "$APACHE_NAME" "wrk-apache-$r.txt" "pss-apache-$r.txt" "cpu-apache-$r.txt" "upstream-apache-$r.txt" $r
	if [ "$FLOOR" = 1 ]; then
		report "bench/proxy/floor (bare relay, no HTTP stack)" "wrk-floor-$r.txt" "pss-floor-$r.txt" "cpu-floor-$r.txt" "upstream-floor-$r.txt" $r
		echo "$(rps "wrk-floor-$r.txt") $(rps "wrk-apache-$r.txt")" | awk '{printf "%.2f\n", $1/$2}' >> floor-ratios.txt
	fi
	echo "$(rps "wrk-ours-$r.txt") $(rps "wrk-apache-$r.txt") $(p99ms "wrk-ours-$r.txt") $(p99ms "wrk-apache-$r.txt")" |
		awk '{printf "%.2f %.2f\n", $1/$2, $3/$4}' >> ratios.txt
	r=$((r + 1))
done
echo
echo "throughput ours/Apache per round: $(awk '{printf "%s ", $1}' ratios.txt)(median $(awk '{print $1}' ratios.txt | median))"
echo "p99 ours/Apache per round: $(awk '{printf "%s ", $2}' ratios.txt)(median $(awk '{print $2}' ratios.txt | median))"
[ "$FLOOR" = 1 ] && echo "throughput floor/Apache per round: $(awk '{printf "%s ", $1}' floor-ratios.txt)(median $(median < floor-ratios.txt))"
echo
echo "$MIXED"
echo
echo "raw wrk output:"; cat wrk-*.txt
