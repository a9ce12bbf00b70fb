#!/usr/bin/env bash
# Fetch BIG-bench's task files for the test that reads every one of them
# (tests/bench/test_bigbench.py): the bigbench 1.0.0 source distribution from PyPI
# (358 MB, checked against PyPI's sha256), of which only the task.json files are
# unpacked (1,041 files, 1.7 GB). Idempotent and quiet: does nothing when they are
# there. Prints the folder to set ASSAY_BIGBENCH to.
set -euo pipefail

URL="https://files.pythonhosted.org/packages/95/f8/c019b3579df548a04cac12342cfcb878e50ddf6cfcd7fddba8cfc721c157/bigbench-1.0.0.tar.gz"
SHA256="1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/assay"
ROOT="$CACHE/bigbench-1.0.0"

if [ ! -f "$ROOT/.complete" ]; then
    if ! command -v curl >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
    fi
    mkdir -p "$CACHE"
    archive="$CACHE/bigbench-1.0.0.tar.gz"
    curl -sSfL --retry 3 -o "$archive.part" "$URL"
    echo "$SHA256  $archive.part" | sha256sum --check --quiet
    rm -rf "$ROOT"
    tar -xzf "$archive.part" -C "$CACHE" --wildcards '*/bigbench/benchmark_tasks/*task.json'
    rm -f "$archive.part"
    touch "$ROOT/.complete"
fi
echo "$ROOT"
