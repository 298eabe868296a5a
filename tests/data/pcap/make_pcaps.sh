#!/usr/bin/env bash
# Regenerates the real-capture fixtures in this folder (needs root for tcpdump, python3, curl).
# Each capture: tcpdump on lo (or "any", for Linux cooked v2 frames) while curl and a small
# Python client talk to a Python HTTP server. Ports are fixed so the tests know them.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

capture_start() {  # file interface port
  tcpdump -i "$2" --immediate-mode -U -B 131072 -s 0 -w "$1" "tcp port $3" 2>"$work/tcpdump.log" &
  tcpdump_pid=$!
  pids+=("$tcpdump_pid")
  for _ in $(seq 50); do grep -q "listening on" "$work/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
}
capture_stop() {
  sleep 0.5
  kill -INT "$tcpdump_pid"
  wait "$tcpdump_pid" || true
}
wait_port() {
  for _ in $(seq 50); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1)).close()" 2>/dev/null && return
    sleep 0.1
  done
  echo "port $1 never opened" >&2
  exit 1
}

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

# 3. The same server seen through "any": Linux cooked v2 frames.
capture_start http_server_any.pcap any 18082
curl -s -o /dev/null http://127.0.0.1:18082/any
capture_stop

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

ls -l ./*.pcap
