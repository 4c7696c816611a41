#!/bin/bash
# make fuzz: build every harness of tests/fuzz with clang's libFuzzer, ASan and
# UBSan, run each for FUZZ_SECONDS (default 60) from its seed corpus and
# regressions, and print its runs, coverage and crashes. A crash fails make
# fuzz; its input is kept in tests/fuzz/out/crashes/ (fix the decoder, then
# move the input to tests/fuzz/regressions/<harness>/, which make check replays).
# FUZZ_HARNESSES picks some harnesses; FUZZ_CC another clang.
set -eu -o pipefail

FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_HARNESSES=${FUZZ_HARNESSES:-image_meta process signals fds maps thread seccomp image}
src=${top_srcdir:?}
out=${top_builddir:?}/tests/fuzz/out
# The code under test: the JSON codec and the image reader; the tables of
# parts and descriptor kinds (image/parts.c, image/fd_kinds.c) name capture
# and restore functions, so backend/ and restore/ are built too.
SOURCES="$(cd "$src" && echo image/*.c backend/*.c restore/*.c) tests/fuzz/harness.c tests/fuzz/parts.c"
CFLAGS="-std=gnu11 -g -O1 -D_GNU_SOURCE -I$src ${JANSSON_CFLAGS:-}
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"

die() {
	echo "make fuzz: $*" >&2
	exit 1
}

command -v "$FUZZ_CC" >/dev/null ||
	die "$FUZZ_CC not found: make fuzz needs clang with libFuzzer (apt-get install clang libclang-rt-dev)"
mkdir -p "$out/obj" "$out/crashes"
echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' >"$out/probe.c"
"$FUZZ_CC" -fsanitize=fuzzer "$out/probe.c" -o "$out/probe" 2>/dev/null ||
	die "$FUZZ_CC cannot link libFuzzer: install clang's runtime (apt-get install libclang-rt-dev)"

objects=
for f in $SOURCES; do
	o=$out/obj/$(echo "${f%.c}" | tr / _).o   # by path: stems repeat across directories
	# shellcheck disable=SC2086  # CFLAGS is a list of flags
	"$FUZZ_CC" $CFLAGS -fsanitize=fuzzer-no-link -c "$src/$f" -o "$o"
	objects+=" $o"
done
for h in $FUZZ_HARNESSES; do
	# shellcheck disable=SC2086
	"$FUZZ_CC" $CFLAGS -fsanitize=fuzzer "$src/tests/fuzz/fuzz_$h.c" $objects \
		${JANSSON_LIBS:--ljansson} ${LIBELF_LIBS:--lelf} -lpthread -o "$out/fuzz_$h"
done

# last_stat VALUE LOG: the last figure libFuzzer printed for it ("cov", "ft", ...).
last_stat() {
	grep -o "$1: [0-9]*" "$2" | tail -n 1 | awk '{ print $2 }'
}

failed=
for h in $FUZZ_HARNESSES; do
	log=$out/$h.log
	dirs=("$out/corpus/$h" "$src/tests/fuzz/corpus/$h")
	[ ! -d "$src/tests/fuzz/regressions/$h" ] || dirs+=("$src/tests/fuzz/regressions/$h")
	mkdir -p "$out/corpus/$h"
	rc=0
	"$out/fuzz_$h" -max_total_time="$FUZZ_SECONDS" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$h-" "${dirs[@]}" >"$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	printf 'fuzz %-10s %8s runs in %ss, cov %s, ft %s, corpus %s inputs: %s\n' "$h" "${runs:-?}" \
		"$FUZZ_SECONDS" "$(last_stat cov "$log")" "$(last_stat ft "$log")" "$(last_stat corp "$log")" \
		"$([ "$rc" = 0 ] && echo "no crash" || echo "CRASH (exit $rc), see $log")"
	[ "$rc" = 0 ] || failed+=" $h"
done
[ -z "$failed" ] || die "crashes in:$failed; inputs in $out/crashes/"
