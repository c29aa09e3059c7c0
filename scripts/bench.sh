#!/usr/bin/env bash
# Whole-CLI benchmark: dcomhunt scan vs `evtx_dump -o jsonl` on the same files and thread counts.
#
#   scripts/bench.sh                 # all sets, 5 runs each (hyperfine if installed)
#   RUNS=10 SETS="corpus sysmon" scripts/bench.sh
#
# Sets:
#   corpus  the whole ../shared/corpus (CORPUS=... to change)
#   scale   a ~1 GB synthetic corpus from `dcomhunt dev scale` (SCALE_ARGS to change the size);
#   scale_q the same with a quarter of the events (memory growth: 4x input should be <2x RSS);
#           skipped with a message while that subcommand is not wired into the binary
#   sysmon  one large Sysmon file: every non-empty chunk of the corpus' Sysmon-only files
#           concatenated behind one file header (chunks are self-contained in EVTX)
#   onehost (not in the default SETS) ~0.25 GB from `dcomhunt dev scale` for a single host, as
#           from one disk image: a host's graph is built on one thread, so this set shows what
#           more threads cannot speed up
#   scale4  (not in the default SETS) ~4 GB from `dcomhunt dev scale`: 32 hosts of the scale
#           set's size (SCALE4_ARGS to change), four times the scale set as a collection grows
#           (more hosts): memory beyond 1 GB. Needs about 4 GB of disk under target/bench
#
# For each set and each of --threads 1 and --threads $(nproc) (all cores; THREADS="1 2 4" to
# choose) it prints wall time (median), MB/s, records/s and peak RSS for `dcomhunt scan` and
# for the evtx_dump baseline (one evtx_dump process per file, `-t N -o jsonl > /dev/null`, as
# the corpus target's 1.09 s figure was measured; docs/performance.md). Peak RSS comes from
# GNU time (`/usr/bin/time -v`); for the evtx_dump loop it is the largest single process.
# Results also go to target/bench/results.tsv.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
RUNS=${RUNS:-5}
SETS=${SETS:-"corpus scale_q scale sysmon"}
# --threads 1 and all cores (just 1 on a one-core machine).
if [ -z "${THREADS:-}" ]; then
    THREADS=1
    [ "$(nproc)" -gt 1 ] && THREADS="1 $(nproc)"
fi
# dcomhunt = `scan -o DIR` (every report written); dcomhunt-term = `scan` with findings to the
# terminal only; evtx_dump = the baseline.
TOOLS=${TOOLS:-"dcomhunt dcomhunt-term evtx_dump"}
# --events is per host; about 730 bytes of EVTX per event: 8 x 170000 is about 1 GB.
SCALE_ARGS=${SCALE_ARGS:-"--hosts 8 --events 170000 --attacks 6"}
# The same at a quarter of the events, for the memory-growth target (4x input, <2x RSS).
SCALE_Q_ARGS=${SCALE_Q_ARGS:-"--hosts 8 --events 42500 --attacks 6"}
# One host with as many events as scale_q's eight.
ONEHOST_ARGS=${ONEHOST_ARGS:-"--hosts 1 --events 340000 --attacks 2"}
# Four times the scale set, as a collection grows: more hosts of the same size.
SCALE4_ARGS=${SCALE4_ARGS:-"--hosts 32 --events 170000 --attacks 6"}
WORK=$ROOT/target/bench
mkdir -p "$WORK"
RESULTS=$WORK/results.tsv

die() { echo "bench.sh: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "GNU time is needed (apt-get install -y time)"

echo "== build (release)"
cargo build --release --quiet
BIN=$ROOT/target/release/dcomhunt

if ! command -v evtx_dump >/dev/null 2>&1; then
    echo "== installing evtx_dump 0.15.1"
    cargo install evtx --version 0.15.1 --locked
fi
EVTX_DUMP=$(command -v evtx_dump)
HYPERFINE=$(command -v hyperfine || true)
[ -n "$HYPERFINE" ] || echo "(hyperfine not installed: apt-get install -y hyperfine; using a plain loop)"

# A list of files (NUL-separated) for a set, written to $WORK/<set>.files.
list_evtx() { # dir -> NUL list of EVTX files (recognized by signature, like dcomhunt)
    find "$1" -type f -print0 | sort -z | while IFS= read -r -d '' f; do
        if [ "$(head -c 8 "$f" | tr -d '\0')" = "ElfFile" ]; then printf '%s\0' "$f"; fi
    done
}

make_sysmon() { # concatenate the chunks of every Sysmon-only corpus file into one EVTX file
    python3 - "$CORPUS" "$1" <<'PY'
import os, struct, sys, zlib
corpus, out = sys.argv[1], sys.argv[2]
files = []
with open(os.path.join(corpus, "MANIFEST.tsv"), encoding="utf-8") as m:
    head = m.readline().rstrip("\n").split("\t")
    ci = {h.split("(")[0]: i for i, h in enumerate(head)}
    for line in m:
        f = line.rstrip("\n").split("\t")
        counts = [c for c in f[ci["channel:eventid=count"]].split(";") if c]
        if f[ci["role"]] == "corpus" and counts and all(c.startswith("Microsoft-Windows-Sysmon/Operational:") for c in counts):
            files.append(os.path.join(corpus, f[ci["path"]]))
chunks, header = [], None
for p in sorted(set(files)):
    d = open(p, "rb").read()
    if header is None:
        header = bytearray(d[:4096])
    for off in range(4096, len(d) - 65535, 65536):
        c = d[off:off + 65536]
        if c[:8] == b"ElfChnk\0":
            chunks.append(c)
# header: chunk count (u16 @42), last chunk (u64 @16), clean flags, CRC32 of the first 120 bytes
struct.pack_into("<H", header, 42, min(len(chunks), 0xFFFF))
struct.pack_into("<Q", header, 16, len(chunks) - 1)
struct.pack_into("<I", header, 120, 0)
struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])) & 0xFFFFFFFF)
with open(out, "wb") as o:
    o.write(header)
    for c in chunks:
        o.write(c)
print(f"{out}: {len(chunks)} chunks from {len(set(files))} Sysmon files", file=sys.stderr)
PY
}

prepare() { # set -> prints the path to scan ("" = skip)
    case $1 in
    corpus)
        [ -d "$CORPUS" ] || { echo "corpus absent at $CORPUS: skipping" >&2; return; }
        list_evtx "$CORPUS" >"$WORK/corpus.files"
        echo "$CORPUS" ;;
    scale | scale_q | onehost | scale4)
        local args=$SCALE_ARGS
        [ "$1" = scale_q ] && args=$SCALE_Q_ARGS
        [ "$1" = onehost ] && args=$ONEHOST_ARGS
        [ "$1" = scale4 ] && args=$SCALE4_ARGS
        if ! "$BIN" dev scale --help >/dev/null 2>&1; then
            echo "\`dcomhunt dev scale\` is not in this binary yet: skipping the synthetic corpus" >&2
            return
        fi
        local dir=$WORK/$1
        if [ ! -f "$dir/.done" ] || [ "$(cat "$dir/.done")" != "$args" ]; then
            rm -rf "$dir"
            # shellcheck disable=SC2086
            "$BIN" -q dev scale $args --out "$dir" >&2
            echo "$args" >"$dir/.done"
        fi
        list_evtx "$dir" >"$WORK/$1.files"
        echo "$dir" ;;
    sysmon)
        [ -d "$CORPUS" ] || { echo "corpus absent at $CORPUS: skipping" >&2; return; }
        local f=$WORK/sysmon-large.evtx
        [ -f "$f" ] || make_sysmon "$f"
        printf '%s\0' "$f" >"$WORK/sysmon.files"
        echo "$f" ;;
    esac
}

# median wall seconds of a command line (string for bash -c); $2: a command run before each
# run and not timed (removing the previous run's reports)
wall() {
    local prep=${2:-true}
    if [ -n "$HYPERFINE" ]; then
        # -i: dcomhunt exits 3-5 when it finds something or an input is damaged
        "$HYPERFINE" --warmup 1 --runs "$RUNS" -i --prepare "$prep" \
            --export-json "$WORK/hf.json" --style none "$1" >/dev/null 2>&1
        jq -r '.results[0].median' "$WORK/hf.json"
    else
        local ts=() i
        for ((i = 0; i < RUNS; i++)); do
            bash -c "$prep"
            /usr/bin/time -f %e -o "$WORK/t" bash -c "$1" >/dev/null 2>&1 || true
            ts+=("$(tail -n 1 "$WORK/t")")
        done
        printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
    fi
}

peak_kib() { # peak RSS (KiB) of a command line; $2 as for wall
    bash -c "${2:-true}"
    /usr/bin/time -v bash -c "$1" >/dev/null 2>"$WORK/tv" || true
    awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/tv"
}

printf 'set\ttool\tthreads\tfiles\tMB\trecords\twall_s\tMB_per_s\trecords_per_s\tpeak_MiB\n' >"$RESULTS"
OUTDIR=$WORK/out
HAS_O=$("$BIN" scan --help 2>/dev/null | grep -q -- ' -o, \| --out' && echo yes || echo no)

for set in $SETS; do
    target=$(prepare "$set")
    [ -n "$target" ] || continue
    files=$WORK/$set.files
    nfiles=$(tr -cd '\0' <"$files" | wc -c)
    bytes=$(xargs -0 stat -c %s <"$files" | awk '{s+=$1} END {print s}')
    # records = what evtx_dump prints (one JSON line per record)
    records=$(xargs -0 -n1 "$EVTX_DUMP" -t 1 -o jsonl <"$files" 2>/dev/null | wc -l)
    mb=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}')
    echo "== $set: $nfiles files, $mb MB, $records records"
    for t in $THREADS; do
        # The previous run's reports are removed before each run, untimed (removing the 1 GB
        # set's 570 MB timeline takes a noticeable part of a second).
        prep="rm -rf '$OUTDIR'"
        if [ "$HAS_O" = yes ]; then
            scan="'$BIN' --threads $t -q scan '$target' -o '$OUTDIR' >/dev/null"
        else
            scan="'$BIN' --threads $t -q scan '$target' >/dev/null"
        fi
        # The same run without report files: findings to the terminal only (like evtx_dump's
        # output, which goes to /dev/null); it still reads, hashes, builds and matches everything.
        term="'$BIN' --threads $t -q scan '$target' >/dev/null"
        dump="xargs -0 -n1 '$EVTX_DUMP' -t $t -o jsonl <'$files' >/dev/null 2>&1"
        for tool in $TOOLS; do
            case $tool in
            dcomhunt) cmd=$scan ;;
            dcomhunt-term) cmd=$term ;;
            *) cmd=$dump ;;
            esac
            w=$(wall "$cmd" "$prep")
            k=$(peak_kib "$cmd" "$prep")
            line=$(awk -v s="$set" -v tool="$tool" -v t="$t" -v n="$nfiles" -v mb="$mb" -v r="$records" \
                -v w="$w" -v k="$k" 'BEGIN {printf "%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t%.1f\t%.0f\t%.1f",
                s, tool, t, n, mb, r, w, mb / w, r / w, k / 1024}')
            printf '%s\n' "$line" >>"$RESULTS"
        done
    done
done

echo
echo "== results (median of $RUNS runs; $(nproc) cores; $(date -u +%F))"
column -t -s $'\t' "$RESULTS"
echo
echo "== dcomhunt vs evtx_dump (wall ratio, >1 = dcomhunt faster)"
awk -F'\t' 'NR > 1 { k = $1 "\t" $3 "\t" $2; w[k] = $7; if ($2 == "evtx_dump") e[$1 "\t" $3] = $7 }
    END { for (k in w) { split(k, p, "\t"); if (p[3] != "evtx_dump" && (p[1] "\t" p[2]) in e)
          printf "%s\t%s\tthreads %s\t%.2fx\n", p[1], p[3], p[2], e[p[1] "\t" p[2]] / w[k] } }' \
    "$RESULTS" | sort
echo
echo "== scaling: wall at 1 thread / wall at N threads"
awk -F'\t' 'NR > 1 { k = $1 "\t" $2; if ($3 == 1) one[k] = $7; else { w[k "\t" $3] = $7 } }
    END { for (kn in w) { split(kn, p, "\t"); k = p[1] "\t" p[2]
          if (k in one) printf "%s\tthreads %s\t%.2fx\n", k, p[3], one[k] / w[kn] } }' "$RESULTS" | sort
