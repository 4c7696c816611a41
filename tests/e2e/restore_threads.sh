#!/bin/bash
# restore_threads: processes of 2, 16 and 100 threads, each thread counting in
# its own slot and adding every step to a shared atomic total, are restored
# with every thread: all alive, with their tids, still advancing from at least
# their counts in the image, and the total still exactly the sum of the counts
# (no step of any thread lost or done twice). RS_THREADS_NS="2 16 100" picks N.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=threads_lib.sh
. "$(dirname "$0")/threads_lib.sh"

rs_setup "$RS_THREADS"

for n in ${RS_THREADS_NS:-2 16 100}; do
	res=$PS_TMP/threads$n.results
	img=$PS_TMP/img$n
	ps_start "threads$n" "$RS_THREADS" "$res" "$n"
	pid=$PS_TARGET
	counts=$(ps_field counts)
	stride=$(ps_field stride)
	total=$(ps_field total)
	th_wait_tasks "$pid" "$n"
	sleep 0.3
	# The same check before the checkpoint: a FAIL after the restore is
	# then the restore's doing, not the target's.
	rs_verify "$pid" "$res"
	before=$(th_tasks "$pid")

	th_checkpoint "$pid" "$img"
	ps_assert_eq "$before" "$(ps_py tasks "$img")" "threads (tid and name) in registers/ of the image"
	read -r -a saved <<<"$(ps_py u64s "$img" "$counts" "$stride" "$n")"
	saved_total=$(ps_py u64s "$img" "$total" 8 1)
	sum=$(th_sum "${saved[@]}")
	# Each thread stores its count, then adds to the total: the checkpoint
	# may catch up to one step per thread between the two.
	ahead=$((sum - saved_total))
	[ "$ahead" -ge 0 ] || ps_fail "in the image the total $saved_total is ahead of the counts ($sum)"
	[ "$ahead" -le "$n" ] ||
		ps_fail "in the image the counts add up to $sum and the total is $saved_total: not 0..$n steps apart"
	for i in "${!saved[@]}"; do
		[ "${saved[$i]}" -gt 0 ] || ps_fail "thread $i count is ${saved[$i]} in the image"
	done
	ps_pass "image: $n threads, counts add up to $sum, total $saved_total ($ahead steps in flight)"

	rs_restore_ok "$img" "threads$n-$pid" "$pid"
	th_assert_tasks "$pid" "$before" "after the restore"
	ps_pass "all $n threads back with their tids and names"
	rs_verify "$pid" "$res"
	read -r -a now <<<"$(ps_py u64s "pid:$pid" "$counts" "$stride" "$n")"
	for i in "${!saved[@]}"; do
		[ "${now[$i]}" -gt "${saved[$i]}" ] ||
			ps_fail "thread $i: count ${now[$i]} after the restore, ${saved[$i]} in the image"
	done
	ps_pass "every thread counted on from its count in the image (sum $sum -> $(th_sum "${now[@]}"))"
	rs_kill "$pid"
done
