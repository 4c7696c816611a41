#!/bin/bash
# restore_sysv_shm_user: a user who is not root restores her own process: its
# SysV segment still present is attached again (as her, on an allow_other
# mount); one removed while attached, which would have to be made again with
# its id, is refused by name (setting kernel.shm_next_id is root's).
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=users_lib.sh
. "$(dirname "$0")/users_lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

RS_SYSV=$TARGETS/restore_sysv_shm
ps_setup "$REAPER" "$RS_SYSV"
us_setup
alice= uid=   # set by us_alice_mount
us_alice_mount
live_key=$(printf '0x5d%06x' $(($$ & 0xffffff)))
gone_key=$(printf '0x5c%06x' $(($$ & 0xffffff)))
# The live segments outlive the processes: remove them, then the users.
# us_cleanup takes the test's outcome from $?; set -e must not end the trap.
trap 'rc=$?; set +e; ipcrm -M "$live_key" 2>/dev/null; ipcrm -M "$gone_key" 2>/dev/null
(exit $rc); us_cleanup' EXIT

# checkpoint_as_alice NAME KEY [live]: her target, checkpointed by root and
# killed; the image readable by her. Sets pid.
checkpoint_as_alice() {
	local name=$1
	shift
	ps_start "$name" setpriv --reuid="$(id -u "$alice")" --regid="$(id -g "$alice")" \
		--init-groups -- "$RS_SYSV" "$PS_TMP/alice/$name.results" "$@"
	pid=$PS_TARGET
	# Her process's stdout and stderr: files she may open again at its restore.
	chown "$alice:" "$PS_TMP/$name.out" "$PS_TMP/$name.err"
	rs_checkpoint "$pid" "$PS_TMP/img-$name"
	chmod -R a+rX "$PS_TMP/img-$name"
}

# ---- the segment is still there: attached again as alice ----
checkpoint_as_alice live "$live_key" live
us_as "$alice" cp -r "$PS_TMP/img-live" "$MNT/restore/live" ||
	ps_fail "alice: the restore of her process with a live SysV segment failed: $(us_as "$alice" cat "$MNT/restore/live/status")"
status=$(us_as "$alice" cat "$MNT/restore/live/status")
[ "$status" = "restored $pid" ] || ps_fail "alice: status is '$status', want 'restored $pid'"
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its restore"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = "$(id -u "$alice")" ] ||
	ps_fail "the restored process does not run as alice"
rs_verify "$pid" "$PS_TMP/alice/live.results"
rs_kill "$pid"

# ---- a removed segment must be made again: refused for her ----
checkpoint_as_alice gone "$gone_key"
if us_as "$alice" cp -r "$PS_TMP/img-gone" "$MNT/restore/gone" 2>/dev/null; then
	ps_fail "alice: the restore that needs kernel.shm_next_id succeeded"
fi
status=$(us_as "$alice" cat "$MNT/restore/gone/status")
case $status in
"failed: SysV segment "*"is gone and must be made again with the same id"*"only root may restore it") ;;
*) ps_fail "alice: status is '$status', want the shm_next_id refusal" ;;
esac
rs_assert_nothing_left "$pid"
ps_pass "alice: $status"
