#!/bin/bash
# restore_counter: a counter checkpointed and restored with cp -r comes back with
# its pid and counts on from the checkpoint, appending to its log with no gap or repeat.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_COUNTER"
rs_counter_checkpoint "$PS_TMP/img"
rs_counter_trim "$log" "$saved"
ps_log "the counter was $saved at the checkpoint; the log ends at $(tail -n 1 "$log")"

rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
sleep 0.3
rs_verify "$pid" "$res"
count=$(rs_ok_count)
[ "$count" -gt "$saved" ] || ps_fail "the count $count did not go on from $saved"
ps_pass "counted on from $saved to $count"
rs_counter_still_counting "$pid" "$log"
ps_pass "still counting after the verification"
rs_kill "$pid"
ps_pass "killed the restored $pid: its pid is free"
