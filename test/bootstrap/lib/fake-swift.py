"""A Swift endpoint for the backup tests: Swift's OWN tempurl middleware in front of a small stand-in for the proxy
and its backends (run inside the test's hub network namespace, with Debian's python3-swift):

  /usr/bin/python3 fake-swift.py ADDRESS STORE_DIR ACCOUNT CONTAINER KEY

Listens on ADDRESS at a free port, written to STORE_DIR/port when ready. The stand-in answers the account and
container HEADs the middleware's get_account_info/get_container_info make (the container carries the
X-Container-Meta-Temp-URL-Key KEY, as Heat's OS::Swift::Container sets it), and takes a PUT only when an
authorization callback allows it (the tempurl middleware installs one for a valid signature; there is no other
auth here, so an unsigned PUT is refused with 401, as Keystone's auth would refuse it). A PUT checks the ETag
against the body's MD5 (422, as Swift's object server does) and X-Delete-After with Swift's own
constraints.check_delete_headers (the proxy's conversion to X-Delete-At), stores the body under STORE_DIR/objects/
and appends {method, path, status, headers} to STORE_DIR/requests.jsonl for every request the middleware lets
through or refuses.
"""
import hashlib
import io
import json
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from swift.common.constraints import check_delete_headers
from swift.common.middleware import tempurl
from swift.common.swob import HTTPException, Request, Response
from swift.common.utils import Timestamp

address, store, account, container, key = sys.argv[1:6]
os.makedirs(os.path.join(store, 'objects'), exist_ok=True)
log_path = os.path.join(store, 'requests.jsonl')


def record(entry):
    with open(log_path, 'a') as f:
        f.write(json.dumps(entry) + '\n')


def backend(env, start_response):
    req = Request(env)
    parts = req.path.split('/', 4)  # ['', 'v1', account, container, object]
    if len(parts) < 3 or parts[1] != 'v1' or parts[2] != account:
        return Response(status=404)(env, start_response)
    if len(parts) == 3:
        if req.method in ('HEAD', 'GET'):
            return Response(status=204, headers={'X-Account-Container-Count': '1'})(env, start_response)
        return Response(status=405)(env, start_response)
    if parts[3] != container:
        return Response(status=404)(env, start_response)
    if len(parts) == 4:
        if req.method in ('HEAD', 'GET'):
            return Response(status=204, headers={'X-Container-Meta-Temp-Url-Key': key, 'X-Container-Object-Count': '0'})(
                env, start_response
            )
        return Response(status=405)(env, start_response)
    authorize = env.get('swift.authorize')
    denied = authorize(req) if authorize else Response(status=401, body=b'401 Unauthorized\n')
    if denied is not None:
        record({'method': req.method, 'path': req.path, 'status': denied.status_int, 'headers': dict(req.headers)})
        return denied(env, start_response)
    if req.method != 'PUT':
        return Response(status=405)(env, start_response)
    body = req.body
    headers = dict(req.headers)
    try:
        # The proxy stamps every PUT before this check (it converts X-Delete-After against X-Timestamp).
        req.headers['X-Timestamp'] = Timestamp.now().internal
        check_delete_headers(req)
    except HTTPException as e:
        record({'method': 'PUT', 'path': req.path, 'status': e.status_int, 'headers': headers})
        return e(env, start_response)
    etag = req.headers.get('ETag')
    md5 = hashlib.md5(body).hexdigest()
    if etag is not None and etag.strip('"').lower() != md5:
        record({'method': 'PUT', 'path': req.path, 'status': 422, 'headers': headers})
        return Response(status=422, body=b'Unprocessable Entity\n')(env, start_response)
    name = parts[4].replace('/', '__')
    with open(os.path.join(store, 'objects', name), 'wb') as f:
        f.write(body)
    record(
        {
            'method': 'PUT',
            'path': req.path,
            'status': 201,
            'headers': headers,
            'deleteAt': req.headers.get('X-Delete-At'),
            'bytes': len(body),
        }
    )
    return Response(status=201, headers={'ETag': md5})(env, start_response)


app = tempurl.filter_factory({})(backend)


def guarded(env, start_response):
    # Requests the middleware refuses itself (a bad signature: 401) never reach the backend: record them here.
    captured = {}
    # wsgiref hands over the raw socket; Swift's servers (eventlet.wsgi) give a body bounded by Content-Length.
    length = int(env.get('CONTENT_LENGTH') or 0)
    env['wsgi.input'] = io.BytesIO(env['wsgi.input'].read(length) if length > 0 else b'')

    def sr(status, headers, exc_info=None):
        captured['status'] = int(status.split()[0])
        return start_response(status, headers, exc_info)

    body = app(env, sr)
    if captured.get('status') == 401 and 'temp_url_sig' in env.get('QUERY_STRING', ''):
        record({'method': env['REQUEST_METHOD'], 'path': env['PATH_INFO'], 'status': 401, 'by': 'tempurl'})
    return body


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


server = make_server(address, 0, guarded, handler_class=Quiet)
with open(os.path.join(store, 'port.tmp'), 'w') as f:
    f.write(str(server.server_port))
os.rename(os.path.join(store, 'port.tmp'), os.path.join(store, 'port'))
server.serve_forever()
