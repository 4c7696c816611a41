#!/bin/bash
# restore_threads_stress: the 16-thread counting process is checkpointed,
# killed and restored 20 times in a row (RS_STRESS_ROUNDS), each time from the
# previous restore. Every round: the image is a new snapshot (the process
# frozen by our procsnap), every thread's count in it at least the last
# round's, the total and the counts at most one step per thread apart; after
# the restore the same tids and names, and the process's own check (alive,
# advancing, counts never back, total == sum of counts) passes (see TH_HOLD
# in threads_lib.sh).
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=threads_lib.sh
. "$(dirname "$0")/threads_lib.sh"

th_setup "$RS_THREADS"
n=16
rounds=${RS_STRESS_ROUNDS:-20}
res=$PS_TMP/stress.results
ps_start stress "$RS_THREADS" "$res" "$n"
pid=$PS_TARGET
counts=$(ps_field counts)
stride=$(ps_field stride)
total=$(ps_field total)
th_wait_tasks "$pid" "$n"
tasks=$(th_tasks "$pid")
prev=()
prev_taken=
in_flight=0
t0=$SECONDS

for round in $(seq 1 "$rounds"); do
	img=$PS_TMP/img$round
	sleep 0.1
	th_checkpoint "$pid" "$img"
	taken=$(ps_py get "$img/image.json" taken)
	[ "$taken" != "$prev_taken" ] || ps_fail "round $round: the image was taken at $taken, as the last one"
	prev_taken=$taken
	[ "$(ps_py tasks "$img")" = "$tasks" ] || ps_fail "round $round: the image's threads differ: $(ps_py tasks "$img" | tr '\n' ';')"
	read -r -a saved <<<"$(ps_py u64s "$img" "$counts" "$stride" "$n")"
	saved_total=$(ps_py u64s "$img" "$total" 8 1)
	for i in "${!saved[@]}"; do
		[ "${saved[$i]}" -gt "${prev[$i]:-0}" ] ||
			ps_fail "round $round: thread $i count ${saved[$i]} in the image, ${prev[$i]:-0} in the last one"
	done
	prev=("${saved[@]}")
	ahead=$(($(th_sum "${saved[@]}") - saved_total))
	if [ "$ahead" -lt 0 ] || [ "$ahead" -gt "$n" ]; then
		ps_fail "round $round: the counts add up to $((saved_total + ahead)), the total is $saved_total"
	fi
	in_flight=$((in_flight + ahead))

	rs_restore_ok "$img" "stress$round-$pid" "$pid" >/dev/null
	th_assert_tasks "$pid" "$tasks" "round $round, after the restore"
	rs_verify "$pid" "$res" >/dev/null
	ps_log "round $round: image total $saved_total ($ahead steps in flight), restored: $RS_RESULT"
	[ "$round" -lt 2 ] || rm -rf "$PS_TMP/img$((round - 1))"
done
# Statistically certain (about half the threads are mid-step at any time):
# if no checkpoint ever caught a step half done, the test tests nothing.
[ "$in_flight" -gt 0 ] || ps_fail "no checkpoint caught a thread between its count and the total"
ps_pass "$rounds checkpoints and restores in a row in $((SECONDS - t0)) s, $in_flight steps caught half done, all finished once"
rs_kill "$pid"
