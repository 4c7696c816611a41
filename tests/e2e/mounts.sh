#!/bin/bash
# mounts: a second procsnap on a mount point or on a spool already in use is
# refused with one line naming the holder; a killed procsnap frees its spool
# and its dead mount is named as such; daemonized, procsnap logs to -o log=;
# mounted the way mount(8) does it (mount.fuse3, which adds dev,suid as
# root), the mount is still nosuid,nodev.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ps_setup
MNT=$PS_TMP/mnt
SPOOL=$PS_TMP/spool
ps_mount "$MNT" "spool=$SPOOL"
first=$PS_DAEMON

mounts_on() { # MOUNTPOINT: how many mounts are on it
	awk -v m="$1" '$2 == m { n++ } END { print n + 0 }' /proc/self/mounts
}

# refused WHAT EXPECTED ARGS...: procsnap ARGS exits 1 at once with one line
# matching EXPECTED, and mounts nothing. Run daemonizing, so that a procsnap
# that wrongly mounts does not hold the test; its mount is cleaned up.
refused() {
	local what=$1 want=$2 mp=${*: -1} err
	shift 2
	PS_MOUNTS+=("$mp")
	if err=$("$PROCSNAP" "$@" 2>&1); then
		ps_fail "$what: procsnap exited 0"
	fi
	grep -q -- "$want" <<<"$err" || ps_fail "$what: '$err', want '$want'"
	ps_assert_eq 1 "$(wc -l <<<"$err")" "lines procsnap printed ($what)"
	ps_pass "$what: $err"
}

# ---- one procsnap per mount point and per spool ----
refused "a second procsnap on $MNT" "$MNT is already a procsnap mount" \
	-o "spool=$PS_TMP/other" "$MNT"
ps_assert_eq 1 "$(mounts_on "$MNT")" "mounts on $MNT"
mkdir "$PS_TMP/mnt2"
refused "a second procsnap on the spool" "spool $SPOOL is in use by procsnap pid $first mounted on $MNT" \
	-o "spool=$SPOOL" "$PS_TMP/mnt2"
ps_assert_eq 0 "$(mounts_on "$PS_TMP/mnt2")" "mounts on $PS_TMP/mnt2"

# ---- killed: the dead mount is named, the spool is free again ----
kill -KILL "$first"
{ wait "$first"; } 2>/dev/null || true
refused "procsnap on the dead mount" "a file system whose daemon is gone is still mounted there" \
	-o "spool=$SPOOL" "$MNT"
ps_unmount "$MNT"
ps_mount "$MNT" "spool=$SPOOL"
ps_pass "once its procsnap was killed and the mount gone, the spool serves again"

# ---- daemonized: -o log=FILE gets the lines; the lock names the daemon ----
# daemon_of SPOOL: the pid the spool's lock file names, a procsnap
daemon_of() {
	local pid
	pid=$(sed -n 's/^pid \([0-9]*\) mounted on .*/\1/p' "$1/lock")
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = procsnap ] ||
		ps_fail "$1/lock names no running procsnap: $(cat "$1/lock")"
	PS_DAEMONS+=("$pid")   # for the cleanup to see it gone
	PS_DAEMON_MNTS+=("$(sed -n 's/^pid [0-9]* mounted on //p' "$1/lock")")
	printf '%s\n' "$pid"
}
DMNT=$PS_TMP/dmnt
mkdir "$DMNT"
PS_MOUNTS+=("$DMNT")
"$PROCSNAP" -o "spool=$PS_TMP/dspool,log=$PS_TMP/daemon.log" "$DMNT" ||
	ps_fail "procsnap, daemonizing, exited $?"
ps_is_mounted "$DMNT" || ps_fail "the daemonized procsnap did not mount $DMNT"
dpid=$(daemon_of "$PS_TMP/dspool")
mkdir "$DMNT/restore/x"
printf '{' >"$DMNT/restore/x/image.json" 2>/dev/null || true
grep -Eq "^[0-9-]{10} [0-9:]{8} \[$dpid\] procsnap: restore of 0/x: failed: image.json is not valid JSON" \
	"$PS_TMP/daemon.log" || ps_fail "the daemon's -o log= file: $(cat "$PS_TMP/daemon.log")"
ps_unmount "$DMNT"
ps_wait_for 10 "the daemon $dpid to exit" eval '! ps_alive "$dpid"'
ps_pass "daemonized (pid $dpid): -o log= has the failed restore"

# ---- through the mount helper ----
HELPER=$(command -v mount.fuse3 || true)
[ -n "$HELPER" ] || ps_skip "mount.fuse3 missing: apt-get install fuse3"
HMNT=$PS_TMP/hmnt
mkdir "$HMNT"
PS_MOUNTS+=("$HMNT")
# mount -t fuse.procsnap procsnap DIR runs exactly this, with a PATH of its
# own in which procsnap is installed
PATH="$top_builddir:$PATH" "$HELPER" procsnap "$HMNT" -t fuse.procsnap -o "rw,spool=$PS_TMP/hspool" ||
	ps_fail "mount.fuse3 procsnap $HMNT exited $?"
ps_is_mounted "$HMNT" || ps_fail "mount.fuse3 did not mount $HMNT"
hpid=$(daemon_of "$PS_TMP/hspool")
opts=$(awk -v m="$HMNT" '$2 == m { print $3, $4 }' /proc/self/mounts)
case ",${opts#* }," in
*,nosuid,*) ;;
*) ps_fail "mounted by mount.fuse3 without nosuid: $opts" ;;
esac
case ",${opts#* }," in
*,nodev,*) ;;
*) ps_fail "mounted by mount.fuse3 without nodev: $opts" ;;
esac
ps_unmount "$HMNT"
ps_wait_for 10 "the daemon $hpid to exit" eval '! ps_alive "$hpid"'
ps_pass "mount.fuse3 (which asks for dev,suid) mounts $opts"
