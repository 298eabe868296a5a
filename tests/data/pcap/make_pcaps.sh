#!/usr/bin/env bash
# Regenerates the real-capture fixtures in this folder (needs root for tcpdump, python3, curl,
# ab, wrk, nginx, and build/release/tests/beast_test_server or $BEAST_TEST_SERVER).
# Each capture: tcpdump on lo (or "any", for Linux cooked v2 frames) while real clients talk to
# a real server. Ports are fixed so the captures are stable.
#   make_pcaps.sh                  all captures
#   make_pcaps.sh beast nginx ...  only those (basic, keepalive, any, nginx, beast)
set -euo pipefail
cd "$(dirname "$0")"
wanted=${*:-basic keepalive any nginx beast}
want() { [[ " $wanted " == *" $1 "* ]]; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

capture_start() {  # file interface port
  capture_file=$1
  # A large kernel buffer: with the default one tcpdump drops packets of 1 MB loopback bursts.
  tcpdump -i "$2" --immediate-mode -U -B 131072 -s 0 -w "$1" "tcp port $3" 2>"$work/tcpdump.log" &
  tcpdump_pid=$!
  pids+=("$tcpdump_pid")
  for _ in $(seq 50); do grep -q "listening on" "$work/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
  # "listening on" can come before the socket sees packets: the committed nginx capture lost its
  # first request (POST /upload/0) that way.
  sleep 0.3
}
capture_stop() {
  sleep 0.5
  kill -INT "$tcpdump_pid"
  wait "$tcpdump_pid" || true
  # A fixture with holes would test the holes, not the clients: refuse it.
  if ! grep -q "^0 packets dropped by kernel" "$work/tcpdump.log"; then
    echo "tcpdump dropped packets while recording $capture_file:" >&2
    cat "$work/tcpdump.log" >&2
    exit 1
  fi
}
wait_port() {
  for _ in $(seq 50); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1)).close()" 2>/dev/null && return
    sleep 0.1
  done
  echo "port $1 never opened" >&2
  exit 1
}

if want basic; then
  # 1. python3 -m http.server (HTTP/1.0, one connection per request): GET, HEAD, 404.
  mkdir -p "$work/www"
  printf 'hello from the capture fixture\n' > "$work/www/index.html"
  (cd "$work/www" && exec python3 -m http.server 18081 --bind 127.0.0.1) >/dev/null 2>&1 &
  pids+=($!)
  wait_port 18081
  capture_start http_server_basic.pcap lo 18081
  curl -s -o /dev/null http://127.0.0.1:18081/index.html
  curl -s -o /dev/null -I http://127.0.0.1:18081/index.html
  curl -s -o /dev/null http://127.0.0.1:18081/missing
  capture_stop
fi

if want keepalive || want any || want nginx; then
  # 2. An HTTP/1.1 server: keep-alive, chunked, close-delimited, 100-continue, pipelining.
  cat > "$work/server.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"first chunk ", b"second chunk"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"close-delimited body")
            self.close_connection = True
        else:
            body = ("path " + self.path).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        data = self.rfile.read(n)
        body = b"got %d bytes" % len(data)
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
  python3 "$work/server.py" 18082 &
  pids+=($!)
  wait_port 18082
fi
if want keepalive; then
  cat > "$work/pipeline.py" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\nGET /p3 HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while got.count(b"HTTP/1.1 200") < 3:
    got += s.recv(65536)
s.close()
PY
  capture_start http_server_keepalive.pcap lo 18082
  curl -s -o /dev/null -o /dev/null http://127.0.0.1:18082/a http://127.0.0.1:18082/chunked
  curl -s -o /dev/null -H "Expect: 100-continue" --data-binary "$(head -c 3000 /dev/zero | tr '\0' 'x')" http://127.0.0.1:18082/upload
  curl -s -o /dev/null http://127.0.0.1:18082/close
  python3 "$work/pipeline.py" 18082
  capture_stop
fi

if want any; then
  # 3. The same server seen through "any": Linux cooked v2 frames.
  capture_start http_server_any.pcap any 18082
  curl -s -o /dev/null http://127.0.0.1:18082/any
  capture_stop
fi

if want nginx; then
  # 4. nginx (gzip on) with curl and ab: binary bodies from 0 B to 1 MB, chunked upload,
  #    100-continue, gzip responses, IPv6, and 20 concurrent keep-alive connections (ab).
  mkdir -p "$work/ng/tmp"
  head -c 200000 /dev/urandom | base64 > "$work/ng/big.txt"
  cat > "$work/ng/nginx.conf" <<CONF
user root; daemon on; worker_processes 1; pid $work/ng/nginx.pid; error_log $work/ng/error.log;
events { worker_connections 256; }
http {
  client_body_temp_path $work/ng/tmp; proxy_temp_path $work/ng/tmp; fastcgi_temp_path $work/ng/tmp;
  uwsgi_temp_path $work/ng/tmp; scgi_temp_path $work/ng/tmp;
  access_log off; client_max_body_size 4m;
  gzip on; gzip_types text/plain; gzip_min_length 100;
  server {
    listen 127.0.0.1:18083; listen [::1]:18083;
    root $work/ng;
    location = /big.txt { default_type text/plain; }
    location /upload { proxy_pass http://127.0.0.1:18082; }
    location / { return 200 "nginx says hi\n"; }
  }
}
CONF
  nginx -c "$work/ng/nginx.conf" -p "$work/ng"
  pids+=("$(sleep 0.3; cat "$work/ng/nginx.pid")")
  wait_port 18083
  capture_start http_nginx_clients.pcap lo 18083
  for size in 0 1 1024 65536 1048576; do
    head -c "$size" /dev/urandom > "$work/body.bin"
    curl -s -o /dev/null --data-binary @"$work/body.bin" "http://127.0.0.1:18083/upload/$size"
  done
  curl -s -o /dev/null -H 'Transfer-Encoding: chunked' --data-binary @"$work/body.bin" http://127.0.0.1:18083/upload/chunked
  curl -s -o /dev/null -H 'Expect: 100-continue' --data-binary @"$work/body.bin" http://127.0.0.1:18083/upload/continue
  curl -s -o /dev/null --compressed http://127.0.0.1:18083/big.txt
  curl -s -o /dev/null -g "http://[::1]:18083/ipv6"
  ab -q -k -n 200 -c 20 http://127.0.0.1:18083/ab >/dev/null
  capture_stop
  kill "$(cat "$work/ng/nginx.pid")"
fi

if want beast; then
  # 5. A Boost.Beast server (tests/support/beast_server_main.cpp) with curl, wrk and a Python
  #    socket: keep-alive, binary bodies from 0 B to 1 MB, chunked both ways, 100-continue,
  #    HEAD, 204/304, close-delimited connections, IPv6, 20 concurrent wrk connections, and
  #    pipelining (HEAD, 204 and a chunked answer inside the pipeline).
  beast=${BEAST_TEST_SERVER:-../../../build/release/tests/beast_test_server}
  [ -x "$beast" ] || { echo "build beast_test_server first (or set BEAST_TEST_SERVER)" >&2; exit 1; }
  "$beast" 18084 &
  pids+=($!)
  wait_port 18084
  # wrk: varied paths, and each thread stops after 100 answers so the pcap stays small.
  cat > "$work/wrk.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format(n % 5 == 0 and "POST" or "GET", "/wrk/" .. n, nil, n % 5 == 0 and ("body " .. n) or nil)
end
response = function(status, headers, body)
  if n >= 100 then wrk.thread:stop() end
end
LUA
  cat > "$work/beast_pipeline.py" <<'PY'
import socket, sys
def exchange(*requests, wait_between=False):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    if wait_between:  # keep-alive, one at a time: each answer's headers before the next request
        for r in requests[:-1]:
            s.sendall(r)
            got = b""
            while b"\r\n\r\n" not in got:
                got += s.recv(65536)
        requests = requests[-1:]
    s.sendall(b"".join(requests))
    while s.recv(65536):  # the last request is /close: the server closes
        pass
    s.close()
get = lambda path: b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path
head = b"HEAD /bytes/300 HTTP/1.1\r\nHost: x\r\n\r\n"
# Pipelined: bodies by Content-Length, none (204, 304), and chunked, back to back.
exchange(get(b"/p1"), b"POST /echo/p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\npipelined!\n",
         get(b"/status/204"), get(b"/chunked/3000"), get(b"/status/304"), get(b"/close"))
# HEAD on a keep-alive connection, then a GET: the HEAD answer's Content-Length is no body.
exchange(head, get(b"/bytes/200"), get(b"/close"), wait_between=True)
# The same pipelined (tshark misreads this one: see http_beast_clients.pcap.tshark-misreads).
exchange(head, get(b"/bytes/200"), get(b"/close"))
PY
  url=http://127.0.0.1:18084
  capture_start http_beast_clients.pcap lo 18084
  curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    $url/hello $url/bytes/0 $url/bytes/1 $url/bytes/65536 $url/chunked/5000 $url/status/204 $url/status/304
  curl -s -o /dev/null -I $url/bytes/65536
  curl -s -o /dev/null -I $url/chunked/100
  for size in 0 1 1024; do
    head -c "$size" /dev/urandom > "$work/body.bin"
    curl -s -o /dev/null --data-binary @"$work/body.bin" "$url/echo/$size"
  done
  head -c 65536 /dev/urandom > "$work/body.bin"
  curl -s -o /dev/null -H 'Transfer-Encoding: chunked' --data-binary @"$work/body.bin" $url/echo/chunked
  head -c 1048576 /dev/urandom > "$work/body.bin"
  curl -s -o /dev/null -H 'Expect: 100-continue' --data-binary @"$work/body.bin" $url/upload/continue
  head -c 200000 /dev/urandom > "$work/body.bin"
  curl -s -o /dev/null -X PUT -H 'Expect:' --data-binary @"$work/body.bin" $url/upload/put
  curl -s -o /dev/null $url/close
  curl -s -o /dev/null -g "http://[::1]:18084/ipv6"
  wrk -t 2 -c 20 -d 5s -s "$work/wrk.lua" $url/ >/dev/null
  python3 "$work/beast_pipeline.py" 18084
  capture_stop
fi

ls -l ./*.pcap
