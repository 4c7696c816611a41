#!/bin/bash
# restore_fd_unix: unix sockets come back at the same fd numbers and flags: stream,
# datagram and seqpacket socketpairs with their unread data (boundaries kept), a
# listener on a path (its stale socket file left by the kill is no obstacle; it
# accepts a client from outside and one of the process's own, backlog 5 kept), a
# listener and a datagram socket on abstract names. A stream socket connected to a
# listener outside the process cannot be restored: the restore refuses it by fd.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

UNIX=$TARGETS/restore_fd_unix
rs_setup "$UNIX"

# assert_sockets FDS_JSON FD...: the image lists each FD as a socket.
assert_sockets() {
	python3 - "$@" <<'EOF' || ps_fail "the image does not list the sockets"
import json, sys
fds = {f["fd"]: f for f in json.load(open(sys.argv[1]))["fds"]}
for n in sys.argv[2:]:
    t = fds.get(int(n), {}).get("type")
    if t != "socket":
        sys.exit("%s: fd %s is %r, want 'socket'" % (sys.argv[1], n, t))
EOF
}

# backlog PATH: the backlog of the unix listener on PATH (ss: Send-Q of a listener).
backlog() {
	ss -Hxl | awk -v p="$1" '$5 == p { print $4; exit }'
}

# ---- every kind of unix socket, restored ----
dir=$PS_TMP/sockets
mkdir "$dir"
res=$PS_TMP/unix.results
ps_start unix "$UNIX" "$res" "$dir"
pid=$PS_TARGET
sock=$(ps_field path)
ps_assert_eq "$dir/listen.sock" "$sock" "the listener's path"
[ -S "$sock" ] || ps_fail "$sock is not a socket file"
have_ss=
if command -v ss >/dev/null; then
	have_ss=1
	ps_assert_eq 5 "$(backlog "$sock")" "backlog of $sock (ss Send-Q) before the checkpoint"
else
	ps_log "no ss (iproute2): the backlog is not checked"
fi
fds=()
for k in stream_a stream_b dgram_a dgram_b seq_a seq_b listen abs_stream abs_dgram; do
	fds+=("$(ps_field "$k")")
done
rs_checkpoint "$pid" "$PS_TMP/img"
assert_sockets "$PS_TMP/img/fds.json" "${fds[@]}"
# The kill closed the listener but left its file: a restore must bind there again.
[ -S "$sock" ] && ps_log "$sock stays after the kill, as a stale socket file"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
if [ -n "$have_ss" ]; then
	ps_assert_eq 5 "$(backlog "$sock")" "backlog of $sock (ss Send-Q) after the restore"
fi

# A client from outside: connected before the verify, it waits for the answer.
python3 - "$sock" >"$PS_TMP/client.out" 2>&1 <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall(b"ext\n")
print("connected", flush=True)
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(64)
    if not chunk:
        break
    data += chunk
print("got %r" % data, flush=True)
EOF
client=$!
PS_PIDS+=("$client")
connected() { grep -q '^connected' "$PS_TMP/client.out" || ! ps_alive "$client"; }
ps_wait_for 10 "the outside client to connect to $sock" connected
grep -q '^connected' "$PS_TMP/client.out" ||
	ps_fail "the outside client could not connect to $sock: $(cat "$PS_TMP/client.out")"
rs_verify "$pid" "$res"
answered() { grep -q '^got' "$PS_TMP/client.out" || ! ps_alive "$client"; }
ps_wait_for 10 "the outside client to get its answer" answered
wait "$client" || ps_fail "the outside client failed: $(cat "$PS_TMP/client.out")"
rs_forget "$client"
ps_assert_eq "got b'ack\\n'" "$(grep '^got' "$PS_TMP/client.out")" \
	"what the outside client read from the restored listener's connection"
ps_pass "the outside client was accepted by the restored listener and answered"
rs_kill "$pid"

# ---- a stream socket connected to a listener outside the process: refused ----
osock=$PS_TMP/outside.sock
python3 - "$osock" >"$PS_TMP/outside-listener.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
time.sleep(3600)
EOF
listener=$!
PS_PIDS+=("$listener")
listening() { grep -q '^listening' "$PS_TMP/outside-listener.out" || ! ps_alive "$listener"; }
ps_wait_for 10 "the outside listener on $osock" listening
ps_alive "$listener" || ps_fail "the outside listener died: $(cat "$PS_TMP/outside-listener.out")"
mkdir "$PS_TMP/sockets2"
ps_start outside "$UNIX" "$PS_TMP/outside.results" "$PS_TMP/sockets2" "outside=$osock"
pid=$PS_TARGET
ofd=$(ps_field outside)
rs_checkpoint "$pid" "$PS_TMP/img-outside"
assert_sockets "$PS_TMP/img-outside/fds.json" "$ofd"
rs_restore "$PS_TMP/img-outside" outside
case $RS_STATUS in
failed:*) ;;
*) ps_fail "socket with a peer outside: status is '$RS_STATUS', want 'failed: ...'" ;;
esac
grep -Eq "fd $ofd([^0-9]|$)" <<<"$RS_STATUS" ||
	ps_fail "socket with a peer outside: status '$RS_STATUS' does not name fd $ofd"
[ "$RS_CP_RC" != 0 ] || ps_fail "socket with a peer outside: the restore failed but cp exited 0"
rs_assert_nothing_left "$pid"
rs_assert_staged outside "$PS_TMP/img-outside"
ps_pass "socket with a peer outside the process (fd $ofd) refused: $RS_STATUS"
kill "$listener"
wait "$listener" 2>/dev/null || true
rs_forget "$listener"
