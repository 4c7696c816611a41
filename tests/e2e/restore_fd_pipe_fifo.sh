#!/bin/bash
# restore_fd_pipe_fifo: half pipes (a read end holding "abc" with no writer anywhere: EOF
# after it; a write end with no reader: EPIPE), a pipe of 1 MiB (F_SETPIPE_SZ) holding
# 200000 bytes with O_NONBLOCK on its read end only, and a named FIFO holding
# "fifo-data\n" come back with their bytes, size and flags; stdin, a pipe whose write
# end another process holds (a writer that outlives the checkpoint), is reattached to
# that very pipe: a line sent through the writer after the restore reaches the process.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

BIN=$TARGETS/restore_fd_pipe_fifo
rs_setup "$BIN"

# fd_data IMG FD WHAT: the image file holding the bytes of fd FD (its "data"
# in fds.json); fail naming WHAT, with the reason procsnap gave, if it has none.
fd_data() {
	local data
	data=$(ps_py fd "$1" "$2" data) || ps_fail "fds.json: no entry for fd $2 ($3)"
	if [ "$data" = null ] || [ ! -f "$1/$data" ]; then
		ps_fail "the image holds no bytes of fd $2 ($3): data '$data', supported" \
			"$(ps_py fd "$1" "$2" supported), reason: $(ps_py fd "$1" "$2" unsupported_reason)"
	fi
	printf '%s\n' "$1/$data"
}

# pattern_ok FILE LEN: FILE is exactly the LEN bytes of the target's pattern.
pattern_ok() {
	python3 - "$@" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
sys.exit(0 if data == bytes(97 + (i * 7 + i // 26) % 26 for i in range(n)) else 1)
EOF
}

# ---- the writer: cat, forwarding what the test writes to its stdin into its
# stdout, the pipe that becomes the target's stdin. It outlives the target.
coproc WRITER {
	for fd in /proc/"$BASHPID"/fd/*; do
		n=${fd##*/}
		[ "$n" -le 2 ] || eval "exec $n>&-"
	done
	exec cat
}
writer=$WRITER_PID
PS_PIDS+=("$writer")
# Bash hides a coproc's fds from subshells: keep ordinary copies, and close
# the originals.
exec {to_writer}>&"${WRITER[1]}" {from_writer}<&"${WRITER[0]}"
fd=${WRITER[1]}
exec {fd}>&-
fd=${WRITER[0]}
exec {fd}<&-

# The target's stdin is the very pipe the writer's stdout is.
assert_stdin_is_writers() { # PID WHEN
	local theirs ours
	ps_alive "$writer" || ps_fail "the writer $writer died $2"
	theirs=$(readlink "/proc/$writer/fd/1") || ps_fail "the writer has no stdout $2"
	ours=$(readlink "/proc/$1/fd/0") || ps_fail "process $1 has no stdin $2"
	case $theirs in pipe:*) ;; *) ps_fail "the writer's stdout is '$theirs', not a pipe" ;; esac
	ps_assert_eq "$theirs" "$ours" "stdin of $1 $2 (the writer's stdout)"
}

fifo=$PS_TMP/fifo
mkfifo "$fifo"
res=$PS_TMP/pipes.results
printf 'before\n' >&"$to_writer"   # the target reads it before READY
# The target's stdin is the writer's pipe (opened again through /dev/fd);
# then this shell closes its own read end: the target is its only reader.
PS_STDIN=/dev/fd/$from_writer ps_start pipes "$BIN" "$res" "$fifo"
exec {from_writer}<&-
pid=$PS_TARGET
half_r=$(ps_field half_r)
big_r=$(ps_field big_r)
big_w=$(ps_field big_w)
fifo_fd=$(ps_field fifo)
assert_stdin_is_writers "$pid" "before the checkpoint"

img=$PS_TMP/img
rs_checkpoint "$pid" "$img"
ps_alive "$writer" || ps_fail "the writer died with the checkpointed process"

# ---- the image: fds.json, and the bytes each pipe and the FIFO held ----
[ -f "$img/fds.json" ] || ps_fail "the image has no fds.json"
data=$(fd_data "$img" "$half_r" "the half pipe's read end")
printf abc | cmp -s - "$data" || ps_fail "$data holds '$(head -c 64 "$data")', want 'abc'"
# A pipe's bytes are saved once, on its lowest fd.
data=$(fd_data "$img" $((big_r < big_w ? big_r : big_w)) "the 1 MiB pipe")
ps_assert_eq 200000 "$(stat -c %s "$data")" "size of $data (the 1 MiB pipe's bytes)"
pattern_ok "$data" 200000 || ps_fail "$data does not hold the 1 MiB pipe's 200000 bytes"
ps_assert_eq 1048576 "$(ps_py fd "$img" "$big_r" pipe_size)" "fds.json: pipe_size of fd $big_r"
data=$(fd_data "$img" "$fifo_fd" "the FIFO")
printf 'fifo-data\n' | cmp -s - "$data" || ps_fail "$data holds '$(head -c 64 "$data")', want 'fifo-data\\n'"
ps_pass "the image holds the bytes of the half pipe, the 1 MiB pipe and the FIFO"

# ---- the restore: stdin is the writer's pipe again ----
rs_restore_ok "$img" "$pid" "$pid"
assert_stdin_is_writers "$pid" "after the restore"
printf 'after\n' >&"$to_writer"
rs_verify "$pid" "$res"
rs_kill "$pid"

kill -KILL "$writer"
wait "$writer" 2>/dev/null || true
rs_wait_gone "$writer" "after kill -9 of the writer"
ps_pass "the writer $writer is gone"
