#!/usr/bin/env bash
# Peak memory of `demarche classify` on a 10 MB and a 200 MB input: streaming
# keeps it bounded, so the two figures should be within a small constant.
#
# Inputs are generated in a temporary folder (default /tmp) from the statement
# texts of datasets/*.jsonl, shuffled and repeated, in paragraphs of 1-6
# statements. Usage: scripts/bench-memory.sh [SIZES_MB...] (default: 10 200).
# Env: BIN (default target/release/demarche, built if missing), TMPDIR, THREADS.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/demarche}
if [[ ! -x $BIN ]]; then
    cargo build --release
fi
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(10 200)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/demarche-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK/base.txt" <<'PY'
import json, random, sys
rng = random.Random(4)
texts = []
for split in ("train", "dev", "test"):
    with open(f"datasets/{split}.jsonl", encoding="utf-8") as f:
        texts += [json.loads(l)["text"].replace("\n", " ") for l in f if l.strip()]
rng.shuffle(texts)
out, i = [], 0
while i < len(texts):
    n = rng.randint(1, 6)
    out.append(" ".join(texts[i:i + n]))
    i += n
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("\n\n".join(out) + "\n\n")
PY

printf '%-8s %12s %12s %10s %12s\n' size bytes statements seconds peak_rss_MiB
for mb in "${SIZES[@]}"; do
    in="$WORK/input-${mb}MB.txt"
    want=$((mb * 1024 * 1024))
    : >"$in"
    while [[ $(stat -c %s "$in") -lt $want ]]; do cat "$WORK/base.txt" >>"$in"; done
    truncate -s "$want" "$in"
    /usr/bin/time -v "$BIN" classify --model models/demarche.model --format jsonl \
        ${THREADS:+--threads "$THREADS"} "$in" 2>"$WORK/time.txt" | wc -l >"$WORK/count.txt"
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
    printf '%-8s %12d %12d %10s %12.1f\n' "${mb}MB" "$(stat -c %s "$in")" "$(cat "$WORK/count.txt")" "$secs" \
        "$(echo "$rss_kb / 1024" | bc -l)"
    rm -f "$in"
done
