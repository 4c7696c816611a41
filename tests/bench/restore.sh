#!/bin/bash
# bench/restore: time the restore of a process with 1 GiB of touched memory
# from an image on tmpfs, against cp of a 1 GiB file from the same tmpfs.
# A: cp -r of the image into restore/ (spool on disk, procsnap's default)
# until cp returns with the process running. R: the restore step alone:
# every file but image.json staged first (its memory, filled early, already
# in place), then the timed cp of image.json, whose close runs the restore. Baselines: B, cp of the file tmpfs to tmpfs;
# S, cp of the file to the spool's file system (the same file systems as
# the restore's copy). Interleaved in one run, like bench/snapshot.sh.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../e2e/restore_lib.sh
. "$(dirname "$0")/../e2e/restore_lib.sh"

RUNS=3
MIB=1024

ps_setup "$BIGMAP" "$REAPER"
for d in src dst; do
	mkdir "$PS_TMP/$d"
	mount -t tmpfs -o size=$((MIB * 2 + 512))m "procsnap-bench-$d" "$PS_TMP/$d"
	PS_MOUNTS+=("$PS_TMP/$d")   # unmounted by the cleanup
done
mkdir "$PS_TMP/spool" "$PS_TMP/disk"
SPOOL_FS=$(findmnt -n -o FSTYPE -T "$PS_TMP/spool")
[ "$SPOOL_FS" != tmpfs ] ||
	ps_log "note: $PS_TMP is on tmpfs, so is the spool; set TMPDIR to a disk directory"
MNT=$PS_TMP/mnt
ps_mount "$MNT" "spool=$PS_TMP/spool"
yes procsnap | head -c $((MIB << 20)) >"$PS_TMP/src/file" || true

now() { echo "$EPOCHREALTIME"; }
# Freed memory goes back to the VM's host after ~2 s and is slow to get
# again: every timed step starts after a pause, so that each finds memory in
# the same state instead of a baseline reusing what the last restore freed.
settle() { sleep 3; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

baseline() { # DIR ARRAY: appends the time of one cp of the file into DIR
	local t0 t1
	settle
	t0=$(now)
	cp "$PS_TMP/src/file" "$1/file"
	[ "$1" = "$PS_TMP/dst" ] || sync "$1/file"
	t1=$(now)
	rm -f "$1/file"
	eval "$2+=(\"$(secs "$t0" "$t1")\")"
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

A=() R=() B=() S=()
for r in $(seq "$RUNS"); do
	# A: the restore as a user sees it: cp returns with the process running.
	checkpoint_bigmap
	settle
	t0=$(now)
	cp -r "$PS_TMP/src/image" "$MNT/restore/$pid"
	t1=$(now)
	A+=("$(secs "$t0" "$t1")")
	finish_restore "$r"
	baseline "$PS_TMP/dst" B

	# R: everything staged but image.json; its close runs the restore.
	checkpoint_bigmap
	mkdir "$MNT/restore/$pid"
	for f in "$PS_TMP/src/image"/*; do
		[ "${f##*/}" = image.json ] || cp -r "$f" "$MNT/restore/$pid/"
	done
	settle
	t0=$(now)
	cp "$PS_TMP/src/image/image.json" "$MNT/restore/$pid/"
	t1=$(now)
	R+=("$(secs "$t0" "$t1")")
	finish_restore "$r"
	baseline "$PS_TMP/dst" B
	baseline "$PS_TMP/disk" S
	printf 'run %d: cp -r into restore/ %s s | restore step alone %s s | tmpfs cp %s s, %s s | cp to %s (+sync) %s s\n' \
		"$r" "${A[-1]}" "${R[-1]}" "${B[-2]}" "${B[-1]}" "$SPOOL_FS" "${S[-1]}"
done

ma=$(median "${A[@]}")
mr=$(median "${R[@]}")
mb=$(median "${B[@]}")
ms=$(median "${S[@]}")
printf 'median: cp -r into restore/ %s s, restore step alone %s s, tmpfs cp %s s, cp to %s %s s\n' \
	"$ma" "$mr" "$mb" "$SPOOL_FS" "$ms"
printf 'ratios: cp -r into restore/ / tmpfs cp %s, restore step / tmpfs cp %s, cp -r into restore/ / cp to %s %s\n' \
	"$(ratio "$ma" "$mb")" "$(ratio "$mr" "$mb")" "$SPOOL_FS" "$(ratio "$ma" "$ms")"
