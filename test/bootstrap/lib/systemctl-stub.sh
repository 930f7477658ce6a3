#!/bin/bash
# Test stand-in for systemctl inside an etcd "VM" (network + mount namespace). Records every call
# to $HOTK8S_TEST_DIR/systemctl.log; start/restart run the unit's ExecStart as its User=, detached,
# with the PID in $HOTK8S_TEST_DIR/<unit>.pid (the test stops it by that PID).
set -euo pipefail
: "${HOTK8S_TEST_DIR:?}"
printf '%s\n' "$*" >>"$HOTK8S_TEST_DIR/systemctl.log"

unit_file() {
  local u=$1
  [[ $u == *.* ]] || u=$u.service
  for d in /etc/systemd/system /lib/systemd/system; do
    if [ -f "$d/$u" ]; then
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
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
    rm -f "$pidfile"
  fi
}

start_unit() {
  local name=$1 file exec user
  file=$(unit_file "$name")
  exec=$(unit_value "$file" ExecStart)
  user=$(unit_value "$file" User)
  [ -n "$exec" ] || { echo "systemctl (test stub): $file has no ExecStart" >&2; return 1; }
  local -a argv
  read -r -a argv <<<"$exec"
  if [ -n "$user" ]; then
    argv=(setpriv "--reuid=$user" "--regid=$user" --init-groups -- "${argv[@]}")
  fi
  setsid "${argv[@]}" >>"$HOTK8S_TEST_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$HOTK8S_TEST_DIR/$name.pid"
}

cmd=${1:-}
shift || true
case $cmd in
  daemon-reload) ;;
  enable)
    now=0
    units=()
    for a in "$@"; do
      if [ "$a" = --now ]; then now=1; else units+=("$a"); fi
    done
    for u in "${units[@]}"; do
      unit_file "$u" >/dev/null
      if [ "$now" = 1 ]; then start_unit "$u"; fi
    done
    ;;
  start | restart)
    for u in "$@"; do
      stop_unit "$u"
      start_unit "$u"
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
