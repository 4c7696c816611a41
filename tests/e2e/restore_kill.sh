#!/bin/bash
# restore_kill: kill -9 of procsnap at random instants of restores
# of a victim (16 MiB, four threads watching their own state) leaves no
# half-made process and no nursery or stub, and the staged image, after a
# remount on the same spool, says what became of it and restores (a touch,
# or the copy again when it was cut short): the process then runs unharmed.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

VICTIM=$top_builddir/tests/targets/victim
TRIALS=${PS_KILL_TRIALS:-50}
rs_setup "$VICTIM"
SPOOL=$PS_TMP/spool
R=$MNT/restore
results=$PS_TMP/victim.results
: >"$results"
ps_start victim "$VICTIM" "$results" 16
pid=$(ps_field pid)
progress=$(ps_field progress)
img=$PS_TMP/img
rs_checkpoint "$pid" "$img"
procsnap_exe=$(realpath "$PROCSNAP")

# Processes running procsnap's binary that this test's dead daemons left:
# a nursery or a stub, orphaned to this test's reaper (other tests' daemons
# may run meanwhile, under reapers of their own).
leftovers() {
	local p exe ppid
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		[ "$exe" = "$procsnap_exe" ] || continue
		ppid=$(awk '/^PPid:/ { print $2 }' "$p/status" 2>/dev/null) || continue
		[ "$ppid" = "$PROCSNAP_REAPER" ] || continue
		printf ' %s' "${p#/proc/}"
	done
}

no_leftovers() { [ -z "$(leftovers)" ]; }

# For a failure's message: what each leftover is doing.
describe_leftovers() {
	local p
	for p in $(leftovers); do
		printf '%s: %s, wchan %s, threads %s, tracer %s; ' "$p" \
			"$(awk '/^State:/ { print $2 }' "/proc/$p/status")" "$(cat "/proc/$p/wchan")" \
			"$(ls "/proc/$p/task" | tr '\n' ' ')" "$(ps_tracer "$p")"
	done
}

# The pid is free, or held by a process that is not dying (a killed stub
# is a zombie until its parent reaps it).
settled() { ! rs_exists "$pid" || ps_alive "$pid"; }

# What the victim reports went wrong (a usleep's EINTR included).
failures() {
	grep '^FAIL\|^EINTR' "$results" || true
}

# The restored victim: alive, let go, on with its work, nothing changed.
restored_whole() { # WHEN
	local before after
	ps_wait_free "$pid" "$1"
	before=$(ps_py live-u64 "$pid" "$progress")
	sleep 0.1
	after=$(ps_py live-u64 "$pid" "$progress")
	[ "$after" -gt "$before" ] || ps_fail "the restored victim is stuck $1 ($(ps_describe "$pid"))"
	[ -z "$(failures)" ] || ps_fail "the restored victim reports $1: $(failures | head -n3)"
}

# How long a whole restore (the copy, then the restore step) takes here:
# the kills fall anywhere in it, and a little after.
t0=$EPOCHREALTIME
rs_restore_ok "$img" t0 "$pid"
span_ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 + 20 }')
rs_kill "$pid"
rm -rf "$R/t0"
ps_log "a restore takes $((span_ms - 20)) ms: procsnap is killed 0-$span_ms ms into each"

made=0 retried=0

# After procsnap died during the restore of restore/NAME: nothing half-made
# is left; mounted again, status says what became of it, and the image is
# restored (again, when it was not) whole.
judge() { # NAME WHEN
	local name=$1 when=$2 status
	{ wait "$PS_DAEMON"; } 2>/dev/null || true
	ps_unmount "$MNT"
	for ((w = 0; w < 50; w++)); do
		no_leftovers && break
		sleep 0.1
	done
	no_leftovers || ps_fail "a nursery or stub outlived procsnap's death $when: $(describe_leftovers)"
	ps_wait_for 5 "pid $pid to be free or whole $when" settled
	if rs_exists "$pid"; then
		PS_PIDS+=("$pid")
		restored_whole "when procsnap was killed as its restore ended $when"
	fi
	ps_mount "$MNT" "spool=$SPOOL"
	status=$(rs_status "$name")
	if rs_exists "$pid"; then
		ps_assert_eq "restored $pid" "$status" "status after the remount $when"
		made=$((made + 1))
	else
		case $status in
		incomplete:*) cp -r "$img/." "$R/$name/" 2>/dev/null || true ;;
		*) touch "$R/$name/image.json" 2>/dev/null || true ;;
		esac
		ps_assert_eq "restored $pid" "$(rs_status "$name")" \
			"status after retrying an image whose restore procsnap's death cut short ('$status', $when)"
		PS_PIDS+=("$pid")
		retried=$((retried + 1))
	fi
	restored_whole "after the restore $when"
	[ $(((made + retried) % 10)) != 0 ] || rs_verify "$pid" "$results"
	rs_kill "$pid"
	rm -rf "${R:?}/$name"
}

# 1. At named points of the restore step: in injected syscalls into the
#    stub (one at a time, and a queue of them running: batch-run),
#    once it is built, once it is let go.
for point in remote-set:1 remote-entry:40 remote-exit:150 batch-run:1 restore-built restore-detached; do
	ps_unmount "$MNT"
	# The spool is one procsnap's until it exits, which under ASan's leak
	# check at exit is a while after the unmount.
	{ wait "$PS_DAEMON"; } 2>/dev/null || true
	export PROCSNAP_DIE_AT=$point
	ps_mount "$MNT" "spool=$SPOOL"
	unset PROCSNAP_DIE_AT
	if cp -r "$img" "$R/p" 2>/dev/null; then
		ps_fail "cp -r into restore/ succeeded although procsnap was to die at $point"
	fi
	judge p "at $point"
done
ps_pass "procsnap killed at named points of a restore: nothing half-made, every image restored"

# 2. At random instants.
for ((i = 1; i <= TRIALS; i++)); do
	cp -r "$img" "$R/t$i" 2>/dev/null &
	copier=$!
	sleep "$(awk -v ms=$((RANDOM % span_ms)) 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -KILL "$PS_DAEMON"
	wait "$copier" 2>/dev/null || true
	judge "t$i" "(trial $i)"
done
ps_pass "$TRIALS kills of procsnap during restores: $made restores had ended, $retried were retried after a remount; no half-made process, every image restored"
