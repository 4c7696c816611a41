#!/bin/bash
# restore_tar: the same counter image restored by tar (tar -c | tar -x into a new
# directory) and by rsync -a (temporary files renamed into place) comes back each time.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

command -v rsync >/dev/null || ps_skip "rsync missing: apt-get install rsync"
rs_setup "$RS_COUNTER"
rs_counter_checkpoint "$PS_TMP/img"

for how in tar rsync; do
	rs_counter_trim "$log" "$saved"   # the log as at the checkpoint, each time
	rs_restore_ok "$PS_TMP/img" "$how-$pid" "$pid" "$how"
	sleep 0.3
	rs_verify "$pid" "$res"
	count=$(rs_ok_count)
	[ "$count" -gt "$saved" ] || ps_fail "$how: the count $count did not go on from $saved"
	rs_counter_still_counting "$pid" "$log"
	ps_pass "$how: counted on from $saved to $count"
	rs_kill "$pid"
done
