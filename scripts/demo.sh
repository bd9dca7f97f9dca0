#!/usr/bin/env bash
# The README's demo: installs what it needs, builds khib and the kernel
# (cached after the first run), and runs tests/vm/demo.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
echo "demo: building khib (static, for the VM's initramfs)"
bash scripts/build.sh build-static
echo "demo: building the kernel (about 3 minutes the first time, then cached)"
kernel/build.sh >/dev/null
exec python3 tests/vm/demo.py
