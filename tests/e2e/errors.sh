#!/bin/bash
# errors: a refused access below /<pid>/ fails with an errno that fits (EBUSY
# for a process another tracer has, EPERM for one the caller may not trace),
# and the reason is in /.errors/<pid> for that caller alone, in procsnap's
# stderr and in -o log=FILE; a later access that works clears it.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=users_lib.sh
. "$(dirname "$0")/users_lib.sh"

TRACER=$top_builddir/tests/targets/tracer
ps_setup "$TRACER" "$COUNTER"
us_setup
us_add_user alice
us_add_user bob
MNT=$PS_TMP/mnt
LOGFILE=$PS_TMP/procsnap-file.log
ps_mount "$MNT" "allow_other,log=$LOGFILE"
stderr_log=${PS_DAEMON_LOGS[0]}

# expect_error WHAT ERRNO_TEXT COMMAND...: COMMAND fails saying ERRNO_TEXT.
expect_error() {
	local what=$1 text=$2 err
	shift 2
	if err=$("$@" 2>&1); then
		ps_fail "$what succeeded"
	fi
	grep -q "$text" <<<"$err" || ps_fail "$what: '$err', want '$text'"
	ps_pass "$what: $(head -n 1 <<<"$err")"
}

# ---- a process another tracer has: EBUSY, and why ----
ps_start tracer "$TRACER"
child=$(ps_field pid)
tracer=$(ps_field tracer)
PS_PIDS+=("$child")
expect_error "cat image.json of a traced process" "Device or resource busy" cat "$MNT/$child/image.json"
expect_error "cp -r of a traced process" "Device or resource busy" cp -r "$MNT/$child" "$PS_TMP/copy"
why=$(cat "$MNT/.errors/$child") || ps_fail "no /.errors/$child after the refused access"
case $why in
"Device or resource busy: process $child is already traced by pid $tracer"*) ;;
*) ps_fail "/.errors/$child says '$why'" ;;
esac
ps_assert_eq "$child" "$(ls "$MNT/.errors")" "the caller's /.errors"
ps_assert_eq "400 root" "$(stat -c '%a %U' "$MNT/.errors/$child")" "mode and owner of /.errors/$child"
[ ! -e "$MNT/$child/.errors" ] || ps_fail "the error shows inside the image directory"
stat "$MNT/$child" >/dev/null   # looking at /<pid> is not the access that was refused
[ -e "$MNT/.errors/$child" ] || ps_fail "stat of /$child cleared /.errors/$child"
ps_assert_eq "$tracer" "$(ps_tracer "$child")" "TracerPid of $child after the refusal"
ps_pass "/.errors/$child: $why"

for f in "$stderr_log" "$LOGFILE"; do
	grep -q "already traced by pid $tracer" "$f" || ps_fail "$f does not give the reason: $(cat "$f")"
done
grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \[$PS_DAEMON\] procsnap: .*already traced by pid $tracer" \
	"$LOGFILE" || ps_fail "-o log= lines are not timestamped: $(cat "$LOGFILE")"
ps_pass "the reason is in procsnap's stderr and, timestamped, in -o log=FILE"

# the tracer lets go: the next access works, and the error is no news any more
kill -USR1 "$tracer"
ps_wait_for 10 "the tracer to let $child go" grep -q DETACHED "$PS_TMP/tracer.out"
cat "$MNT/$child/image.json" >/dev/null || ps_fail "reading image.json once $child is free failed"
[ ! -e "$MNT/.errors/$child" ] || ps_fail "/.errors/$child is still there after an access that worked"
[ -z "$(ls -A "$MNT/.errors")" ] || ps_fail "/.errors lists $(ls -A "$MNT/.errors")"
ps_pass "an access that works clears /.errors/$child"

# ---- a process of root's, for alice: EPERM, her own error only ----
ps_start counter "$COUNTER"
pid=$PS_TARGET
expect_error "alice: cat image.json of root's process" "Operation not permitted" \
	us_as "$alice" cat "$MNT/$pid/image.json"
why=$(us_as "$alice" cat "$MNT/.errors/$pid") || ps_fail "alice has no /.errors/$pid"
case $why in
"Operation not permitted: uid $(id -u "$alice") may not snapshot process $pid: "?*) ;;
*) ps_fail "alice's /.errors/$pid says '$why'" ;;
esac
ps_assert_eq "$pid" "$(us_as "$alice" ls "$MNT/.errors")" "alice's /.errors"
ps_pass "alice: /.errors/$pid: $why"
[ -z "$(us_as "$bob" ls -A "$MNT/.errors")" ] || ps_fail "bob lists alice's errors: $(us_as "$bob" ls -A "$MNT/.errors")"
if us_as "$bob" cat "$MNT/.errors/$pid" >/dev/null 2>&1; then
	ps_fail "bob reads alice's /.errors/$pid"
fi
[ ! -e "$MNT/.errors/$pid" ] || ps_fail "root sees alice's error as its own"
ps_pass "bob and root see nothing of alice's error"
