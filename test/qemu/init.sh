#!/bb/sh
# test/qemu/init.sh: /init of the stock-kernel lane's guest (run.sh builds
# the initramfs). Mounts what programs need, loads the kernel modules in
# dependency order, runs guest.sh with a time limit, prints one result line
# for run.sh and powers off. It must always reach the power-off: PID 1 never
# exits on its own.

PATH=/usr/sbin:/usr/bin:/bb
export PATH
umask 022

say() {
	printf 'dnsmark-qemu: %s\n' "$*"
}

finish() {
	say "result: $1"
	sync
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 10
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
# Kernel messages only when they matter: the console is the test's output.
echo 4 >/proc/sys/kernel/printk

say "guest up: kernel $(uname -r), $(cut -d' ' -f1 /proc/uptime) s after boot"
while read -r module; do
	insmod "/modules/$module.ko" || {
		say "cannot load module $module"
		finish "fail (modules)"
	}
done </modules/order
say "modules loaded: $(tr '\n' ' ' </modules/order)"
ip link set lo up

. /opt/dnsmark/env
export CI E2E_VERBOSE
timeout "$QEMU_GUEST_TIMEOUT" /usr/bin/sh /opt/dnsmark/guest.sh </dev/null 2>&1
status=$?
case $status in
0) finish pass ;;
77) finish "skip" ;;
124 | 143) finish "fail (guest.sh timed out after $QEMU_GUEST_TIMEOUT s)" ;;
*) finish "fail (guest.sh exit status $status)" ;;
esac
