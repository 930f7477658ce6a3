"""Fake Heat signal endpoint for the boot simulation: records every POST (path and JSON body) as one
JSON line in the file given, answers 200. Runs inside the simulation's network namespace."""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

HOST, PORT, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsed": raw}
        with open(OUT, "a", encoding="utf-8") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


HTTPServer((HOST, PORT), Handler).serve_forever()
