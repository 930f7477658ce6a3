#!/usr/bin/env bash
# Prepares this machine for the bootstrap test layers. Idempotent: installs only what is missing and
# builds the debootstrapped Debian root only when it is not cached yet.
#
#   scripts/prepare-test-env.sh            # packages + rootfs
#   scripts/prepare-test-env.sh --no-rootfs
#
# Needs root (apt-get, debootstrap). Network: only the Debian mirror apt is configured with.
set -Eeuo pipefail

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOTFS_DIR=${HOTK8S_ROOTFS_DIR:-$ROOT_DIR/.cache/rootfs/bookworm}
SUITE=bookworm
# Packages the test layers use (and the commands that prove each is present).
APT_PACKAGES=(python3-heat python3-heatclient shellcheck cloud-init etcd-server etcd-client debootstrap iproute2 nftables)
# The local Heat twin's tests drive it with the real openstack CLI.
APT_PACKAGES+=(python3-openstackclient)
# The etcd backups' Swift copy (test/bootstrap/etcd-cluster.test.ts): Swift's own tempurl middleware checks the upload.
APT_PACKAGES+=(python3-swift)
# The real-boot layer (test/vm, scripts/vm-image): qemu (TCG), qcow2 overlays, the NoCloud seed disk (vfat).
APT_PACKAGES+=(qemu-system-x86 qemu-utils dosfstools mtools)
# python3-cffi-backend: debootstrap does not resolve virtual packages (python3-cryptography needs
# python3-cffi-backend-api-*, which only python3-cffi-backend provides).
ROOTFS_PACKAGES=cloud-init,python3-cffi-backend,iproute2,ca-certificates,curl,openssl,iptables,nftables,gzip

err() { printf 'prepare-test-env: error: %s\n' "$*" >&2; exit 1; }
note() { printf 'prepare-test-env: %s\n' "$*" >&2; }

want_rootfs=1
for arg in "$@"; do
  case $arg in
    --no-rootfs) want_rootfs=0 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) err "unknown argument '$arg' (known: --no-rootfs)" ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n -E "$0" "$@"
  fi
  err "must run as root (apt-get, debootstrap, network namespaces); run it with sudo"
fi

# ---- apt packages ----------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  note "installing missing packages: ${missing[*]}"
  apt-get update -q || err "apt-get update failed (is the Debian mirror in /etc/apt/sources.list(.d) reachable?)"
  apt-get install -y -q --no-install-recommends "${missing[@]}" || err "apt-get install ${missing[*]} failed"
  # Debian's etcd-server starts a default etcd on 2379/2380 after install; the tests start their own.
  if printf '%s\n' "${missing[@]}" | grep -qx etcd-server && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now etcd.service >/dev/null 2>&1 || true
  fi
else
  note "apt packages present: ${APT_PACKAGES[*]}"
fi
for cmd in shellcheck cloud-init etcd etcdctl debootstrap ip nft openssl openstack; do
  command -v "$cmd" >/dev/null 2>&1 || err "command '$cmd' not found after installing packages"
done
/usr/bin/python3 -c 'import cloudinit.user_data, heat, swift.common.middleware.tempurl' 2>/dev/null ||
  err "/usr/bin/python3 cannot import cloudinit.user_data, heat and swift's tempurl (packages cloud-init, python3-heat, python3-swift)"

# ---- debootstrapped Debian root for the boot simulation ----------------------------------------
# The mirror is the one apt uses here: the first URI serving $SUITE in deb822 sources or sources.list.
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '
      /^[[:space:]]*$/ { if (u != "" && s ~ "(^| )" suite "( |$)") { print u; exit } u = ""; s = ""; next }
      /^URIs:/ { u = $2 } /^Suites:/ { $1 = ""; s = $0 }
      END { if (u != "" && s ~ "(^| )" suite "( |$)") print u }' "$f" | head -n1)
    if [ -n "$uri" ]; then printf '%s\n' "$uri"; return 0; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' "$f")
    if [ -n "$uri" ]; then printf '%s\n' "$uri"; return 0; fi
  done
  return 1
}

if [ "$want_rootfs" = 1 ]; then
  if [ -f "$ROOTFS_DIR/.hotk8s-rootfs-complete" ]; then
    note "rootfs cached: $ROOTFS_DIR"
  else
    mirror=$(debian_mirror) || err "no Debian $SUITE mirror found in /etc/apt/sources.list(.d); cannot debootstrap"
    note "debootstrapping $SUITE (minbase + $ROOTFS_PACKAGES) from $mirror into $ROOTFS_DIR"
    mkdir -p "$(dirname "$ROOTFS_DIR")"
    tmp="$ROOTFS_DIR.partial.$$"
    rm -rf "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    start=$(date +%s)
    debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" "$SUITE" "$tmp" "$mirror" >"$tmp.log" 2>&1 ||
      { tail -n 30 "$tmp.log" >&2; rm -f "$tmp.log"; err "debootstrap of $SUITE from $mirror failed (log above)"; }
    rm -f "$tmp.log"
    # apt caches are not needed in the root; keep it small.
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
    date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp/.hotk8s-rootfs-complete"
    rm -rf "$ROOTFS_DIR"
    mv "$tmp" "$ROOTFS_DIR"
    trap - EXIT
    note "rootfs built in $(($(date +%s) - start)) s: $ROOTFS_DIR"
  fi
fi
note "ready"
