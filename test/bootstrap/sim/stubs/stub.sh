#!/bin/sh
# Boot-simulation stub: installed under the name of a command the bootstrap runs (kubeadm, kubelet,
# kubectl, systemctl, apt-get, apt-mark, modprobe, sysctl, swapoff, containerd). Records its
# arguments, fails when a line of /etc/hotk8s-sim/fail occurs in "name args", and otherwise
# behaves just enough for the bootstrap to go on.
name=$(basename "$0")
mkdir -p /var/log/hotk8s-sim
printf '%s %s\n' "$name" "$*" >>/var/log/hotk8s-sim/calls.log
if [ -f /etc/hotk8s-sim/fail ]; then
  while IFS= read -r pattern; do
    [ -n "$pattern" ] || continue
    case "$name $*" in
      *"$pattern"*)
        echo "sim: injected failure ($pattern)" >&2
        exit 1
        ;;
    esac
  done </etc/hotk8s-sim/fail
fi
case "$name" in
  kubeadm)
    case "${1:-}" in
      init)
        mkdir -p /etc/kubernetes
        printf 'apiVersion: v1\nkind: Config\n' >/etc/kubernetes/admin.conf
        printf 'apiVersion: v1\nkind: Config\n' >/etc/kubernetes/kubelet.conf
        ;;
      join)
        mkdir -p /etc/kubernetes
        printf 'apiVersion: v1\nkind: Config\n' >/etc/kubernetes/kubelet.conf
        ;;
      version) cat /etc/hotk8s-sim/kubeadm-version 2>/dev/null ;;
    esac
    ;;
  kubectl)
    case "$*" in
      *"create secret"*) printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloud-config\n' ;;
      *"apply -f -"*) cat >/var/log/hotk8s-sim/applied-stdin.yaml ;;
      *"get node "*) cat /etc/hotk8s-sim/node-state 2>/dev/null || printf 'True|kubelet is posting ready status|' ;;
    esac
    ;;
esac
exit 0
