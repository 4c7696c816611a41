#!/bin/bash
# attack: two users who are not root, on an allow_other mount, try to get more
# from a restore than they had. User A checkpoints her own process, forges its
# image (a /proc link into another process's files, a symlink or a hard link
# to a root-only file, a device, a FIFO or a socket name in a directory she
# cannot write, a set-uid or unrunnable exe, a root-only mapped file, a watch
# on or a cwd in a root-only directory, a symlink flipped while she restores)
# and each forged image is refused with its sentence, nothing left running,
# no file made; the unforged image restores (attack_privacy.sh: user B and
# A's staged image).
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

# shellcheck source-path=SCRIPTDIR source=users_lib.sh
. "$(dirname "$0")/users_lib.sh"
# shellcheck source-path=SCRIPTDIR source=attack_lib.sh
. "$(dirname "$0")/attack_lib.sh"

atk_setup

# ---- the unforged image restores, as A, and works ----

atk_forge plain
atk_restore plain
[ "$RS_STATUS" = "restored $pid" ] || ps_fail "the unforged image: status '$RS_STATUS'"
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its restore"
[ "$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$pid/status" | tr -s '\t ' ' ')" = \
	"$UID_A $UID_A $UID_A $UID_A" ] || ps_fail "the restored process does not run as $UID_A"
rs_verify "$pid" "$ADIR/results"
ps_assert_eq "OK fd3=harmless" "$RS_RESULT" "what the restored process reads at fd 3"
rs_kill "$pid"

# ---- escalation 1: a /proc link into another process's files ----

ps_start helper setpriv --reuid="$UA" --regid="$UA" --init-groups -- \
	bash -c 'echo READY; exec sleep 600'
helper=$PS_TARGET
ps_start holder bash -c 'exec 3<"$1"; echo READY; exec sleep 600' _ "$R/secret"
holder=$PS_TARGET
chr=(fds.json:3:type='"chr"' fds.json:3:mode='"020644"' fds.json:3:rdev='"1:3"')
atk_forge proc_own "${chr[@]}" "fds.json:3:path=\"/proc/$pid/root/etc/shadow\""
atk_refused proc_own "fd 3: /proc/$pid/root/etc/shadow goes through /proc/$pid/root" \
	"/proc/<her restored pid, not running yet>/root/etc/shadow"
atk_forge proc_helper "${chr[@]}" "fds.json:3:path=\"/proc/$helper/root/etc/shadow\""
atk_refused proc_helper "goes through /proc/$helper/root into a process's files" \
	"/proc/<her running process>/root/etc/shadow"
atk_forge proc_self "${chr[@]}" 'fds.json:3:path="/proc/self/root/etc/shadow"'
atk_refused proc_self "fd 3: /proc/self/root/etc/shadow goes through /proc/self" \
	"/proc/self/root/etc/shadow"
atk_forge proc_fd "fds.json:3:path=\"/proc/$holder/fd/3\""
atk_refused proc_fd "fd 3: /proc/$holder/fd/3 goes through /proc/$holder/fd" \
	"/proc/<a root process>/fd/3, which holds a root-only file"
as_a ln -s "/proc/$holder/fd/3" "$ADIR/to_proc"
atk_forge proc_symlink "fds.json:3:path=\"$ADIR/to_proc\""
atk_refused proc_symlink "fd 3: uid $UID_A may not open $ADIR/to_proc for reading" \
	"a symlink of hers to /proc/<a root process>/fd/3"

# ---- links and devices: what she names is opened as her ----

as_a ln -s "$R/secret" "$ADIR/link"
atk_forge symlink "fds.json:3:path=\"$ADIR/link\""
atk_refused symlink "fd 3: uid $UID_A may not open $ADIR/link for reading (Permission denied)" \
	"a symlink to a root-only file"
atk_forge hardlink "fds.json:3:path=\"$R/hard\""
atk_refused hardlink "fd 3: uid $UID_A may not open $R/hard for reading (Permission denied)" \
	"a hard link (made by root) to a root-only file"
atk_forge device "${chr[@]}" "fds.json:3:path=\"$R/null0600\""
atk_refused device "fd 3: uid $UID_A may not open $R/null0600 for reading (Permission denied)" \
	"a root-owned 0600 device node"
atk_forge fifo "fds.json:6:path=\"$R/fifo\""
atk_refused fifo "fd 6: uid $UID_A may not open $R/fifo for reading and writing" \
	"a root-only FIFO in a root-owned 0755 directory"

# Unread bytes of a FIFO go back in as her: she may only read this one,
# which root keeps open (bytes written would stay in it).
ps_start fifo_holder bash -c 'exec 3<>"$1"; echo READY; exec sleep 600' _ "$R/fifo0644"
atk_forge fifo_bytes "fds.json:6:path=\"$R/fifo0644\"" 'fds.json:6:flags=["O_RDONLY"]' \
	'fds.json:6:flags_raw="0x0"' 'fds.json:6:data="fds/6"' '+fds/6=forged command'
atk_refused fifo_bytes \
	"fd 6: uid $UID_A may not open the FIFO $R/fifo0644 for writing its unread bytes back" \
	"unread bytes put into a root FIFO she may only read"
queued=$(python3 -c 'import fcntl, os, struct, sys, termios
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NONBLOCK)
print(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"0000"))[0])' "$R/fifo0644")
ps_assert_eq 0 "$queued" "bytes in root's FIFO after the refused restore"

# ---- escalation 2: a socket name in a directory she cannot write ----

atk_forge bind "fds.json:4:socket.local.path=\"$R/sock\""
atk_refused bind "fd 4: uid $UID_A may not bind a socket to $R/sock (Permission denied)" \
	"a unix socket bound in a root-owned 0755 directory"
[ ! -e "$R/sock" ] || ps_fail "a socket file was made in $R: $(ls -l "$R/sock")"

# ---- escalation 5 and the exe she may not run ----

atk_forge suid_exe 'process.json::exe="'"$R/suid"'"'
atk_refused suid_exe "the executable $R/suid is set-user-ID or set-group-ID" "a set-uid exe"
atk_forge noexec_exe 'process.json::exe="'"$R/noexec"'"'
atk_refused noexec_exe "the executable: uid $UID_A may not run $R/noexec (Permission denied)" \
	"an exe she may read but not run"

# ---- a mapped file, a watch, a working directory ----

atk_forge mapped "memory/maps.json:$ATTACK:path=\"$R/secret\""
atk_refused mapped "uid $UID_A may not open $R/secret for reading (Permission denied)" \
	"a root-only mapped file"
atk_forge watch "fds.json:5:watches.0.path=\"$R/private\"" \
	"fds.json:5:watches.0.ino=$(stat -c %i "$R/private")"
atk_refused watch "fd 5: inotify watch 1: uid $UID_A may not watch $R/private (Permission denied)" \
	"an inotify watch on a root-only directory"
atk_forge cwd "process.json::cwd=\"$R/private\""
atk_refused cwd "the working directory: uid $UID_A may not enter $R/private (Permission denied)" \
	"a working directory she may not enter"

# ---- a symlink flipped between the check and the open ----

as_a ln -s harmless "$ADIR/flip"
atk_forge flip "fds.json:3:path=\"$ADIR/flip\""
# shellcheck disable=SC2016  # expanded by the flipping shell
setpriv --reuid="$UA" --regid="$UA" --init-groups -- bash -c '
	cd "$1" || exit 1
	while :; do
		ln -sfn harmless flip.new && mv -T flip.new flip
		ln -sfn "$2" flip.new && mv -T flip.new flip
	done' _ "$ADIR" "$R/secret" &
flipper=$!
PS_PIDS+=("$flipper")
restored=0
refused=0
for i in $(seq 1 30); do
	rm -rf "$ADIR/forged/flip$i"
	as_a cp -r "$ADIR/forged/flip" "$ADIR/forged/flip$i"
	atk_restore "flip$i"
	case $RS_STATUS in
	"restored $pid")
		PS_PIDS+=("$pid")
		link=$(readlink "/proc/$pid/fd/3")
		[ "$link" = "$ADIR/harmless" ] || ps_fail "flipped symlink: fd 3 of the process is $link"
		rs_kill "$pid"
		restored=$((restored + 1))
		;;
	failed:*"uid $UID_A may not open $ADIR/flip for reading (Permission denied)"*)
		rs_assert_nothing_left "$pid"
		refused=$((refused + 1))
		;;
	*) ps_fail "flipped symlink: status '$RS_STATUS'" ;;
	esac
done
kill -KILL "$flipper"
wait "$flipper" 2>/dev/null || true
ps_pass "a symlink flipped to a root-only file while restoring: $restored restored with the" \
	"harmless file, $refused refused, never the root-only one"

# ---- the unforged image still restores after all that ----

atk_forge again
atk_restored again "the unforged image, restored again"
ps_pass "the unforged image restores as $UA"
