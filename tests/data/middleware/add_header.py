#!/usr/bin/env python3
# Adds "X-Middleware: python" to every request; passes everything else unchanged.
import sys
for line in sys.stdin:
    raw = bytes.fromhex(line.strip())
    meta, _, payload = raw.partition(b"\n")
    if meta.startswith(b"1 "):
        first, _, rest = payload.partition(b"\r\n")
        payload = first + b"\r\nX-Middleware: python\r\n" + rest
    sys.stdout.write((meta + b"\n" + payload).hex() + "\n")
    sys.stdout.flush()
