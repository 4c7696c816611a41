#!/bin/bash
# tree: the top of the mount lists live processes, self and restore/ without
# freezing anyone; a read below /MNT/<pid>/ freezes the process until released.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ps_setup "$COUNTER"
MNT=$PS_TMP/mnt
ps_mount "$MNT" hold=0.5
ps_start counter "$COUNTER"
pid=$(ps_field pid)
addr=$(ps_field addr)

# The listing: our target and ourselves, self and restore/; no kernel thread
# (kthreadd is pid 2) and not procsnap itself.
names=$(ls -1a "$MNT")
for want in "$pid" "$$" self restore; do
	grep -qx -- "$want" <<<"$names" || ps_fail "ls $MNT does not list $want: $(echo "$names" | tr '\n' ' ')"
done
! grep -qx 2 <<<"$names" || ps_fail "ls $MNT lists the kernel thread 2 (kthreadd)"
! grep -qx "$PS_DAEMON" <<<"$names" || ps_fail "ls $MNT lists procsnap itself ($PS_DAEMON)"
ps_pass "ls lists $pid, self and restore, not kthreadd nor procsnap"

[ -d "$MNT/restore" ] || ps_fail "$MNT/restore is not a directory"
[ -L "$MNT/self" ] || ps_fail "$MNT/self is not a symlink"
python3 - "$MNT/self" <<'PY'
import os, sys
target = os.readlink(sys.argv[1])
if os.path.basename(target) != str(os.getpid()):
    sys.exit("self -> %s, but the caller's pid is %d" % (target, os.getpid()))
PY
ps_pass "self resolves to the caller's pid"

# Looking at the top level freezes nothing: ls -l (each entry lstat'ed; a
# process may exit between the listing and its lstat, as in /proc) ...
python3 - "$MNT" <<'PY'
import os, sys
for e in os.scandir(sys.argv[1]):
    try:
        e.stat(follow_symlinks=False)
    except FileNotFoundError:
        pass
PY
# ... and stat of the process's directory.
stat "$MNT/$pid" >/dev/null
[ -d "$MNT/$pid" ] || ps_fail "$MNT/$pid is not a directory"
ps_assert_free "$pid" "after ls -l $MNT and stat $MNT/$pid"
ps_pass "ls and stat of the top level do not stop the process"

# Opening a file below it does, while the handle is open ...
exec 9<"$MNT/$pid/image.json"
ps_assert_frozen "$pid" "$PS_DAEMON" "while image.json is open"
cat "$MNT/$pid/image.json" >"$PS_TMP/image.json"
ps_assert_eq 1 "$(ps_py get "$PS_TMP/image.json" format)" "image.json format"
ps_assert_eq "$pid" "$(ps_py get "$PS_TMP/image.json" pid)" "image.json pid"
ps_py check-image "$MNT/$pid" "$pid"
ps_assert_frozen "$pid" "$PS_DAEMON" "after reading the image"
ps_pass "an open file below $MNT/$pid freezes every thread, traced by procsnap"

# ... and the process runs on after the last close and the hold time.
exec 9<&-
ps_wait_free "$pid" "after image.json was closed and hold=0.5 passed"
before=$(ps_py live-u64 "$pid" "$addr")
sleep 0.3
after=$(ps_py live-u64 "$pid" "$addr")
[ "$after" -gt "$before" ] || ps_fail "counter stuck at $before after the release"
ps_pass "released: the counter runs on ($before -> $after)"

# A plain cat takes a snapshot of its own, released the same way.
cat "$MNT/$pid/image.json" >/dev/null
ps_wait_free "$pid" "after cat image.json and hold=0.5"
ps_alive "$pid" || ps_fail "the counter died"
ps_pass "cat image.json: frozen, then released"
