#!/usr/bin/env python3
"""One line per HTTP message, to compare coreplay's capture with tshark's HTTP dissector:
    request  METHOD URI BODY_BYTES      response STATUS BODY_BYTES
BODY_BYTES is the message body as sent, de-chunked and not decompressed (a gzip body counts its
compressed bytes). Interim 1xx responses are left out: only final responses count.

usage: http_summary.py gor FILE    coreplay's --output-stdout records (request type 1, response 2)
       http_summary.py pdml FILE   tshark -T pdml with http.dechunk_body:TRUE, decompress_body:FALSE
"""
import re
import sys

SEP = b"\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n"


def dechunked_length(body):
    total, at = 0, 0
    while True:
        eol = body.find(b"\r\n", at)
        if eol < 0:
            return total  # truncated: count what there is
        size = int(body[at:eol].split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return total
        total += size
        at = eol + 2 + size + 2


def from_gor(path):
    data = open(path, "rb").read()
    for record in data.split(SEP):
        if not record:
            continue
        meta, _, payload = record.partition(b"\n")
        kind = meta.split(b" ")[0]
        head, _, body = payload.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        start = lines[0].split(b" ")
        chunked = any(re.match(rb"(?i)transfer-encoding:.*chunked", h) for h in lines[1:])
        length = dechunked_length(body) if chunked else len(body)
        if kind == b"1":
            print("request", start[0].decode(), start[1].decode("latin-1"), length)
        elif kind == b"2" and int(start[1]) >= 200:
            print("response", int(start[1]), length)


def from_pdml(path):
    # PDML has one element per line; "show" values of binary bodies are not valid XML text, so
    # the lines are read with a regex rather than an XML parser. Pipelined messages are separate
    # http protos in one packet, nested ones inside the previous: the innermost open one owns a field.
    stack = []  # open protos: [name, fields]
    messages = []
    attr = lambda line, name: (re.search(rb' %s="([^"]*)"' % name, line) or [None, b""])[1]
    for line in open(path, "rb"):
        s = line.strip()
        if s.startswith(b"<proto "):
            entry = [attr(s, b"name"), {}]
            if not s.endswith(b"/>"):
                stack.append(entry)
            if entry[0] == b"http":
                messages.append(entry[1])
        elif s.startswith(b"</proto>"):
            stack.pop()
        elif s.startswith(b"<field ") and stack:
            http = next((p for p in reversed(stack) if p[0] == b"http"), None)
            if http is None:
                continue
            name = attr(s, b"name")
            if name in (b"http.request.method", b"http.request.uri", b"http.response.code"):
                http[1].setdefault(name, attr(s, b"show"))
            elif name == b"http.file_data" or (name == b"" and attr(s, b"show").startswith(b"Content-encoded entity body")):
                # With decompression off a compressed body is an unnamed field, not file_data.
                http[1].setdefault(b"http.file_data", int(attr(s, b"size") or 0))
    for m in messages:
        body = m.get(b"http.file_data", 0)
        if b"http.request.method" in m:
            uri = m.get(b"http.request.uri", b"").decode("latin-1")
            uri = uri.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            print("request", m[b"http.request.method"].decode(), uri, body)
        elif b"http.response.code" in m and int(m[b"http.response.code"]) >= 200:
            print("response", int(m[b"http.response.code"]), body)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("gor", "pdml"):
        sys.exit(__doc__)
    (from_gor if sys.argv[1] == "gor" else from_pdml)(sys.argv[2])
