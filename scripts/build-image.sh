#!/usr/bin/env bash
# Build (once) the systemd Debian 12 image that local deploys and Molecule scenarios boot.
# No registry is needed: the root filesystem comes from debootstrap and Debian's mirror.
# It carries an SSH server (as a real VPS does): the tier scenarios reach it over SSH like a deploy.
set -euo pipefail

IMAGE="${HYBRID_IMAGE:-localhost/hybrid-ai-debian:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

# Bump when the image's contents change: an image built by an older revision is rebuilt.
REVISION=2
if podman image exists "$IMAGE" && [ "${REBUILD:-0}" != 1 ]; then
  have=$(podman image inspect --format '{{ index .Labels "hybrid-ai.image-revision" }}' "$IMAGE" 2>/dev/null || true)
  if [ "$have" = "$REVISION" ]; then
    echo "==> image $IMAGE already built (revision $REVISION; REBUILD=1 to rebuild)"
    exit 0
  fi
  echo "==> image $IMAGE is revision '${have:-none}', this checkout wants $REVISION: rebuilding"
fi

rootfs=$(mktemp -d /var/tmp/hybrid-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "==> debootstrap bookworm into $rootfs (about a minute)"
debootstrap --variant=minbase \
  --include=python3,python3-apt,systemd,systemd-sysv,sudo,ca-certificates,iproute2,procps,curl,gnupg,dbus,openssh-server \
  bookworm "$rootfs" "$MIRROR" >/dev/null

cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main
SOURCES
# Units that cannot work in a container and would leave systemd "degraded".
for unit in systemd-remount-fs.service getty@tty1.service console-getty.service systemd-firstboot.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/90-no-recommends"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

echo "==> importing as $IMAGE"
tar -C "$rootfs" -c . | podman import \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
  --change "LABEL hybrid-ai.image-revision=$REVISION" - "$IMAGE" >/dev/null
echo "==> built $IMAGE"
