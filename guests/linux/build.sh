#!/bin/sh
# Builds the Linux guest from Debian packages only: the distribution's cloud kernel
# (vmlinux extracted from its bzImage, for the PVH entry of -M microvm) and an
# initramfs around busybox-static. Usage: guests/linux/build.sh OUTDIR
# Writes OUTDIR/linux-vmlinux and OUTDIR/linux-initramfs.cpio.gz; idempotent: the
# .debs are kept in OUTDIR/linux-debs and reused. Needs apt-get, dpkg-deb, python3
# and the kernel's decompressor (lz4 for Debian 12's cloud kernel; xz/zstd/gzip too).
set -eu
# BS_SOFT=1 (the CMake build): a failure (no network, no apt) is a warning, not an error.
trap 'rc=$?; if [ $rc -ne 0 ] && [ "${BS_SOFT:-}" = 1 ]; then
    echo "warning: the Linux guest was not built (build.sh exit $rc); linux* profiles need it" >&2
    exit 0; fi' EXIT

out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
debs="$out/linux-debs"
work="$out/linux-work"
mkdir -p "$debs"

# Which kernel: the metapackage names the current ABI's image package.
kpkg=${BS_LINUX_KPKG:-linux-image-cloud-amd64}
fetch() { # PACKAGE: the newest .deb of it in $debs (downloaded once)
    ls "$debs"/"$1"_*.deb >/dev/null 2>&1 ||
        (cd "$debs" && apt-get download "$1" >/dev/null 2>"$debs/apt.err") ||
        { echo "build.sh: cannot download $1: $(tail -1 "$debs/apt.err")" >&2; exit 3; }
    ls "$debs"/"$1"_*.deb | sort -V | tail -1
}
if [ -f "$debs/kernel-package" ]; then
    image=$(cat "$debs/kernel-package")
else
    image=$(apt-cache depends "$kpkg" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$image" ] || { echo "build.sh: apt-cache knows no $kpkg (apt-get update?)" >&2; exit 3; }
    echo "$image" >"$debs/kernel-package"
fi
kdeb=$(fetch "$image")
bdeb=$(fetch busybox-static)

stamp="$(basename "$kdeb") $(basename "$bdeb") $(cksum <"$here/init" | cut -d' ' -f1) $(cksum <"$here/bsimage.py" | cut -d' ' -f1)"
if [ -f "$out/linux-vmlinux" ] && [ -f "$out/linux-initramfs.cpio.gz" ] &&
   [ "$(cat "$out/linux-stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "build.sh: $out/linux-vmlinux and linux-initramfs.cpio.gz are up to date"
    exit 0
fi

rm -rf "$work"
mkdir -p "$work/kernel" "$work/busybox" "$work/root"
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bdeb" "$work/busybox"
kver=$(ls "$work/kernel/lib/modules" | head -1)

# vmlinux: the ELF inside the bzImage (scripts/extract-vmlinux's method).
python3 "$here/bsimage.py" extract "$work/kernel/boot/vmlinuz-$kver" "$out/linux-vmlinux.tmp"
mv "$out/linux-vmlinux.tmp" "$out/linux-vmlinux"

# The initramfs: busybox, /init, a web root, and virtio-mmio + virtio-net modules
# (modules in Debian's cloud kernel: CONFIG_VIRTIO_MMIO=m, CONFIG_VIRTIO_NET=m),
# listed in load order.
r="$work/root"
mkdir -p "$r/bin" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/www" "$r/lib/modules"
cp "$work/busybox/bin/busybox" "$r/bin/busybox"
cp "$here/init" "$r/init"
chmod 755 "$r/init" "$r/bin/busybox"
ln -sf busybox "$r/bin/sh"
m="$work/kernel/lib/modules/$kver/kernel"
for ko in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio \
          net/core/failover drivers/net/net_failover drivers/net/virtio_net; do
    cp "$m/$ko.ko" "$r/lib/modules/"
    basename "$ko" >>"$r/lib/modules/order"
done
printf '<html><body>bootstorm linux guest %s</body></html>\n' "$kver" >"$r/www/index.html"
python3 "$here/bsimage.py" cpio "$r" "$out/linux-initramfs.cpio.gz.tmp"
mv "$out/linux-initramfs.cpio.gz.tmp" "$out/linux-initramfs.cpio.gz"
echo "$stamp" >"$out/linux-stamp"
rm -rf "$work"
echo "build.sh: kernel $kver: $(wc -c <"$out/linux-vmlinux") bytes vmlinux," \
     "$(wc -c <"$out/linux-initramfs.cpio.gz") bytes initramfs in $out"
