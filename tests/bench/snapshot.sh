#!/bin/bash
# bench/snapshot: time cp -r of a process with 1 GiB of touched memory out of
# procsnap into tmpfs, against cp of a 1 GiB file from tmpfs to tmpfs.
# Run by make bench (root), never by make check. The two are interleaved,
# A B A B A B, in one run: the VM hands freed memory back to its host after
# about 2 s, so allocation costs drift, and only a same-run ratio means much.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"

RUNS=3
MIB=1024

ps_setup "$BIGMAP"
for d in src dst; do
	mkdir "$PS_TMP/$d"
	mount -t tmpfs -o size=$((MIB * 2 + 512))m "procsnap-bench-$d" "$PS_TMP/$d"
	PS_MOUNTS+=("$PS_TMP/$d")   # unmounted by the cleanup
done
MNT=$PS_TMP/mnt
ps_mount "$MNT"   # default hold: cp -r sees one snapshot
ps_start bigmap "$BIGMAP" "$MIB" all
pid=$PS_TARGET
yes procsnap | head -c $((MIB << 20)) >"$PS_TMP/src/file" || true
ps_assert_eq $((MIB << 20)) "$(stat -c %s "$PS_TMP/src/file")" "size of the baseline file"

now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mibs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

A=() B=()
for r in $(seq "$RUNS"); do
	# A: a fresh snapshot each time (the last one released), copied out whole.
	ps_wait_free "$pid" "before run $r"
	t0=$(now)
	cp -r "$MNT/$pid" "$PS_TMP/dst/image"
	t1=$(now)
	bytes=$(du -sb "$PS_TMP/dst/image" | cut -f1)
	rm -rf "$PS_TMP/dst/image"
	A+=("$(secs "$t0" "$t1")")

	# B: the baseline, 1 GiB tmpfs to tmpfs.
	t0=$(now)
	cp "$PS_TMP/src/file" "$PS_TMP/dst/file"
	t1=$(now)
	rm -f "$PS_TMP/dst/file"
	B+=("$(secs "$t0" "$t1")")

	printf 'run %d: procsnap cp -r %s s (%s MiB, %s MiB/s) | tmpfs cp %s s (%s MiB/s)\n' "$r" \
		"${A[-1]}" $((bytes >> 20)) "$(mibs "$bytes" "${A[-1]}")" \
		"${B[-1]}" "$(mibs $((MIB << 20)) "${B[-1]}")"
done

ma=$(median "${A[@]}")
mb=$(median "${B[@]}")
printf 'median: procsnap cp -r %s s, tmpfs cp %s s, ratio procsnap/cp %s\n' "$ma" "$mb" \
	"$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.2f", a / b }')"
