#!/bin/bash
# restore_attributes_caller: a restore for a caller other than root sets
# nothing the caller could not set itself. alice's process runs at nice -5
# (root lowered it before it became alice's): alice's restore is refused by
# name, with nothing left running; root's restore of the same image brings
# nice -5 back.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=users_lib.sh
. "$(dirname "$0")/users_lib.sh"

ps_setup "$REAPER" "$RS_COUNTER"
us_setup
us_add_user alice
MNT=$PS_TMP/mnt
ps_mount "$MNT" "allow_other,spool=$PS_TMP/spool"
mkdir -m 0700 "$PS_TMP/alice"
chown "$alice:" "$PS_TMP/alice"

res=$PS_TMP/alice/counter.results
ps_start counter nice -n -5 setpriv --reuid="$(id -u "$alice")" --regid="$(id -g "$alice")" \
	--init-groups -- "$RS_COUNTER" "$res" "$PS_TMP/alice/counter.log"
pid=$PS_TARGET
ps_assert_eq -5 "$(ps -o ni= -p "$pid" | tr -d ' ')" "nice of alice's counter"
rs_checkpoint "$pid" "$PS_TMP/img"
chmod -R a+rX "$PS_TMP/img"

# alice may not lower a nice value below what her RLIMIT_NICE allows.
rc=0
err=$(us_as "$alice" cp -r "$PS_TMP/img" "$MNT/restore/img" 2>&1) || rc=$?
status=$(us_as "$alice" cat "$MNT/restore/img/status")
ps_log "alice's cp -r: exit $rc, status '$status'${err:+, stderr: $err}"
[ "$rc" != 0 ] || ps_fail "alice's cp succeeded although the restore should be refused"
case $status in
"failed: thread $pid has nice -5, below what its RLIMIT_NICE"*) ps_pass "alice refused: $status" ;;
*) ps_fail "alice: status is '$status', want a refusal naming nice -5 and RLIMIT_NICE" ;;
esac
rs_assert_nothing_left "$pid"
ps_pass "nothing left running after alice's refused restore"

# root may: the restored process runs at nice -5 again.
rs_restore_ok "$PS_TMP/img" "root-img" "$pid"
ps_assert_eq -5 "$(ps -o ni= -p "$pid" | tr -d ' ')" "nice of the process root restored"
ps_assert_eq "$(id -u "$alice")" "$(ps -o uid= -p "$pid" | tr -d ' ')" "uid of the process root restored"
rs_kill "$pid"
