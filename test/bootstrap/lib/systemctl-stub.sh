#!/bin/bash
# Test stand-in for systemctl inside an etcd "VM" (network + mount namespace). Records every call
# to $HOTK8S_TEST_DIR/systemctl.log; start/restart run the unit's ExecStart as its User=, detached,
# with the PID in $HOTK8S_TEST_DIR/<unit>.pid (the test stops it by that PID). A blocking start of a
# Type=notify unit waits for READY=1 for at most its TimeoutStartSec, and fails after it, as systemd's
# start job does (unit-start.py); --no-block returns at once. enable/disable/mask change the unit links
# (in the member's private /etc).
set -euo pipefail
: "${HOTK8S_TEST_DIR:?}"
printf '%s\n' "$*" >>"$HOTK8S_TEST_DIR/systemctl.log"

unit_file() {
  local u=$1
  [[ $u == *.* ]] || u=$u.service
  for d in /etc/systemd/system /lib/systemd/system; do
    if [ -f "$d/$u" ] || [ -L "$d/$u" ]; then
      printf '%s\n' "$d/$u"
      return 0
    fi
  done
  echo "systemctl (test stub): unit $u not found" >&2
  return 5
}

# unit_value FILE KEY: the value of KEY in [Service], backslash continuations joined.
unit_value() {
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$1" | sed -n "s/^$2=//p" | tail -n 1
}

stop_unit() {
  local pidfile="$HOTK8S_TEST_DIR/$1.pid"
  if [ -f "$pidfile" ]; then
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      # like systemd's stop job: wait for the process to end (TimeoutStopSec, then SIGKILL)
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    fi
    rm -f "$pidfile"
  fi
}

start_unit() {
  local name=$1 block=$2 file exec user type timeout
  file=$(unit_file "$name")
  if [ "$(readlink -f "$file")" = /dev/null ]; then
    echo "Failed to start $name: Unit $name is masked." >&2
    return 1
  fi
  exec=$(unit_value "$file" ExecStart)
  user=$(unit_value "$file" User)
  type=$(unit_value "$file" Type)
  timeout=$(unit_value "$file" TimeoutStartSec)
  case $name in
    *.timer) return 0 ;;
  esac
  [ -n "$exec" ] || { echo "systemctl (test stub): $file has no ExecStart" >&2; return 1; }
  local -a argv
  read -r -a argv <<<"$exec"
  if [ -n "$user" ]; then
    argv=(setpriv "--reuid=$user" "--regid=$user" --init-groups -- "${argv[@]}")
  fi
  # systemd's default start timeout is 90 s
  /usr/bin/python3 "${HOTK8S_TEST_LIB:?}/unit-start.py" "$HOTK8S_TEST_DIR/$name.pid" "$HOTK8S_TEST_DIR/$name.log" \
    "${type:-simple}" "${timeout:-90}" "$block" -- "${argv[@]}"
}

args=()
block=1
now=0
for a in "$@"; do
  case $a in
    --no-block) block=0 ;;
    --now) now=1 ;;
    --quiet | -q) ;;
    *) args+=("$a") ;;
  esac
done
set -- "${args[@]}"
cmd=${1:-}
shift || true
case $cmd in
  daemon-reload) ;;
  enable)
    for u in "$@"; do
      unit_file "$u" >/dev/null
      if [ "$now" = 1 ]; then start_unit "$u" "$block"; fi
    done
    ;;
  disable)
    for u in "$@"; do
      if [ "$now" = 1 ]; then stop_unit "$u"; fi
      find /etc/systemd/system -name "$u" -type l -path '*.wants/*' -delete 2>/dev/null || true
    done
    ;;
  mask)
    for u in "$@"; do
      if [ -e "/etc/systemd/system/$u" ] && [ "$(readlink -f "/etc/systemd/system/$u")" != /dev/null ]; then
        echo "Failed to mask unit: File /etc/systemd/system/$u already exists." >&2
        exit 1
      fi
      ln -sf /dev/null "/etc/systemd/system/$u"
    done
    ;;
  start | restart)
    for u in "$@"; do
      stop_unit "$u"
      start_unit "$u" "$block"
    done
    ;;
  stop) for u in "$@"; do stop_unit "$u"; done ;;
  is-active)
    pid=$(cat "$HOTK8S_TEST_DIR/$1.pid" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
    ;;
  *)
    echo "systemctl (test stub): unsupported command '$cmd'" >&2
    exit 1
    ;;
esac
