#!/usr/bin/env python3
"""A replay target that issues its own tokens: GET /login answers 'token=replayed<N>'; every
request line is appended to LOG. usage: token_server.py LOG  (prints its port)"""
import http.server, sys, threading
log = open(sys.argv[1], "a", buffering=1)
count = 0
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        global count
        log.write(self.path + "\n")
        if self.path.startswith("/login"):
            with lock:
                count += 1
                body = b"token=replayed%d" % count
        else:
            body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
