#!/bin/bash
# threads: every thread of an 8-thread process is frozen at one instant and
# saved in registers/<tid>.json; its counters stand still for the whole hold.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ps_setup "$THREADS"
MNT=$PS_TMP/mnt
ps_mount "$MNT" hold=1
ps_start threads "$THREADS" 8
pid=$PS_TARGET
IFS=, read -r -a tids <<<"$(ps_field tids)"
IFS=, read -r -a addrs <<<"$(ps_field addrs)"
ps_assert_eq 8 "${#tids[@]}" "number of announced tids"

exec 9<"$MNT/$pid/image.json"
ps_assert_frozen "$pid" "$PS_DAEMON" "while image.json is open"
ps_assert_eq 8 "$(ps_task_states "$pid" | wc -l)" "number of threads in /proc/$pid/task"
ps_pass "all 8 threads in tracing stop: $(ps_task_states "$pid" | tr '\n' ' ')"

want=$(printf '%s.json\n' "${tids[@]}" | sort)
got=$(find "$MNT/$pid/registers" -mindepth 1 -printf '%f\n' | sort)
ps_assert_eq "$(echo "$want" | tr '\n' ' ')" "$(echo "$got" | tr '\n' ' ')" "files in registers/"
for i in $(seq 1 7); do
	ps_py hasstr "$MNT/$pid/registers/${tids[$i]}.json" "worker$i" ||
		ps_fail "registers/${tids[$i]}.json does not name its thread worker$i"
done
ps_pass "registers/ holds one file per thread, named by tid, with the thread's name"

mkdir "$PS_TMP/first" "$PS_TMP/second"
cp -r "$MNT/$pid" "$PS_TMP/first/"
sleep 2
cp -r "$MNT/$pid" "$PS_TMP/second/"
ps_assert_frozen "$pid" "$PS_DAEMON" "2 seconds later, the handle still open"
diff -r "$PS_TMP/first" "$PS_TMP/second" || ps_fail "two copies 2 s apart under one hold differ"
held=()
for i in "${!addrs[@]}"; do
	held[i]=$(ps_py u64 "$PS_TMP/first/$pid" "${addrs[$i]}")
	ps_assert_eq "${held[$i]}" "$(ps_py u64 "$PS_TMP/second/$pid" "${addrs[$i]}")" "thread $i counter in the second copy"
	[ "${held[$i]}" -gt 0 ] || ps_fail "thread $i counter is 0 in the snapshot"
done
ps_pass "two copies 2 s apart are identical; counters ${held[*]}"

exec 9<&-
ps_wait_free "$pid" "after the handle was closed and hold=1 passed"
sleep 0.2
for i in "${!addrs[@]}"; do
	now=$(ps_py u64 "$MNT/$pid" "${addrs[$i]}")
	[ "$now" -gt "${held[$i]}" ] || ps_fail "thread $i counter did not move on after the release: $now"
done
ps_pass "after the release every thread's counter moved on"
