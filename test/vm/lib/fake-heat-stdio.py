"""Fake Heat signal endpoint for the real-boot VMs, one HTTP request per run on stdin/stdout: qemu's
user-mode networking runs it for each guest connection to the forwarded address (guestfwd=...-cmd:),
so no host port is opened. Also serves the files of a directory on GET (a tarball or package mirror).

  fake-heat-stdio.py RECORD_FILE TOKENS_JSON_FILE [MIRROR_DIR]

POST /v1/signal/<node> with the node's X-Auth-Token (as a WaitConditionHandle's curl_cli sends it)
appends {node, tokenOk, time, status, reason, data} as one JSON line to RECORD_FILE; 200, or 401 for
a wrong token, 400 for a malformed body."""
import json
import os
import sys
import time

record, tokens_file = sys.argv[1], sys.argv[2]
mirror = sys.argv[3] if len(sys.argv) > 3 else None
inp = sys.stdin.buffer
out = sys.stdout.buffer


def reply(code, body, ctype="application/json"):
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(code, "X")
    out.write(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (code, reason, ctype, len(body))).encode())
    out.write(body)
    out.flush()


line = inp.readline().decode("latin-1").strip()
if not line:
    sys.exit(0)
method, path = line.split(" ")[0:2]
headers = {}
while True:
    h = inp.readline().decode("latin-1")
    if h in ("\r\n", "\n", ""):
        break
    k, _, v = h.partition(":")
    headers[k.strip().lower()] = v.strip()
body = inp.read(int(headers.get("content-length", "0") or 0)) if method == "POST" else b""

if method == "GET" and mirror:
    target = os.path.realpath(os.path.join(mirror, path.lstrip("/")))
    if target.startswith(os.path.realpath(mirror) + os.sep) and os.path.isfile(target):
        with open(target, "rb") as f:
            reply(200, f.read(), "application/octet-stream")
    else:
        reply(404, b"{}")
    sys.exit(0)

node = path.rsplit("/", 1)[-1] if path.startswith("/v1/signal/") else None
with open(tokens_file) as f:
    tokens = json.load(f)
token_ok = node is not None and headers.get("x-auth-token") == tokens.get(node)
try:
    parsed = json.loads(body.decode("utf-8"))
except ValueError:
    parsed = None
ok = method == "POST" and token_ok and isinstance(parsed, dict) and isinstance(parsed.get("status"), str)
entry = {"node": node, "tokenOk": token_ok, "time": time.time(), "contentType": headers.get("content-type")}
entry.update(parsed if isinstance(parsed, dict) else {"raw": body.decode("utf-8", "replace")})
with open(record, "a") as f:
    f.write(json.dumps(entry) + "\n")
reply(200 if ok else (400 if token_ok else 401), b"null" if ok else b'{"error":"rejected"}')
