#!/usr/bin/env python3
# gor's token_modifier example, in Python: learns that the token the original server issued
# (type 2 response to /login) corresponds to the token the replay target issued (type 3), then
# rewrites ?token=<original> to ?token=<replayed> in later requests.
import re, sys

original = {}   # request id -> token in the original response
replayed = {}   # request id -> token in the replayed response
alias = {}      # original token -> replayed token

def learn(rid):
    if rid in original and rid in replayed:
        alias[original.pop(rid)] = replayed.pop(rid)

for line in sys.stdin:
    raw = bytes.fromhex(line.strip())
    meta, _, payload = raw.partition(b"\n")
    kind, rid = meta.split(b" ")[0:2]
    m = re.search(rb"token=(\w+)", payload)
    if kind == b"2" and m:
        original[rid] = m.group(1); learn(rid)
    elif kind == b"3" and m:
        replayed[rid] = m.group(1); learn(rid)
    elif kind == b"1" and m and m.group(1) in alias:
        payload = payload.replace(b"token=" + m.group(1), b"token=" + alias[m.group(1)], 1)
    sys.stdout.write((meta + b"\n" + payload).hex() + "\n")
    sys.stdout.flush()
