#!/usr/bin/env bash
# Fuzzes flow-key extraction (native/fuzz/fuzz_flow.c) with libFuzzer, ASan and
# UBSan for SECONDS (default 60), starting from a copy of the committed corpus.
#
#   scripts/fuzz-flow.sh [SECONDS]
#
# A crash or broken invariant is saved as native/fuzz/crashes/crash-* (and the
# script exits non-zero). After fixing it, copy the file into
# native/fuzz/corpus/ so `make -C native test` replays it from then on.
# FUZZ_MERGE=1 also merges inputs that reach new coverage into the committed
# corpus. FUZZ_JOBS=N runs N fuzzing processes (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
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
	echo "fuzz-flow: installing clang (libFuzzer)" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang >/dev/null
	probe || { echo "fuzz-flow: clang cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi

clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Inative -o "$build/fuzz_flow" native/fuzz/fuzz_flow.c native/flow.c

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r native/fuzz/corpus "$work/corpus"
before=$(ls "$work/corpus" | wc -l)

args=(-max_total_time="$secs" -timeout=5 -max_len=4096 -print_final_stats=1
	-artifact_prefix="$crashes/")
if [ "$jobs" -gt 1 ]; then
	# -fork keeps going after a crash and still saves each one.
	args+=(-fork="$jobs" -ignore_crashes=1)
fi
# The full log is kept; the terminal gets it without progress lines and the
# recommended-dictionary dump.
set +e
ASAN_OPTIONS=abort_on_error=1 \
	"$build/fuzz_flow" "${args[@]}" "$work/corpus" 2>&1 | tee "$build/last-run.log" |
	grep -v -e '^#[0-9]' -e '^"' -e 'dictionary. ######'
status=${PIPESTATUS[0]}
set -e

echo "fuzz-flow: corpus $before -> $(ls "$work/corpus" | wc -l) inputs"
if [ "${FUZZ_MERGE:-0}" = 1 ]; then
	"$build/fuzz_flow" -merge=1 native/fuzz/corpus "$work/corpus" 2>&1 | tail -1
fi
found=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
	echo "fuzz-flow: $found failing input(s) in $crashes (exit $status)" >&2
	exit 1
fi
echo "fuzz-flow: no failure in ${secs}s"
