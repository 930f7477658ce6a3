#!/bin/bash
# Runs one simulated boot. Called as PID 1 of fresh mount/pid/net/uts/ipc namespaces (unshare), so
# every mount and process it makes disappears with it.
#   run-in-namespaces.sh ROOTFS WORKDIR HEAT_PORT
# WORKDIR holds: user-data, meta-data, fail (patterns, may be empty), kubeadm-version; results go
# to WORKDIR/upper (the overlay's upper layer: every file the boot wrote), WORKDIR/signals.jsonl,
# WORKDIR/stages (one "stage rc" line per cloud-init stage) and WORKDIR/console.log.
set -u
ROOTFS=$1
W=$2
PORT=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
M=$W/merged

ip link set lo up
/usr/bin/python3 "$HERE/fake-heat.py" 127.0.0.1 "$PORT" "$W/signals.jsonl" &
heat_pid=$!
for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.1
done

mkdir -p "$W/upper" "$W/work" "$M"
mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$W/upper,workdir=$W/work" "$M" || { echo "overlay mount failed" >&2; exit 90; }
mount -t proc proc "$M/proc"
mount --bind /dev "$M/dev"
mount -t tmpfs tmpfs "$M/run"
mount -t tmpfs tmpfs "$M/tmp"

# Stubs shadow the real commands (PATH puts /usr/local/sbin first).
mkdir -p "$M/usr/local/sbin" "$M/etc/hotk8s-sim" "$M/var/lib/cloud/seed/nocloud" "$M/etc/cloud/cloud.cfg.d"
for cmd in kubeadm kubelet kubectl systemctl apt-get apt-mark modprobe sysctl swapoff containerd; do
  install -m 0755 "$HERE/stubs/stub.sh" "$M/usr/local/sbin/$cmd"
done
install -m 0755 "$HERE/stubs/curl.sh" "$M/usr/local/sbin/curl"
cp "$W/fail" "$M/etc/hotk8s-sim/fail"
# The signal watchdog counts from the boot; a fresh VM has been up for seconds, whatever this host's uptime.
echo "5.00 5.00" >"$M/etc/hotk8s-sim/uptime"
cp "$W/kubeadm-version" "$M/etc/hotk8s-sim/kubeadm-version"
cp "$W/user-data" "$M/var/lib/cloud/seed/nocloud/user-data"
cp "$W/meta-data" "$M/var/lib/cloud/seed/nocloud/meta-data"
cat >"$M/etc/cloud/cloud.cfg.d/99-hotk8s-sim.cfg" <<'CFG'
#cloud-config
# Boot simulation: the NoCloud seed only, no network configuration, a locale libc always has.
datasource_list: [NoCloud]
network: {config: disabled}
locale: C.UTF-8
CFG

: >"$W/stages"
for stage in "init" "modules --mode config" "modules --mode final"; do
  # shellcheck disable=SC2086 # the stage is several words on purpose
  timeout 600 chroot "$M" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 HK_UPTIME_FILE=/etc/hotk8s-sim/uptime HOTK8S_CONSOLE=/dev/null /usr/bin/cloud-init $stage >>"$W/console.log" 2>&1
  printf '%s %s\n' "$stage" "$?" >>"$W/stages"
done
kill "$heat_pid" 2>/dev/null
wait "$heat_pid" 2>/dev/null
exit 0
