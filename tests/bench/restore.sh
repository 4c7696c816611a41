#!/bin/bash
# bench/restore: time the restore of a process with 1 GiB of touched memory
# from an image on tmpfs (cp -r into restore/, spool on tmpfs, until cp
# returns with the process running), against cp of a 1 GiB file tmpfs to
# tmpfs. Interleaved A B A B A B in one run, like bench/snapshot.sh.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../e2e/restore_lib.sh
. "$(dirname "$0")/../e2e/restore_lib.sh"

RUNS=3
MIB=1024

ps_setup "$BIGMAP" "$REAPER"
for d in src dst spool; do
	mkdir "$PS_TMP/$d"
	mount -t tmpfs -o size=$((MIB * 2 + 512))m "procsnap-bench-$d" "$PS_TMP/$d"
	PS_MOUNTS+=("$PS_TMP/$d")   # unmounted by the cleanup
done
MNT=$PS_TMP/mnt
ps_mount "$MNT" "spool=$PS_TMP/spool"
yes procsnap | head -c $((MIB << 20)) >"$PS_TMP/src/file" || true

now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

A=() B=()
for r in $(seq "$RUNS"); do
	ps_start bigmap "$BIGMAP" "$MIB" all
	pid=$PS_TARGET
	rs_checkpoint "$pid" "$PS_TMP/src/image"

	# A: the restore, as a user sees it: cp returns with the process running.
	t0=$(now)
	cp -r "$PS_TMP/src/image" "$MNT/restore/$pid"
	t1=$(now)
	A+=("$(secs "$t0" "$t1")")
	[ "$(rs_status "$pid")" = "restored $pid" ] || ps_fail "restore $r: $(rs_status "$pid")"
	rs_kill "$pid"
	rm -rf "$MNT/restore/$pid" "$PS_TMP/src/image"

	# B: the baseline, 1 GiB tmpfs to tmpfs.
	t0=$(now)
	cp "$PS_TMP/src/file" "$PS_TMP/dst/file"
	t1=$(now)
	rm -f "$PS_TMP/dst/file"
	B+=("$(secs "$t0" "$t1")")
	printf 'run %d: restore (cp -r into restore/) %s s | tmpfs cp %s s\n' "$r" "${A[-1]}" "${B[-1]}"
done

ma=$(median "${A[@]}")
mb=$(median "${B[@]}")
printf 'median: restore %s s, tmpfs cp %s s, ratio restore/cp %s\n' "$ma" "$mb" \
	"$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.2f", a / b }')"
