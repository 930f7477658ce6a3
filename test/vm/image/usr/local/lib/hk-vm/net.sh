#!/bin/sh
# hk.lan=ADDR/LEN -> eth0 (the VMs' private LAN), hk.host=ADDR/LEN -> eth1 (user-mode networking with
# restrict=on: only the host services the test forwards). No default route: nothing else is reachable.
lan=
host=
for kv in $(cat /proc/cmdline); do
  case $kv in
    hk.lan=*) lan=${kv#hk.lan=} ;;
    hk.host=*) host=${kv#hk.host=} ;;
  esac
done
ip link set lo up
i=0
while [ "$i" -lt 300 ]; do
  [ -e /sys/class/net/eth0 ] && { [ -z "$host" ] || [ -e /sys/class/net/eth1 ]; } && break
  sleep 0.1
  i=$((i + 1))
done
if [ -n "$lan" ]; then ip addr add "$lan" dev eth0 && ip link set eth0 up; fi
if [ -n "$host" ]; then ip addr add "$host" dev eth1 && ip link set eth1 up; fi
ip -brief addr >/dev/console 2>&1 || true
exit 0
