#!/bin/bash -eu
# SPDX-License-Identifier: Apache-2.0
# .clusterfuzzlite/build.sh — ClusterFuzzLite runs this in the WORKDIR of its Dockerfile (the
# checkout); the build itself is the OSS-Fuzz one, so both stay the same.
exec "$SRC/interpfuzz/ci/oss-fuzz/build.sh"
