#!/bin/sh
# Kernel lab userland (harness/lab/image.ts runs this; its hash is part of the userland's cache key).
#   build-userland.sh <out-dir> <packages,comma,separated> <mirror>
#     debootstrap (minbase) bookworm with the packages into <out-dir>/rootfs.
set -eu
out=$1 pkgs=$2 mirror=$3
debootstrap --variant=minbase --include="$pkgs" bookworm "$out/rootfs" "$mirror"
r="$out/rootfs"
# no daemon started by a package script inside the chroot
printf '#!/bin/sh\nexit 101\n' > "$r/usr/sbin/policy-rc.d"; chmod 0755 "$r/usr/sbin/policy-rc.d"
echo nc-lab > "$r/etc/hostname"
rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/var/log/*.log
