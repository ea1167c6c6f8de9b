#!/usr/bin/env bash
# Runs one of native/fuzz's libFuzzer targets with ASan and UBSan for SECONDS
# (default 60), starting from a copy of its committed corpus:
#
#   scripts/fuzz.sh flow [SECONDS]      flow-key extraction (fuzz_flow.c): frames
#   scripts/fuzz.sh control [SECONDS]   what a controller sends the datapath
#                                       (fuzz_control.c): mods, bundles, packet-outs, port-mods,
#                                       stats requests
#
# A crash or broken invariant is saved as native/fuzz/crashes/crash-* (and the
# script exits non-zero). After fixing it, copy the file into
# native/fuzz/corpus/TARGET/ so `make -C native test` replays it from then on.
# FUZZ_MERGE=1 also merges inputs that reach new coverage into the committed
# corpus. FUZZ_JOBS=N runs N fuzzing processes (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-}
secs=${2:-60}
# The sources each target links, as native/Makefile lists them; control's streams are longer than frames.
case "$target" in
flow) sources=SRCS max_len=4096 ;;
control) sources="PL_SRCS SRCS" max_len=16384 ;;
*) echo "usage: scripts/fuzz.sh flow|control [SECONDS]" >&2; exit 2 ;;
esac
srcs=()
for v in $sources; do
	for f in $(make -s --no-print-directory -C native print-$v); do srcs+=("native/$f"); done
done
jobs=${FUZZ_JOBS:-1}
build=native/build/fuzz
crashes=native/fuzz/crashes

# libFuzzer ships with clang (Debian: clang pulls in libclang-rt-*-dev).
probe() {
	echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
		>"$build/probe.c"
	clang -fsanitize=fuzzer "$build/probe.c" -o "$build/probe" 2>/dev/null
}
mkdir -p "$build" "$crashes"
if ! command -v clang >/dev/null || ! probe; then
	echo "fuzz $target: installing clang (libFuzzer)" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang >/dev/null
	probe || { echo "fuzz $target: clang cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi

clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Inative -o "$build/fuzz_$target" "native/fuzz/fuzz_$target.c" "${srcs[@]}" -lpthread

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "native/fuzz/corpus/$target" "$work/corpus"
before=$(ls "$work/corpus" | wc -l)

args=(-max_total_time="$secs" -timeout=5 -max_len="$max_len" -print_final_stats=1
	-artifact_prefix="$crashes/")
if [ "$jobs" -gt 1 ]; then
	# -fork keeps going after a crash and still saves each one.
	args+=(-fork="$jobs" -ignore_crashes=1)
fi
# The full log is kept; the terminal gets it without progress lines and the
# recommended-dictionary dump.
set +e
ASAN_OPTIONS=abort_on_error=1 \
	"$build/fuzz_$target" "${args[@]}" "$work/corpus" 2>&1 | tee "$build/last-run-$target.log" |
	grep -v -e '^#[0-9]' -e '^"' -e 'dictionary. ######'
status=${PIPESTATUS[0]}
set -e

echo "fuzz $target: corpus $before -> $(ls "$work/corpus" | wc -l) inputs"
if [ "${FUZZ_MERGE:-0}" = 1 ]; then
	"$build/fuzz_$target" -merge=1 "native/fuzz/corpus/$target" "$work/corpus" 2>&1 | tail -1
fi
found=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
	echo "fuzz $target: $found failing input(s) in $crashes (exit $status)" >&2
	exit 1
fi
echo "fuzz $target: no failure in ${secs}s"
