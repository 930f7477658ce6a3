#!/bin/bash
# Boots one etcd "VM" from its user-data parts, run as:
#   ip netns exec NS unshare --mount --propagation private boot-member.sh MEMBER_DIR LIB_DIR
# MEMBER_DIR holds the parts cloud-init split (cloud-config.yaml, *.sh). The member gets private
# copy-on-write views of /etc, /var and /usr/local (overlays on a tmpfs) and a private /run, so
# everything the user-data writes stays in this namespace. Then, as cloud-init would: write_files
# (cloud-init's own module code), then each shell part in file-name order (the final stage), with
# systemctl replaced by the test stub. Exit status of the parts -> MEMBER_DIR/exit-code.
set -euo pipefail
member_dir=$1
lib_dir=$2
scratch=$member_dir/scratch
mkdir -p "$scratch"
mount -t tmpfs -o mode=0700 hk8s-scratch "$scratch"
for d in etc var usr/local; do
  key=${d//\//_}
  mkdir -p "$scratch/$key.upper" "$scratch/$key.work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$scratch/$key.upper,workdir=$scratch/$key.work" "/$d"
done
mount -t tmpfs -o mode=0755 hk8s-run /run
mkdir -p "$member_dir/bin"
install -m 0755 "$lib_dir/systemctl-stub.sh" "$member_dir/bin/systemctl"
# The signal watchdog counts from the boot; a fresh VM has been up for seconds, whatever this host's uptime.
echo "5.00 5.00" >"$member_dir/uptime"
# The health marker goes to this file instead of the host's serial console.
: >"$member_dir/console"
export HOTK8S_TEST_DIR=$member_dir HOTK8S_TEST_LIB=$lib_dir HK_UPTIME_FILE=$member_dir/uptime HOTK8S_CONSOLE=$member_dir/console
export PATH="$member_dir/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/usr/bin/python3 "$lib_dir/cloudinit_tool.py" write-files <"$member_dir/parts/cloud-config.yaml" >"$member_dir/write-files.json"
rc=0
for part in $(find "$member_dir/parts" -name '*.sh' | sort); do
  chmod 0700 "$part"
  "$part" >>"$member_dir/bootstrap.log" 2>&1 || { rc=$?; break; }
done
echo "$rc" >"$member_dir/exit-code"
