"""A small threaded HTTP/1.1 server with a route table, for the fake OpenStack services.

Each service registers ``(method, path pattern)`` routes; a handler receives a ``Request`` and
returns ``(status, body)`` or ``(status, body, headers)``, or raises ``HttpError``. Bodies are
JSON. Requests are served one at a time under the cloud's lock (the fake cloud is small and its
state is shared by every service), so handlers need no locking of their own.
"""

import json
import re
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class HttpError(Exception):
    """An HTTP error answer; ``body`` is JSON-serialisable (each service shapes its own)."""

    def __init__(self, status, body, headers=None):
        super().__init__("%s %s" % (status, body))
        self.status = status
        self.body = body
        self.headers = headers or {}


class Request(object):
    def __init__(self, method, path, query, headers, raw):
        self.method = method
        self.path = path
        self.query = query  # {name: [values]}
        self.headers = headers  # case-insensitive (http.client.HTTPMessage)
        self.raw = raw
        self.params = {}  # filled from the route pattern's named groups
        self._json = None

    @property
    def json(self):
        if self._json is None and self.raw:
            try:
                self._json = json.loads(self.raw.decode("utf-8"))
            except ValueError:
                raise HttpError(400, {"error": {"message": "malformed JSON body", "code": 400}})
        return self._json

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    @property
    def token(self):
        return self.headers.get("X-Auth-Token")


class Router(object):
    def __init__(self):
        self._routes = []

    def add(self, method, pattern, handler):
        self._routes.append((method, re.compile("^" + pattern + "/?$"), handler))

    def route(self, method, pattern):
        def deco(fn):
            self.add(method, pattern, fn)
            return fn

        return deco

    def match(self, method, path):
        allowed = False
        for m, rx, handler in self._routes:
            found = rx.match(path)
            if found:
                if m == method:
                    return handler, found.groupdict()
                allowed = True
        if allowed:
            raise HttpError(405, {"error": {"message": "method %s not allowed on %s" % (method, path), "code": 405}})
        raise HttpError(404, {"error": {"message": "no route for %s %s" % (method, path), "code": 404}})


def make_handler(router, lock, log):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True), self.headers, raw)
            headers = {}
            try:
                handler, params = router.match(req.method, req.path)
                req.params = params
                with lock:
                    result = handler(req)
                if len(result) == 3:
                    status, body, headers = result
                else:
                    status, body = result
            except HttpError as ex:
                status, body, headers = ex.status, ex.body, ex.headers
            except Exception:  # a bug in a fake: answer 500 and say where
                log("fake cloud error on %s %s:\n%s" % (req.method, req.path, traceback.format_exc()))
                status, body = 500, {"error": {"message": "fake cloud error (see cloud.log)", "code": 500}}
            payload = b"" if body is None else json.dumps(body).encode("utf-8")
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", "application/json")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, fmt, *args):
            pass

    return Handler


class _Listener(ThreadingHTTPServer):
    request_queue_size = 256  # Heat opens many connections at once; a short backlog would drop SYNs (1 s retries)
    daemon_threads = True


class Server(object):
    def __init__(self, host, port, router, lock, log):
        self.httpd = _Listener((host, port), make_handler(router, lock, log))
        self.port = self.httpd.server_address[1]
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="http", daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def iso(ts=None):
    """UTC time in the ISO 8601 form OpenStack APIs use (seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts if ts is not None else time.time()))


def iso_us(ts=None):
    """UTC time with microseconds, as Keystone writes token expiry."""
    t = ts if ts is not None else time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)
