#!/bin/bash
# restore_memory_lock_caller: a restore for a caller other than root locks no
# more memory than the process could lock itself (RLIMIT_MEMLOCK, without
# CAP_IPC_LOCK). alice's process with 8 pages mlocked under a limit of 16
# comes back to her locked ("lo", VmLck); one that lowered its limit to 4
# pages after locking 8, or to 0 after mlockall(MCL_FUTURE), is refused to
# her by name, nothing left running, the image kept, and root restores both.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=users_lib.sh
. "$(dirname "$0")/users_lib.sh"

LOCKALL=$TARGETS/restore_memory_lockall
ps_setup "$REAPER" "$LOCKALL"
us_setup
alice= uid=   # set by us_alice_mount
us_alice_mount

# checkpoint_alice NAME ARGS...: her restore_memory_lockall, checked before
# the checkpoint too; sets pid, res and img (readable by her).
checkpoint_alice() {
	local name=$1
	shift
	res=$PS_TMP/alice/$name.results
	img=$PS_TMP/img-$name
	us_start "$alice" "$name" "$LOCKALL" "$res" "$@"
	pid=$PS_TARGET
	rs_verify "$pid" "$res"
	rs_checkpoint "$pid" "$img"
	chmod -R a+rX "$img"
}

# Within her limit: 8 pages locked, RLIMIT_MEMLOCK 16 pages.
checkpoint_alice within mlock 8 16
us_restore_ok "$alice" "$img" within "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"

# Beyond it: 8 pages locked, then the limit lowered to 4 pages.
checkpoint_alice beyond mlock 8 4
us_restore "$alice" "$img" beyond
rs_assert_refused "$pid" "$img" beyond \
	"locked memory (mlock): 32768 bytes, more than its RLIMIT_MEMLOCK of 16384: uid $uid may not lock them without CAP_IPC_LOCK" "$alice"
rs_restore_ok "$img" root-beyond "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"

# mlockall(MCL_FUTURE), then RLIMIT_MEMLOCK 0: no new mapping can be made.
checkpoint_alice future0 future0
us_restore "$alice" "$img" future0
rs_assert_refused "$pid" "$img" future0 \
	"the process locks its future mappings (mlockall MCL_FUTURE) with an RLIMIT_MEMLOCK of 0: uid $uid may not, without CAP_IPC_LOCK" "$alice"
rs_restore_ok "$img" root-future0 "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"
