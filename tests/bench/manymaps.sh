#!/bin/bash
# bench/manymaps: the cost per mapping. A process with N one-page mappings of
# mixed kinds (tests/targets/manymaps, default 20000) copied out (cp -r of its
# snapshot into tmpfs) and restored (cp -r of the image into restore/, until
# cp returns with the process running), each against the same tree copied
# between plain directories: B, the saved image cp -r tmpfs to tmpfs (as many
# files, as many bytes); S, the image cp -r into the spool's file system.
# Interleaved in one run, each timed step after a pause, like bench/restore.sh.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../e2e/restore_lib.sh
. "$(dirname "$0")/../e2e/restore_lib.sh"

RUNS=${RUNS:-3}
N=${MANYMAPS_N:-20000}
MANYMAPS=$TARGETS/manymaps

ps_setup "$MANYMAPS" "$REAPER"
for d in src dst; do
	mkdir "$PS_TMP/$d"
	mount -t tmpfs -o size=1g "procsnap-bench-$d" "$PS_TMP/$d"
	PS_MOUNTS+=("$PS_TMP/$d")   # unmounted by the cleanup
done
mkdir "$PS_TMP/spool" "$PS_TMP/disk" "$PS_TMP/files"
SPOOL_FS=$(findmnt -n -o FSTYPE -T "$PS_TMP/spool")
MNT=$PS_TMP/mnt
ps_mount "$MNT" "spool=$PS_TMP/spool"
res=$PS_TMP/manymaps.results

now() { echo "$EPOCHREALTIME"; }
settle() { sleep 3; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

timed_cp() { # FROM TO ARRAY: appends the time of cp -r FROM TO (+ sync off tmpfs)
	local t0 t1
	settle
	t0=$(now)
	cp -r "$1" "$2"
	[[ $2 == "$PS_TMP/dst/"* ]] || sync -f "$2"
	t1=$(now)
	rm -rf "$2"
	eval "$3+=(\"$(secs "$t0" "$t1")\")"
}

O=() I=() B=() S=()
for r in $(seq "$RUNS"); do
	# O: cp -r out of a fresh snapshot (the process then killed).
	ps_start manymaps "$MANYMAPS" "$N" "$res" "$PS_TMP/files"
	pid=$PS_TARGET
	settle
	t0=$(now)
	exec 8<"$MNT/$pid/image.json"
	cp -r "$MNT/$pid" "$PS_TMP/src/image"
	t1=$(now)
	O+=("$(secs "$t0" "$t1")")
	kill -KILL "$pid"
	exec 8<&-
	wait "$pid" 2>/dev/null || true
	rs_wait_gone "$pid" "after kill -9 of the checkpointed process"
	files=$(find "$PS_TMP/src/image" -type f | wc -l)
	timed_cp "$PS_TMP/src/image" "$PS_TMP/dst/image" B

	# I: cp -r into restore/ until it returns with the process running.
	settle
	t0=$(now)
	cp -r "$PS_TMP/src/image" "$MNT/restore/$pid"
	t1=$(now)
	I+=("$(secs "$t0" "$t1")")
	[ "$(rs_status "$pid")" = "restored $pid" ] || ps_fail "restore $r: $(rs_status "$pid")"
	PS_PIDS+=("$pid")
	rs_verify "$pid" "$res"
	rs_kill "$pid"
	rm -rf "$MNT/restore/$pid"
	timed_cp "$PS_TMP/src/image" "$PS_TMP/disk/image" S
	rm -rf "$PS_TMP/src/image"
	printf 'run %d: %d mappings, image of %d files | out %s s, in %s s | image cp -r tmpfs %s s, to %s (+sync) %s s\n' \
		"$r" "$N" "$files" "${O[-1]}" "${I[-1]}" "${B[-1]}" "$SPOOL_FS" "${S[-1]}"
done

mo=$(median "${O[@]}")
mi=$(median "${I[@]}")
mb=$(median "${B[@]}")
ms=$(median "${S[@]}")
printf 'median (%d mappings): out %s s, in %s s, image cp -r tmpfs %s s, to %s %s s\n' "$N" "$mo" "$mi" "$mb" "$SPOOL_FS" "$ms"
printf 'ratios: out / image cp -r tmpfs %s, in / image cp -r to %s %s\n' "$(ratio "$mo" "$mb")" "$SPOOL_FS" "$(ratio "$mi" "$ms")"
