#!/usr/bin/env python3
# Drops POST requests (by not writing them back); echoes the rest.
import sys
for line in sys.stdin:
    raw = bytes.fromhex(line.strip())
    meta, _, payload = raw.partition(b"\n")
    if meta.startswith(b"1 ") and payload.startswith(b"POST "):
        continue
    sys.stdout.write(line)
    sys.stdout.flush()
