#!/bin/bash
# Stub of the upgrade agent's commands (test/unit/bootstrap-upgrade-agent.test.ts): records "name args" in
# $HK_STUB_STATE/calls.log, answers from files there, fails when $HK_STUB_STATE/fail occurs in "name args".
S=$HK_STUB_STATE
name=$(basename "$0")
printf '%s %s\n' "$name" "$*" >>"$S/calls.log"
[ -f "$S/fail" ] && grep -qF -- "$(cat "$S/fail")" <<<"$name $*" && exit 1
case "$name" in
  curl)
    case "$*" in
      *meta_data.json*) [ -f "$S/meta.json" ] && cat "$S/meta.json" || exit 22 ;;
      *--output*) out=$(sed -E 's/.*--output ([^ ]+).*/\1/' <<<"$*"); echo key >"$out" ;;
    esac ;;
  kubelet) echo "Kubernetes v$(cat "$S/kubelet-version")" ;;
  apt-get)
    spec=$(grep -oE 'kubelet=[^ ]+' <<<"$*" | cut -d= -f2)
    [ -n "$spec" ] && echo "${spec%-*}" >"$S/kubelet-version"
    true ;;
  kubectl)
    args="$*"
    case "$args" in
      *"create -f -"*)
        body=$(cat)
        if grep -q 'kind: Lease' <<<"$body"; then
          [ -f "$S/lease" ] && exit 1
          printf '%s|%s\n' "$(sed -n 's/.*holderIdentity: "\([^"]*\)".*/\1/p' <<<"$body")" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$S/lease"
        else
          printf '%s\n' "$body" >>"$S/events"
        fi ;;
      *"get lease"*) cat "$S/lease" ;;
      *"delete lease"*) rm -f "$S/lease" ;;
      *"get configmap kubeadm-config"*) printf 'apiVersion: kubeadm.k8s.io/v1beta4\nkubernetesVersion: v%s\n' "$(cat "$S/cluster-version")" ;;
      *"get --raw=/readyz"*) echo ok ;;
      *"get nodes -l node-role.kubernetes.io/control-plane"*) cat "$S/cp-versions" ;;
      *"get node "*"Ready"*) echo True ;;
      *"get node "*"annotations"*) n=$(sed -E 's/.*get node ([^ ]+).*/\1/' <<<"$args"); cat "$S/ann-$n" 2>/dev/null; true ;;
      *"get nodes -o"*"kubeletVersion"*)
        for f in "$S"/ann-*; do [ -e "$f" ] || continue; n=${f##*/ann-}; echo "$n|$(cat "$f")|v$(cat "$S/ver-$n" 2>/dev/null)"; done ;;
      *"get nodes -o"*)
        for f in "$S"/ann-*; do [ -e "$f" ] || continue; echo "${f##*/ann-}|$(cat "$f")"; done ;;
      *"annotate"*"hotk8s.io/upgrade-"*) n=$(sed -E 's/.*node ([^ ]+) hotk8s.*/\1/' <<<"$args"); rm -f "$S/ann-$n" ;;
      *"annotate"*) n=$(sed -E 's/.*node ([^ ]+) hotk8s.*/\1/' <<<"$args"); echo "${args##*hotk8s.io/upgrade=}" >"$S/ann-$n" ;;
    esac ;;
esac
exit 0
