#!/usr/bin/env bash
# Hostile inputs: damaged variants of corpus files through `dcomhunt scan`, as a defence expert
# would try them. For each variant it prints: the input, whether dcomhunt panicked or hung
# (`timeout`), the records it read against `evtx_dump`'s count (only when `evtx_dump` is on
# PATH — `cargo install evtx` provides it — otherwise n/a), the damage it reported (damage
# entries, skipped files, duplicate copies, conflicts), and its exit code. It ends with the count
# of SILENT damage — altered, duplicated or unread evidence presented as complete — which must
# be 0 (the script then exits 0; otherwise 1).
#
#   scripts/hostile.sh                    # target/release/dcomhunt, else target/debug/dcomhunt
#   DCOMHUNT=path/to/dcomhunt CORPUS=../shared/corpus TIMEOUT=60 scripts/hostile.sh
#
# The variants are written to a temporary directory (removed at the end; KEEP=1 keeps it).
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
TIMEOUT=${TIMEOUT:-60}
if [ -z "${DCOMHUNT:-}" ]; then
    DCOMHUNT=$ROOT/target/release/dcomhunt
    [ -x "$DCOMHUNT" ] || DCOMHUNT=$ROOT/target/debug/dcomhunt
fi
[ -x "$DCOMHUNT" ] || { echo "no dcomhunt binary at $DCOMHUNT: cargo build --release first" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed for the byte edits" >&2; exit 2; }
LM="$CORPUS/EVTX-ATTACK-SAMPLES/Lateral Movement"
MMC="$LM/LM_impacket_docmexec_mmc_sysmon_01.evtx"   # one chunk, one finding
SMB="$LM/smbmap_upload_exec_sysmon.evtx"            # one chunk
BIG="$LM/LM_5145_Remote_FileCopy.evtx"              # 17 chunks
for f in "$MMC" "$SMB" "$BIG"; do
    [ -f "$f" ] || { echo "SKIPPED: $f is absent (CORPUS=$CORPUS)" >&2; exit 0; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dcomhunt-hostile.XXXXXX")
if [ -z "${KEEP:-}" ]; then
    trap 'rm -rf "$WORK"' EXIT
else
    echo "variants kept in $WORK" >&2
fi
mkdir -p "$WORK/in" "$WORK/out"

# edit SRC DST OP [ARGS]: write DST, a copy of SRC changed by OP (python3, byte exact).
edit() {
    python3 - "$@" <<'PY'
import sys, zlib, struct
src, dst, op, *args = sys.argv[1:]
b = bytearray(open(src, 'rb').read())
H, C = 4096, 65536
def chunk(n): return H + n * C
if op == 'flip':            # flip one bit at each offset given
    for a in args: b[int(a, 0)] ^= 0x10
elif op == 'zero':          # zero LEN bytes at OFF
    off, n = int(args[0], 0), int(args[1], 0); b[off:off + n] = bytes(n)
elif op == 'truncate':      # keep the first N bytes
    b = b[:int(args[0], 0)]
elif op == 'zero-chunk':    # zero chunk N
    n = int(args[0]); b[chunk(n):chunk(n) + C] = bytes(C)
elif op == 'dup-chunk':     # append a copy of chunk N
    n = int(args[0]); b += b[chunk(n):chunk(n) + C]
elif op == 'copy-chunk':    # chunk N overwritten by a copy of chunk M
    n, m = int(args[0]), int(args[1]); b[chunk(n):chunk(n) + C] = b[chunk(m):chunk(m) + C]
elif op == 'retext':        # change one UTF-16 letter of TEXT, every CRC32 made to match again
    needle = args[0].encode('utf-16-le'); at = b.index(needle); b[at] ^= 0x20
    n = (at - H) // C; c = chunk(n)
    free = struct.unpack_from('<I', b, c + 48)[0]
    struct.pack_into('<I', b, c + 52, zlib.crc32(bytes(b[c + 512:c + free])))
    struct.pack_into('<I', b, c + 124, zlib.crc32(bytes(b[c + 128:c + 512]), zlib.crc32(bytes(b[c:c + 120]))))
elif op == 'random':        # N pseudo-random bytes (fixed seed)
    import random; r = random.Random(7); b = bytearray(r.randbytes(int(args[0])))
elif op == 'copy':
    pass
else:
    sys.exit('unknown op ' + op)
open(dst, 'wb').write(b)
PY
}

# Each case: NAME, KIND (intact: must be complete; damaged: must not be; copies: two files with
# the same records — must report duplicates; none: no evidence at all, nothing to present), and
# the inputs (paths under $WORK/in).
CASES=()
add() { CASES+=("$1|$2|$3"); }
I=$WORK/in
edit "$MMC" "$I/intact.evtx" copy;                               add intact intact "$I/intact.evtx"
edit "$MMC" "$I/flip-record.evtx" flip 0x1a40;                   add flip-record damaged "$I/flip-record.evtx"
edit "$MMC" "$I/flip-3.evtx" flip 0x1400 0x3000 0x5000;          add flip-3-records damaged "$I/flip-3.evtx"
edit "$SMB" "$I/zero64-0x58cc.evtx" zero 0x58cc 64;              add zero64-in-record damaged "$I/zero64-0x58cc.evtx"
edit "$MMC" "$I/flip-chunk-header.evtx" flip 0x1020;             add flip-chunk-header damaged "$I/flip-chunk-header.evtx"
edit "$MMC" "$I/flip-file-header.evtx" flip 0x18;                add flip-file-header damaged "$I/flip-file-header.evtx"
edit "$MMC" "$I/flip-signature.evtx" flip 2;                     add flip-signature damaged "$I/flip-signature.evtx"
edit "$MMC" "$I/zero-header.evtx" zero 0 4096;                   add zero-header damaged "$I/zero-header.evtx"
edit "$MMC" "$I/trunc-40000.evtx" truncate 40000;                add truncate-mid-chunk damaged "$I/trunc-40000.evtx"
edit "$MMC" "$I/trunc-4096.evtx" truncate 4096;                  add truncate-header-only damaged "$I/trunc-4096.evtx"
edit "$MMC" "$I/trunc-100.evtx" truncate 100;                    add truncate-100-bytes damaged "$I/trunc-100.evtx"
edit "$BIG" "$I/zero-chunk-5.evtx" zero-chunk 5;                 add zero-chunk-mid damaged "$I/zero-chunk-5.evtx"
edit "$BIG" "$I/zero-chunk-last.evtx" zero-chunk 9;              add zero-chunk-last damaged "$I/zero-chunk-last.evtx"
edit "$BIG" "$I/flip-chunk-magic.evtx" flip $((4096 + 7 * 65536)); add flip-chunk-magic damaged "$I/flip-chunk-magic.evtx"
edit "$MMC" "$I/dup-chunk.evtx" dup-chunk 0;                     add dup-chunk-appended damaged "$I/dup-chunk.evtx"
edit "$BIG" "$I/copy-chunk.evtx" copy-chunk 6 3;                 add chunk-over-chunk damaged "$I/copy-chunk.evtx"
mkdir -p "$I/vss"
edit "$MMC" "$I/vss/live.evtx" copy
edit "$MMC" "$I/vss/shadow.evtx" copy;                           add same-log-twice copies "$I/vss/live.evtx $I/vss/shadow.evtx"
mkdir -p "$I/tamper"
edit "$MMC" "$I/tamper/a.evtx" copy
edit "$MMC" "$I/tamper/b.evtx" retext whoami;                    add conflicting-copy damaged "$I/tamper/a.evtx $I/tamper/b.evtx"
# Odd file types and names.
: > "$I/empty.evtx";                                             add empty-file none "$I/empty.evtx"
edit "$MMC" "$I/random.evtx" random 70000;                       add random-bytes none "$I/random.evtx"
mkdir -p "$I/odd"
edit "$MMC" "$I/odd/$(printf 'new\nline.evtx')" copy;            add name-with-newline intact "$I/odd"
mkdir -p "$I/bytes"
edit "$MMC" "$I/bytes/$(printf 'a\xff.evtx')" copy;              add name-not-utf8 intact "$I/bytes"
mkdir -p "$I/fifo"
mkfifo "$I/fifo/pipe.evtx" && edit "$MMC" "$I/fifo/real.evtx" copy && add fifo-beside-log intact "$I/fifo"
mkdir -p "$I/loop"
ln -s . "$I/loop/self" && edit "$MMC" "$I/loop/x.evtx" copy && add symlink-loop intact "$I/loop"

# records FILE...: evtx_dump's count of records over the inputs' EVTX files, or n/a.
records_evtx_dump() {
    command -v evtx_dump >/dev/null || { echo n/a; return; }
    local n=0 f k
    while IFS= read -r -d '' f; do
        k=$(evtx_dump -o jsonl "$f" 2>/dev/null | grep -c '^{') || true
        n=$((n + k))
    done < <(find "$@" -type f -name '*.evtx' -print0)
    echo "$n"
}

printf '%-22s %-7s %-6s %-5s %-10s %-9s %-40s %s\n' \
    case kind panic hang read evtx_dump "damage reported" exit
SILENT=0
PROBLEMS=0
n=0
for c in "${CASES[@]}"; do
    IFS='|' read -r name kind inputs <<<"$c"
    n=$((n + 1))
    out=$WORK/out/$n
    read -r -a args <<<"$inputs"
    timeout -k 5 "$TIMEOUT" "$DCOMHUNT" scan "${args[@]}" -o "$out" -q >"$WORK/stdout" 2>"$WORK/stderr"
    code=$?
    panic=no; hang=no
    { [ $code -eq 101 ] || grep -q panicked "$WORK/stderr"; } && panic=YES
    [ $code -eq 124 ] || [ $code -eq 137 ] && hang=YES
    report=$(python3 - "$out/manifest.json" "$WORK/stderr" <<'PY'
import json, sys
try:
    m = json.load(open(sys.argv[1]))
except Exception:
    err = open(sys.argv[2], errors='replace').read().strip().splitlines()
    print('-', 'no manifest: ' + (err[0][:60] if err else 'no message'), 0, 0, sep='\t'); sys.exit()
t = m['totals']; i = m.get('integrity', {})
damage = sum(len(x['damage']) for x in m['inputs'])
incomplete = sum(1 for x in m['inputs'] if not x['complete'])
parts = [f'{damage} damage', f'{incomplete} incomplete']
if m['skipped']: parts.append(f"{len(m['skipped'])} skipped")
if t.get('duplicates_removed'): parts.append(f"{t['duplicates_removed']} dup")
if t.get('conflicts'): parts.append(f"{t['conflicts']} conflict")
print(t['records_read'], ', '.join(parts), incomplete, t.get('duplicates_removed', 0), sep='\t')
PY
)
    IFS=$'\t' read -r read damage incomplete dups <<<"$report"
    dump=$(records_evtx_dump "${args[@]}")
    # Silent: damaged evidence with a complete verdict (exit 0/3), or copies not reported.
    silent=""
    case $kind in
        damaged) { [ $code -eq 0 ] || [ $code -eq 3 ]; } && silent=" SILENT" ;;
        copies) [ "${dups:-0}" = 0 ] && silent=" SILENT" ;;
    esac
    [ -n "$silent" ] && SILENT=$((SILENT + 1))
    note=""
    [ "$kind" = intact ] && [ $code -ne 0 ] && [ $code -ne 3 ] && note=" (intact input not complete)"
    if [ "$dump" != n/a ] && [ "$read" != - ] && [ "$read" -lt "$dump" ]; then
        note="$note (fewer records than evtx_dump)"
    fi
    [ "$panic" = YES ] || [ "$hang" = YES ] || [ -n "$note" ] && PROBLEMS=$((PROBLEMS + 1))
    printf '%-22s %-7s %-6s %-5s %-10s %-9s %-40s %s\n' \
        "$name" "$kind" "$panic" "$hang" "$read" "$dump" "$damage" "$code$silent$note"
done
echo
echo "cases: ${#CASES[@]}; panics, hangs, intact inputs not complete or records short of evtx_dump: $PROBLEMS"
echo "silent damage (altered, duplicated or unread evidence presented as complete): $SILENT"
[ "$SILENT" -eq 0 ] && [ "$PROBLEMS" -eq 0 ]
