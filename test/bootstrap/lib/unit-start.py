"""Starts a unit's ExecStart for the test systemctl stub, the way systemd does for the parts the
bootstrap depends on:

  unit-start.py PIDFILE LOGFILE TYPE TIMEOUT BLOCK -- ARGV...

The process runs detached (own session) with NOTIFY_SOCKET pointing at a datagram socket this helper
binds. With TYPE=notify and BLOCK=1 (a blocking `systemctl start/restart`), the helper waits for
READY=1 from the process; when TIMEOUT seconds pass first (TimeoutStartSec; 0 or "infinity" = no
limit) it kills the process and exits 1, as systemd's start job does ("a timeout was exceeded").
With BLOCK=0 (`--no-block`), or another TYPE, it returns at once (nothing listens for READY then, so the
process gets no NOTIFY_SOCKET). The process's PID goes to PIDFILE."""
import os
import signal
import socket
import subprocess
import sys
import time

pidfile, logfile, unit_type, timeout, block = sys.argv[1:6]
argv = sys.argv[sys.argv.index("--") + 1:]
limit = None if timeout in ("0", "infinity", "") else float(timeout)
waits = unit_type == "notify" and block == "1"
if not waits:
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    with open(logfile, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    with open(pidfile, "w") as f:
        f.write(str(proc.pid))
    sys.exit(0)

sock_path = pidfile + ".notify"
try:
    os.unlink(sock_path)
except FileNotFoundError:
    pass
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sock_path)
os.chmod(sock_path, 0o777)
env = dict(os.environ, NOTIFY_SOCKET=sock_path)
with open(logfile, "ab") as log:
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
with open(pidfile, "w") as f:
    f.write(str(proc.pid))

started = time.monotonic()
sock.settimeout(1.0)
while True:
    if proc.poll() is not None:
        print("systemctl (test stub): the unit's process exited with %s before READY" % proc.returncode, file=sys.stderr)
        sys.exit(1)
    try:
        msg = sock.recv(4096).decode("utf-8", "replace")
        if "READY=1" in msg.split("\n"):
            sys.exit(0)
    except socket.timeout:
        pass
    if limit is not None and time.monotonic() - started > limit:
        os.killpg(proc.pid, signal.SIGKILL)
        print("systemctl (test stub): start job timed out after %s s (TimeoutStartSec)" % timeout, file=sys.stderr)
        sys.exit(1)
