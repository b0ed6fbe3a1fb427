#!/bin/sh
# run.sh FUZZER SECONDS WORKDIR SEEDS JP2_SEEDS
# A short, bounded libFuzzer run for the test suite.  SEEDS is a
# colon-separated list of files copied into the seed corpus; JP2_SEEDS are
# ISO/IEC 19794 records from which the embedded JPEG 2000 stream (found by
# its signature box or codestream marker) is cut out as a seed.
set -eu
fuzzer=$1 seconds=$2 work=$3 seeds=$4 jp2=$5
rm -rf "$work"
mkdir -p "$work/corpus" "$work/seeds"
i=0
for f in $(echo "$seeds" | tr ':' ' '); do
    i=$((i + 1))
    cp "$f" "$work/seeds/seed-$i"
done
for f in $(echo "$jp2" | tr ':' ' '); do
    off=$(LC_ALL=C grep -obUaP '\x00\x00\x00\x0cjP  |\xff\x4f\xff\x51' "$f" | head -n 1 | cut -d: -f1)
    if [ -n "$off" ]; then
        i=$((i + 1))
        tail -c +"$((off + 1))" "$f" > "$work/seeds/seed-$i"
    fi
done
cd "$work"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
    corpus seeds
