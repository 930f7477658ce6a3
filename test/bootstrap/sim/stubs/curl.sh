#!/bin/sh
# Boot-simulation curl: requests to the fake Heat on loopback go to the real curl; everything else
# (the apt key, etcd health, the API's /readyz) is recorded and answered here.
mkdir -p /var/log/hotk8s-sim
printf 'curl %s\n' "$*" >>/var/log/hotk8s-sim/calls.log
# The fake Heat first: failure patterns must not match the signal that reports them.
for a in "$@"; do
  case $a in
    http://127.0.0.1:*) exec /usr/bin/curl "$@" ;;
  esac
done
if [ -f /etc/hotk8s-sim/fail ]; then
  while IFS= read -r pattern; do
    [ -n "$pattern" ] || continue
    case "curl $*" in
      *"$pattern"*)
        echo "sim: injected failure ($pattern)" >&2
        exit 22
        ;;
    esac
  done </etc/hotk8s-sim/fail
fi
out=
prev=
for a in "$@"; do
  if [ "$prev" = --output ] || [ "$prev" = -o ]; then out=$a; fi
  prev=$a
done
case "$*" in
  *2379/health*) printf '%s\n' '{"health":"true","reason":""}' ;;
  *readyz*) ;;
  *)
    if [ -n "$out" ] && [ "$out" != /dev/null ]; then
      printf '%s\n' '-----BEGIN PGP PUBLIC KEY BLOCK-----' 'sim' '-----END PGP PUBLIC KEY BLOCK-----' >"$out"
    fi
    ;;
esac
exit 0
