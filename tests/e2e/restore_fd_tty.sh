#!/bin/bash
# restore_fd_tty: a process whose stdin, stdout and stderr are a pseudo-terminal's slave.
# A: the pty still exists at the restore: fds 0-2 lead to the same /dev/pts/N again, are
#    terminals, and carry data both ways (what it writes reaches the master, a line typed
#    at the master reaches its stdin).
# B: the pty is gone (its master closed) before the restore: the restore still succeeds,
#    its status says "restored <pid>; " naming the gone /dev/pts/N and /dev/null, and fds
#    0-2 are /dev/null, not terminals.
# C: the pty is gone and a new one got its number before the restore: the process is
#    not attached to that stranger's terminal but to /dev/null, and status says why.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

TTY_BIN=$TARGETS/restore_fd_tty

# The pty holder: opens a pty, says "open <slave path>" in its ack file, logs
# everything the master reads, and obeys lines on its control FIFO: "write TEXT"
# types TEXT and a newline at the master, "close" closes the master (and its
# own slave fd: the pty is then gone), "exit" exits. Each command done is
# acknowledged with a line in the ack file.
PTY_PY=$(
	cat <<'EOF'
import os, select, sys
ctl, log, ack = sys.argv[1:4]
cfd = os.open(ctl, os.O_RDWR)      # a reader and a writer: no EOF between commands
master, slave = os.openpty()       # the slave fd kept: the master never reads EIO
out = open(log, "ab", buffering=0)

def done(what):
    with open(ack, "a") as f:
        f.write(what + "\n")

done("open " + os.ttyname(slave))
pending = b""
while True:
    ready, _, _ = select.select([cfd] + ([master] if master is not None else []), [], [])
    if master is not None and master in ready:
        out.write(os.read(master, 4096))
    if cfd in ready:
        pending += os.read(cfd, 4096)
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            cmd = line.decode()
            if cmd == "close":
                os.close(master)
                os.close(slave)
                master = None
            elif cmd.startswith("write "):
                os.write(master, cmd[6:].encode() + b"\n")
            done(cmd)
            if cmd == "exit":
                sys.exit(0)
EOF
)

PTY_PATH= # the slave of the last pty_start
PTY_LOG=  # and what its master read

# pty_start NAME: start a pty holder with its files $PS_TMP/NAME.{ctl,log,ack};
# sets PTY_PATH and PTY_LOG.
pty_start() {
	local name=$1 ctl=$PS_TMP/$1.ctl ack=$PS_TMP/$1.ack hpid
	mkfifo "$ctl"
	python3 -c "$PTY_PY" "$ctl" "$PS_TMP/$name.log" "$ack" </dev/null 2>"$PS_TMP/$name.err" &
	hpid=$!
	PS_PIDS+=("$hpid")
	opened() { grep -q '^open ' "$ack" 2>/dev/null || { ps_alive "$hpid" || ps_fail "pty holder $name died: $(cat "$PS_TMP/$name.err")"; false; }; }
	ps_wait_for 5 "pty holder $name to open a pty" opened
	PTY_PATH=$(sed -n 's/^open //p' "$ack")
	PTY_LOG=$PS_TMP/$name.log
	ps_log "pty holder $name (pid $hpid) holds the master of $PTY_PATH"
}

# pty_cmd NAME COMMAND: have holder NAME do COMMAND, and wait until it is done.
pty_cmd() {
	local name=$1 cmd=$2 ack=$PS_TMP/$1.ack before
	before=$(rs_lines "$ack")
	# The holder has the FIFO open: the write never waits, unless it died.
	# shellcheck disable=SC2016  # $1 and $2 are sh's
	timeout 5 sh -c 'printf "%s\n" "$1" >"$2"' sh "$cmd" "$PS_TMP/$name.ctl" ||
		ps_fail "cannot send '$cmd' to pty holder $name"
	done_cmd() { [ "$(rs_lines "$ack")" -gt "$before" ]; }
	ps_wait_for 5 "pty holder $name to do '$cmd'" done_cmd
}

# tty_start NAME TTY RESULTS: ps_start for a target whose fds 0-2 are TTY (all
# three one open file, read-write), the last pty_start's; its READY line comes
# in $PS_TMP/NAME.ready, its stderr in $PTY_LOG.
tty_start() {
	local name=$1 tty=$2 ready=$PS_TMP/$1.ready end
	(
		# Only fds 0-2, as ps_start does.
		for fd in /proc/"$BASHPID"/fd/*; do
			n=${fd##*/}
			[ "$n" -le 2 ] || eval "exec $n>&-"
		done
		exec "$TTY_BIN" "$3" "$ready"
	) <>"$tty" >&0 2>&0 &
	PS_TARGET=$!
	PS_PIDS+=("$PS_TARGET")
	end=$((SECONDS + 11))
	until grep -q '^READY' "$ready" 2>/dev/null; do
		ps_alive "$PS_TARGET" || ps_fail "$name exited before READY: $(tr -d '\r' <"$PTY_LOG")"
		[ "$SECONDS" -lt "$end" ] || ps_fail "$name printed no READY line in 10s"
		sleep 0.05
	done
	PS_READY=$(grep -m1 '^READY' "$ready")
	ps_log "started $name (pid $PS_TARGET) on $tty: $PS_READY"
}

# expect_fds PID WHAT PATH TTY: the last result says fds 0-2 lead to PATH, with
# isatty TTY (1 or 0).
expect_fds() {
	local fd
	for fd in 0 1 2; do
		case " $RS_RESULT " in
		*" fd$fd=$3 tty$fd=$4 "*) ;;
		*) ps_fail "$2: fd $fd of $1 should lead to $3 with isatty $4: $RS_RESULT" ;;
		esac
	done
}

ere_quote() { # STRING: as a grep -E pattern matching just it
	# shellcheck disable=SC2016,SC2001  # $ is a character of the bracket expression
	sed 's/[][\\.*^$()+?{}|]/\\&/g' <<<"$1"
}

rs_setup "$TTY_BIN"

# ---- A: the pty is still there ----
pty_start ptya
tty=$PTY_PATH
tty_start a "$tty" "$PS_TMP/a.results"
pid=$PS_TARGET
ps_assert_eq "$tty" "$(ps_field tty)" "the target's terminal"
rs_checkpoint "$pid" "$PS_TMP/img-a"
ps_py hasstr "$PS_TMP/img-a/fds.json" "$tty" || ps_fail "fds.json does not name $tty"
rs_restore_ok "$PS_TMP/img-a" tty-a "$pid"
pty_cmd ptya "write typed-$pid"   # waits in the terminal's input until verify reads it
rs_verify "$pid" "$PS_TMP/a.results"
expect_fds "$pid" "pty kept" "$tty" 1
for fd in 0 1 2; do
	case " $RS_RESULT " in *" mode$fd=rw "*) ;; *) ps_fail "fd $fd is no longer read-write: $RS_RESULT" ;; esac
done
case " $RS_RESULT " in
*" stdin=typed-$pid "*) ;;
*) ps_fail "the line typed at the master did not reach the restored process's stdin: $RS_RESULT" ;;
esac
reached() { grep -q "VERIFY-FD1 pid=$pid" "$PTY_LOG" && grep -q "VERIFY-FD2 pid=$pid" "$PTY_LOG"; }
ps_wait_for 5 "the restored process's stdout and stderr lines at the master of $tty" reached
ps_pass "pty kept: fds 0-2 are $tty again, terminals, and carry data both ways"
rs_kill "$pid"
pty_cmd ptya exit

# ---- B: the pty is gone at the restore ----
pty_start ptyb
tty=$PTY_PATH
tty_start b "$tty" "$PS_TMP/b.results"
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/img-b"
pty_cmd ptyb close
[ ! -e "$tty" ] || ps_fail "$tty still exists after its master was closed"
rs_restore "$PS_TMP/img-b" tty-b
[ "$RS_CP_RC" = 0 ] || ps_fail "pty gone: the restore must succeed, but cp exited $RS_CP_RC: $RS_CP_ERR (status '$RS_STATUS')"
case $RS_STATUS in
"restored $pid; "*) ;;
*) ps_fail "pty gone: status is '$RS_STATUS', want 'restored $pid; ...' saying what became of $tty" ;;
esac
# The gone terminal's path, not one with more digits (/dev/pts/1 in /dev/pts/12).
grep -Eq "$(ere_quote "$tty")([^0-9]|$)" <<<"$RS_STATUS" || ps_fail "pty gone: status '$RS_STATUS' does not name $tty"
grep -qF /dev/null <<<"$RS_STATUS" || ps_fail "pty gone: status '$RS_STATUS' does not name /dev/null"
PS_PIDS+=("$pid")
ps_alive "$pid" || ps_fail "restored $pid is not running"
ps_wait_free "$pid" "after its restore"
ps_pass "pty gone: $RS_STATUS"
rs_verify "$pid" "$PS_TMP/b.results"
expect_fds "$pid" "pty gone" /dev/null 0
case " $RS_RESULT " in
*" stdin=EOF "*) ;;
*) ps_fail "pty gone: stdin should read EOF, as /dev/null does: $RS_RESULT" ;;
esac
ps_pass "pty gone: fds 0-2 are /dev/null, not terminals"
rs_kill "$pid"
pty_cmd ptyb exit

# ---- C: the pty is gone and a new pty has its number ----
pty_start ptyc
tty=$PTY_PATH
tty_start c "$tty" "$PS_TMP/c.results"
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/img-c"
pty_cmd ptyc close
pty_start ptyd    # the kernel hands out the lowest free number: most likely $tty again
if [ "$PTY_PATH" != "$tty" ]; then
	ps_log "the new pty is $PTY_PATH, not $tty: nothing reused it (another pty was opened meanwhile)"
fi
rs_restore "$PS_TMP/img-c" tty-c
[ "$RS_CP_RC" = 0 ] || ps_fail "pty reused: the restore must succeed, but cp exited $RS_CP_RC: $RS_CP_ERR (status '$RS_STATUS')"
case $RS_STATUS in
"restored $pid; "*"$tty"*"/dev/null"*) ;;
*) ps_fail "pty reused: status is '$RS_STATUS', want 'restored $pid; ...' naming $tty and /dev/null" ;;
esac
if [ "$PTY_PATH" = "$tty" ]; then
	grep -q "another terminal now" <<<"$RS_STATUS" || ps_fail "pty reused: status '$RS_STATUS' does not say $tty is another terminal now"
fi
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its restore"
rs_verify "$pid" "$PS_TMP/c.results"
expect_fds "$pid" "pty reused" /dev/null 0
ps_pass "pty reused: $RS_STATUS; fds 0-2 are /dev/null"
rs_kill "$pid"
pty_cmd ptyc exit
pty_cmd ptyd exit
