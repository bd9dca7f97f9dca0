# SPDX-License-Identifier: GPL-2.0-only
"""The normal kernel's /init for the jump and hibernate tests.

It mounts the API file systems, keeps state to check afterwards (a 4 MiB
random tmpfs file, the live workload), runs `action` (a shell snippet that
jumps or hibernates and echoes its rc), then reports: the tmpfs file, the
workload's counters (on SIGUSR1), the online CPUs; and powers off.
"""

MOUNTS = """mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
"""

# `report DIR PID`: ask the workload (state in DIR) for its line and wait
# until it printed it, at the end of its pass over memory (seconds when it
# holds gigabytes under TCG).
REPORT = """report() {
    rm -f "$1/reported"
    kill -USR1 "$2"
    n=0
    while [ ! -e "$1/reported" ] && [ $n -lt 1200 ]; do usleep 100000; n=$((n + 1)); done
}
"""


def n_init(action, prelude="", workload_mib=96):
    return f"""#!/bin/sh
{MOUNTS}{REPORT}echo "N: up cpus=$(cat /sys/devices/system/cpu/online)"
{prelude}head -c 4194304 /dev/urandom > /tmp/data
sha256sum /tmp/data > /tmp/data.sum
mkdir /tmp/wl
/bin/khib-workload {workload_mib} /tmp/wl &
pid=$!
while [ ! -e /tmp/wl/ready ]; do usleep 100000; done
{action}
if sha256sum -c /tmp/data.sum >/dev/null 2>&1; then
    echo "N: tmpfs file intact"
else
    echo "N: tmpfs file CHANGED"
fi
report /tmp/wl $pid
echo "N: cpus online $(cat /sys/devices/system/cpu/online)"
poweroff -f
"""


# The start of a Debian guest's khib-test script (khibvm.debian.TEST_UNITS,
# run by systemd): `start_workload MIB` starts the workload with its state
# in /run/wl (a tmpfs: it goes with the hibernated memory) and waits until
# it holds its memory; `report` asks it for its line and waits for it, at
# the end of its pass.
DEBIAN_WORKLOAD = r"""start_workload() {
    mkdir -p /run/wl
    /usr/local/bin/khib-workload "$1" /run/wl &
    echo $! > /run/wl/pid
    while [ ! -e /run/wl/ready ]; do sleep 0.2; done
}
report() {
    rm -f /run/wl/reported
    kill -USR1 $(cat /run/wl/pid)
    while [ ! -e /run/wl/reported ]; do sleep 0.1; done
}
"""
