#!/bin/bash
# restore_retry: a failed restore is retried by writing any file of the image
# again (the staged copy stays writable, also from a read-only source) or by
# touch image.json; a restored image's files leave the spool, its status
# stays, and copying it again while its process runs restores nothing; once
# that process is gone a copy restores it anew. With -o keep_staged the files
# stay, and touch image.json restores again after the process died.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_COUNTER"

start_time() { # PID: field 22 of its stat, which names one process for good
	local s
	s=$(cat "/proc/$1/stat") || ps_fail "process $1 is gone"
	s=${s##*) }
	awk '{ print $20 }' <<<"$s"
}

# staged_files_gone DIR SPOOLDIR: DIR (in restore/) and its copy in the
# spool hold no file but status.
staged_files_gone() {
	[ -z "$(find "$1" "$2" -type f ! -name status)" ]
}

# no_staged_files DIR SPOOLDIR: that, once the image has been left alone
# for a while (procsnap waits 2 s for a copy tool to be done with it).
no_staged_files() {
	ps_wait_for 10 "the staged files of $1 to leave the spool" staged_files_gone "$1" "$2"
}

# expect_failed NAME WHAT: the last copy into restore/NAME failed, naming $log.
expect_failed() {
	case $RS_STATUS in
	failed:*"$log"*) ;;
	*) ps_fail "$2: status is '$RS_STATUS', want 'failed: ...$log...'" ;;
	esac
	[ "$RS_CP_RC" != 0 ] || ps_fail "$2: the restore failed but the copy exited 0"
	rs_assert_nothing_left "$pid"
	rs_assert_staged "$1" "$img"
	ps_pass "$2: $RS_STATUS"
}

img=$PS_TMP/img
rs_counter_checkpoint "$img"
chmod -R a-w "$img"   # and so are the staged files cp -r makes of it

# ---- fails: the log the process had open is gone ----
mv "$log" "$log.away"
rs_restore "$img" r1
expect_failed r1 "the open log moved away"

# The staged copy is writable by its owner: copying again over it works,
# and retries, failing the same way.
if cp -r "$img/." "$MNT/restore/r1/" 2>"$PS_TMP/again.err"; then
	ps_fail "copying the failing image again exited 0"
fi
! grep -q "Permission denied" "$PS_TMP/again.err" ||
	ps_fail "copying over the staged image: $(cat "$PS_TMP/again.err")"
RS_STATUS=$(rs_status r1)
expect_failed r1 "copied again over the staged copy, still without the log"

# ---- fixed, and retried by touch image.json ----
mv "$log.away" "$log"
rs_counter_trim "$log" "$saved"
touch "$MNT/restore/r1/image.json" || ps_fail "touch image.json of the fixed image failed: $(rs_status r1)"
ps_assert_eq "restored $pid" "$(rs_status r1)" "status after touch image.json"
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its restore"
rs_verify "$pid" "$res"
started=$(start_time "$pid")

no_staged_files "$MNT/restore/r1" "$PS_TMP/spool/images/0/r1"
ps_pass "restored by touch image.json; the staged files are gone, status stays"

# ---- the same image copied again while its process runs: nothing happens ----
rsync -a "$img/" "$MNT/restore/r1/" 2>"$PS_TMP/rsync.err" ||
	ps_fail "rsync -a of the restored image again exited $?: $(cat "$PS_TMP/rsync.err")"
ps_assert_eq "restored $pid" "$(rs_status r1)" "status after rsync -a of the restored image"
ps_assert_eq "$started" "$(start_time "$pid")" "start time of $pid after rsync -a again"
ps_wait_free "$pid" "after rsync -a of its image again"
no_staged_files "$MNT/restore/r1" "$PS_TMP/spool/images/0/r1"
ps_pass "rsync -a of the restored image again: exit 0, the same process, files gone again"

# ---- its process gone, the image restores anew ----
rs_kill "$pid"
ps_assert_eq "restored $pid; process $pid has exited since" "$(rs_status r1)" "status once it was killed"
rs_counter_trim "$log" "$saved"
rsync -a "$img/" "$MNT/restore/r1/" 2>"$PS_TMP/rsync.err" ||
	ps_fail "rsync -a once its process was gone exited $?: $(cat "$PS_TMP/rsync.err")"
ps_assert_eq "restored $pid" "$(rs_status r1)" "status after rsync -a once its process was gone"
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its second restore"
rs_verify "$pid" "$res"
rs_kill "$pid"
ps_pass "the image restored anew once its process was gone"

rm -r "$MNT/restore/r1" || ps_fail "rm -r of the restored image failed"
[ ! -e "$PS_TMP/spool/images/0/r1" ] || ps_fail "rm -r left restore/r1 in the spool"
ps_pass "rm -r removes the restored image, state and all"

# ---- retried by writing one file again ----
mv "$log" "$log.away"
rs_restore "$img" r2
expect_failed r2 "the open log moved away (r2)"
mv "$log.away" "$log"
rs_counter_trim "$log" "$saved"
cp "$img/process.json" "$MNT/restore/r2/process.json" ||
	ps_fail "writing process.json again failed: $(rs_status r2)"
ps_assert_eq "restored $pid" "$(rs_status r2)" "status after writing process.json again"
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its restore"
rs_verify "$pid" "$res"
rs_kill "$pid"
ps_pass "a failed image retried by writing one of its files again"

# ---- -o keep_staged ----
KEEP=$PS_TMP/keep
ps_mount "$KEEP" "keep_staged,spool=$PS_TMP/keepspool"
MNT=$KEEP   # for the rs_* helpers
rs_counter_trim "$log" "$saved"
rs_restore_ok "$img" k "$pid"
rs_assert_staged k "$img"
started=$(start_time "$pid")
touch "$KEEP/restore/k/image.json" || ps_fail "touch image.json while its process runs failed"
ps_assert_eq "restored $pid" "$(rs_status k)" "status after touch while it runs"
ps_assert_eq "$started" "$(start_time "$pid")" "start time of $pid after touch while it runs"
rs_kill "$pid"
rs_counter_trim "$log" "$saved"
touch "$KEEP/restore/k/image.json" || ps_fail "touch image.json once its process was gone failed: $(rs_status k)"
ps_assert_eq "restored $pid" "$(rs_status k)" "status after touch once its process was gone"
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its restore by touch"
rs_verify "$pid" "$res"
rs_assert_staged k "$img"
rs_kill "$pid"
ps_pass "keep_staged: the files stay; touch restores again once the process is gone"
