#!/bin/sh
# Kernel lab bootable image for one kernel package (harness/lab/image.ts runs this; its hash, the
# guest files' and the userland's key make the image's cache key).
#   build-kernel.sh <userland-dir> <out-dir> <kernel-package> <mirror> <security-mirror> <size> <guest-files-dir>
#     a copy of the userland with the lab's init and agent and the kernel package installed by apt
#     (initramfs-tools makes the initrd with the virtio and ext4 modules), then
#     <out-dir>/{vmlinuz,initrd.img,root.raw,kernel-version,kernel-package}.
set -eu
userland=$1 out=$2 kpkg=$3 mirror=$4 secmirror=$5 size=$6 guest=$7
r="$out/rootfs"
cp -a "$userland/rootfs" "$r"
install -m 0755 "$guest/nc-init" "$r/sbin/nc-init"
install -m 0755 "$guest/nc-agent" "$r/usr/local/sbin/nc-agent"
cat > "$r/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $secmirror bookworm-security main
SRC
cp /etc/resolv.conf "$r/etc/resolv.conf"
mkdir -p "$r/etc/initramfs-tools/conf.d"
echo MODULES=list > "$r/etc/initramfs-tools/conf.d/nc-lab"
printf 'virtio_pci\nvirtio_blk\next4\n' > "$r/etc/initramfs-tools/modules"
# a private mount namespace: /proc inside the chroot goes away with it, whatever happens
unshare --mount --propagation private chroot "$r" /bin/sh -eu -c '
  mount -t proc proc /proc
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold "$1" >/dev/null
  umount /proc
' nc-lab "$kpkg"
ver=$(ls "$r/lib/modules" | head -n1)
[ -n "$ver" ] && [ -f "$r/boot/vmlinuz-$ver" ] && [ -f "$r/boot/initrd.img-$ver" ] || { echo "kernel $kpkg: no vmlinuz/initrd for '$ver'" >&2; exit 1; }
cp "$r/boot/vmlinuz-$ver" "$out/vmlinuz"
cp "$r/boot/initrd.img-$ver" "$out/initrd.img"
chroot "$r" dpkg-query -W -f '${Package} ${Version}\n' "$kpkg" > "$out/kernel-package"
echo "$ver" > "$out/kernel-version"
rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r/etc/resolv.conf"
truncate -s "$size" "$out/root.raw"
mkfs.ext4 -q -F -L nc-lab -d "$r" "$out/root.raw"
rm -rf "$r"
