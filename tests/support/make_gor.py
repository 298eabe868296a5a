#!/usr/bin/env python3
"""Writes a gor file from the format's rules: meta line, payload, separator.
usage: make_gor.py OUT COUNT [--gap-ms G] [--post-every K] [--responses]"""
import argparse, os
SEP = b"\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n"
ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("count", type=int)
ap.add_argument("--gap-ms", type=float, default=1.0)
ap.add_argument("--post-every", type=int, default=0)
ap.add_argument("--responses", action="store_true")
ap.add_argument("--start-ns", type=int, default=1_700_000_000_000_000_000)
a = ap.parse_args()
with open(a.out, "wb") as f:
    ts = a.start_ns
    for i in range(a.count):
        rid = "%024x" % (0xabc000000 + i)
        if a.post_every and i % a.post_every == 0:
            body = b"n=%d&data=" % i + os.urandom(8).hex().encode()
            payload = b"POST /submit/%d HTTP/1.1\r\nHost: example.org\r\nContent-Length: %d\r\n\r\n" % (i, len(body)) + body
        else:
            payload = b"GET /item/%d?x=%d HTTP/1.1\r\nHost: example.org\r\nUser-Agent: test\r\n\r\n" % (i, i)
        f.write(b"1 %s %d -1\n" % (rid.encode(), ts) + payload + SEP)
        if a.responses:
            f.write(b"2 %s %d 1000\n" % (rid.encode(), ts + 1000) + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + SEP)
        ts += int(a.gap_ms * 1e6)
