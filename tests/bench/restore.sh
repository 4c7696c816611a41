#!/bin/bash
# bench/restore: time the restore of a process with 1 GiB of touched memory
# from an image on tmpfs, against cp of a 1 GiB file tmpfs to tmpfs.
# A: cp -r of the image into restore/ (spool on tmpfs) until cp returns with
# the process running. R: the restore step alone: every file but image.json
# staged first, then the timed cp of image.json, whose close runs the
# restore. D: two cps of the file back to back, the floor of a restore that
# keeps the staged image (see double). Interleaved in one run, like
# bench/snapshot.sh.
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

# A restore writes every byte twice into fresh memory, the spool's copy and
# the process's own pages; on a VM that hands freed memory back to its host,
# fresh memory is what costs. D: two back-to-back cps of the file, the floor
# of any restore that keeps the staged image.
double() { # appends one time of two tmpfs-to-tmpfs cps to D
	local t0 t1
	t0=$(now)
	cp "$PS_TMP/src/file" "$PS_TMP/dst/file"
	cp "$PS_TMP/src/file" "$PS_TMP/dst/file2"
	t1=$(now)
	rm -f "$PS_TMP/dst/file" "$PS_TMP/dst/file2"
	D+=("$(secs "$t0" "$t1")")
}

baseline() { # appends one tmpfs-to-tmpfs cp time to B
	local t0 t1
	t0=$(now)
	cp "$PS_TMP/src/file" "$PS_TMP/dst/file"
	t1=$(now)
	rm -f "$PS_TMP/dst/file"
	B+=("$(secs "$t0" "$t1")")
}

checkpoint_bigmap() { # sets pid; leaves the image in $PS_TMP/src/image
	ps_start bigmap "$BIGMAP" "$MIB" all
	pid=$PS_TARGET
	rs_checkpoint "$pid" "$PS_TMP/src/image"
}

finish_restore() { # RUN
	[ "$(rs_status "$pid")" = "restored $pid" ] || ps_fail "restore $1: $(rs_status "$pid")"
	rs_kill "$pid"
	rm -rf "$MNT/restore/$pid" "$PS_TMP/src/image"
}

A=() R=() B=() D=()
for r in $(seq "$RUNS"); do
	# A: the restore as a user sees it: cp returns with the process running.
	checkpoint_bigmap
	t0=$(now)
	cp -r "$PS_TMP/src/image" "$MNT/restore/$pid"
	t1=$(now)
	A+=("$(secs "$t0" "$t1")")
	finish_restore "$r"
	baseline

	# R: everything staged but image.json; its close runs the restore.
	checkpoint_bigmap
	mkdir "$MNT/restore/$pid"
	for f in "$PS_TMP/src/image"/*; do
		[ "${f##*/}" = image.json ] || cp -r "$f" "$MNT/restore/$pid/"
	done
	t0=$(now)
	cp "$PS_TMP/src/image/image.json" "$MNT/restore/$pid/"
	t1=$(now)
	R+=("$(secs "$t0" "$t1")")
	finish_restore "$r"
	baseline
	double
	printf 'run %d: cp -r into restore/ %s s | restore step alone %s s | tmpfs cp %s s, %s s | two cps %s s\n' \
		"$r" "${A[-1]}" "${R[-1]}" "${B[-2]}" "${B[-1]}" "${D[-1]}"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ma=$(median "${A[@]}")
mr=$(median "${R[@]}")
mb=$(median "${B[@]}")
md=$(median "${D[@]}")
printf 'median: cp -r into restore/ %s s, restore step alone %s s, tmpfs cp %s s\n' "$ma" "$mr" "$mb"
printf 'ratios: cp -r into restore/ / cp %s, restore step / cp %s\n' "$(ratio "$ma" "$mb")" \
	"$(ratio "$mr" "$mb")"
printf 'two cps %s s (%s x one cp): cp -r into restore/ / two cps %s\n' "$md" "$(ratio "$md" "$mb")" \
	"$(ratio "$ma" "$md")"
