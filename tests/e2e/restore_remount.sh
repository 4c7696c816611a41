#!/bin/bash
# restore_remount: procsnap killed with SIGKILL around the final restore step,
# then mounted again on the same spool: status says what became of the image
# (restored, with its process still the same one; or not restored, and how to
# retry), and rsync -a of the same image behaves: exit 0, the process kept or
# restored. The same once a full spool has room again.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_COUNTER" "$BIGMAP"
SPOOL=$PS_TMP/spool
R=$MNT/restore

start_time() { # PID: field 22 of its stat
	local s
	s=$(cat "/proc/$1/stat") || ps_fail "process $1 is gone"
	s=${s##*) }
	awk '{ print $20 }' <<<"$s"
}

# kill_and_remount [OPTIONS]: kill -9 this mount's procsnap, unmount what it
# left, mount again on the same spool.
kill_and_remount() {
	local old=$PS_DAEMON
	kill -KILL "$old"
	{ wait "$old"; } 2>/dev/null || true
	ps_unmount "$MNT"
	ps_mount "$MNT" "spool=$SPOOL${1:+,$1}"
	ps_pass "procsnap $old killed with SIGKILL, mounted again as $PS_DAEMON"
}

# rsync_again NAME: rsync -a of $img into restore/NAME must exit 0.
rsync_again() {
	rsync -a "$img/" "$R/$1/" 2>"$PS_TMP/rsync.err" ||
		ps_fail "rsync -a into restore/$1 exited $?: $(cat "$PS_TMP/rsync.err") (status: $(rs_status "$1"))"
}

img=$PS_TMP/img
rs_counter_checkpoint "$img"

# ---- killed after the restore: status and rsync -a know it is done ----
rs_restore_ok "$img" done "$pid"
started=$(start_time "$pid")
kill_and_remount
ps_assert_eq "restored $pid" "$(rs_status done)" "status after the remount"
rsync_again done
ps_assert_eq "restored $pid" "$(rs_status done)" "status after rsync -a of the same image"
ps_assert_eq "$started" "$(start_time "$pid")" "start time of $pid after rsync -a"
ps_wait_free "$pid" "after rsync -a of its image"
rs_verify "$pid" "$res"
ps_pass "killed after the restore: 'restored $pid' after the remount; rsync -a exits 0 and restores nothing"
rs_kill "$pid"
ps_assert_eq "restored $pid; process $pid has exited since" "$(rs_status done)" "status once killed"
rm -r "$R/done"

# ---- killed while the last file is written, before its close ----
rs_counter_trim "$log" "$saved"
mkdir "$R/last"
(cd "$img" && tar -cf - --exclude=./image.json .) | tar -C "$R/last" -xf -
# a writer that has written all of image.json and not closed it yet
python3 -c '
import sys, time
f = open(sys.argv[2], "wb")
f.write(open(sys.argv[1], "rb").read())
f.flush()
print("written", flush=True)
time.sleep(60)
' "$img/image.json" "$R/last/image.json" >"$PS_TMP/writer.out" 2>&1 &
writer=$!
PS_PIDS+=("$writer")
ps_wait_for 10 "the writer of image.json" grep -q written "$PS_TMP/writer.out"
kill_and_remount
kill -KILL "$writer"
{ wait "$writer"; } 2>/dev/null || true
status=$(rs_status last)
case $status in
"incomplete: every file is present, but none was written since this procsnap started; touch image.json to restore it") ;;
*) ps_fail "killed before the last close: status is '$status'" ;;
esac
! rs_exists "$pid" || ps_fail "pid $pid exists though the image was never restored"
rsync_again last
ps_assert_eq "restored $pid" "$(rs_status last)" "status after rsync -a"
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its restore by rsync -a"
rs_verify "$pid" "$res"
rs_kill "$pid"
rm -r "$R/last"
ps_pass "killed before the last close: '$status'; rsync -a then restores it"

# ---- killed during the restore: what the spool then says, judged by the
# next procsnap. The state file is made as a kill at that instant leaves
# it: 'restoring' since some instant, on this boot. ----
boot_id=$(cat /proc/sys/kernel/random/boot_id)
hz=$(getconf CLK_TCK)
# killed_restoring NAME NS: kill -9 procsnap, leave restore/NAME's state as a
# kill during its restore begun at NS (CLOCK_BOOTTIME) does, mount again.
killed_restoring() {
	kill -KILL "$PS_DAEMON"
	{ wait "$PS_DAEMON"; } 2>/dev/null || true
	ps_unmount "$MNT"
	printf 'restoring\nsince %s\nboot %s\n' "$2" "$boot_id" >"$SPOOL/images/0/$1/status"
	ps_mount "$MNT" "spool=$SPOOL,keep_staged"
}
now_ns() { awk '{ printf "%d", $1 * 1e9 }' /proc/uptime; }   # CLOCK_BOOTTIME

kill_and_remount keep_staged
rs_counter_trim "$log" "$saved"
rs_restore_ok "$img" mid "$pid"
# the process was made, then procsnap was killed before it said so
killed_restoring mid $(($(start_time "$pid") * (1000000000 / hz) - 1000000000))
ps_assert_eq "restored $pid" "$(rs_status mid)" "status of a restore interrupted after its process was made"
ps_wait_free "$pid" "after the remount"
rs_verify "$pid" "$res"
rs_kill "$pid"
ps_pass "interrupted once its process ran: 'restored $pid'"

# procsnap was killed before the process was made: nothing runs
killed_restoring mid "$(now_ns)"
status=$(rs_status mid)
case $status in
"failed: procsnap was stopped during this image's restore, and no process of it runs; touch image.json to restore it again") ;;
*) ps_fail "interrupted before its process was made: status is '$status'" ;;
esac
rs_counter_trim "$log" "$saved"
touch "$R/mid/image.json" || ps_fail "touch image.json after the interrupted restore failed: $(rs_status mid)"
ps_assert_eq "restored $pid" "$(rs_status mid)" "status after touch image.json"
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its restore by touch"
rs_verify "$pid" "$res"
rs_kill "$pid"
ps_pass "interrupted before its process was made: '$status'; touch image.json restores it"

# ---- a spool that was full, then has room: rsync -a restores ----
command -v mount >/dev/null || ps_skip "mount missing: apt-get install mount"
mkdir "$PS_TMP/small"
mount -t tmpfs -o size=16m procsnap-test-small "$PS_TMP/small" || ps_fail "cannot mount a 16 MiB tmpfs"
PS_MOUNTS+=("$PS_TMP/small")   # unmounted by the cleanup
SMALL=$PS_TMP/smallmnt
ps_mount "$SMALL" "spool=$PS_TMP/small/spool"
ps_start bigmap "$BIGMAP" 24 all
bpid=$PS_TARGET
MNT=$SMALL   # for the rs_* helpers
img=$PS_TMP/bigimg
rs_checkpoint "$bpid" "$img"
if cp -r "$img" "$SMALL/restore/big" 2>"$PS_TMP/cp.err"; then
	ps_fail "cp -r of a 24 MiB image into a 16 MiB spool exited 0"
fi
grep -q "No space left on device" "$PS_TMP/cp.err" || ps_fail "cp's error: $(cat "$PS_TMP/cp.err")"
mount -o remount,size=96m "$PS_TMP/small" || ps_fail "cannot grow the small spool"
rsync -a "$img/" "$SMALL/restore/big/" 2>"$PS_TMP/rsync.err" ||
	ps_fail "rsync -a once the spool had room exited $?: $(cat "$PS_TMP/rsync.err") (status: $(rs_status big))"
ps_assert_eq "restored $bpid" "$(rs_status big)" "status after rsync -a once the spool had room"
PS_PIDS+=("$bpid")
ps_wait_free "$bpid" "after its restore"
rs_kill "$bpid"
ps_pass "ENOSPC, then room: rsync -a of the same image exits 0 and restores it"
