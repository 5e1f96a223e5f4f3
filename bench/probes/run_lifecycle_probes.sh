#!/bin/sh
# run_lifecycle_probes.sh ROOT — compile lifecycle_313_315.c against every python3.1{3,4,5}{,d}-config
# inside the debootstrapped sid root ROOT (ci/cpythons) and run every scenario with a 10 s watchdog.
# Each scenario runs RUNS times (default 1; RUNS=5 for racy ones). Prints one block per build.
set -eu
ROOT=${1:?usage: run_lifecycle_probes.sh ROOT}
RUNS=${RUNS:-1}
here=$(dirname "$0")
cp "$here/lifecycle_313_315.c" "$ROOT/tmp/lifecycle_313_315.c"
for cfg in python3.13-config python3.13d-config python3.14-config python3.14d-config python3.15-config python3.15d-config; do
  chroot "$ROOT" sh -c "
    exe=/tmp/probe-$cfg
    gcc -O1 -g /tmp/lifecycle_313_315.c \$($cfg --includes --ldflags --embed) -lpthread -o \$exe 2>&1 | grep -v warning || true
    echo \"=== $cfg: \$(\$exe list >/dev/null && $cfg --prefix >/dev/null; ${cfg%-config} -V 2>/dev/null || true)\"
    for s in \$(\$exe list); do
      r=1; while [ \$r -le $RUNS ]; do
        out=\$(timeout 10 \$exe \$s 2>&1); rc=\$?
        echo \"--- \$s (run \$r) exit=\$rc\"; printf '%s\n' \"\$out\" | grep -v '^\s*\$' | head -12
        r=\$((r+1))
      done
    done"
done
