#!/bin/bash
# restore_fd_inet: TCP listeners on 127.0.0.1 and ::1 and UDP sockets (one bound, one
# connected to it) come back bound to the same ports with their options (SO_REUSEADDR,
# TCP_NODELAY, SO_KEEPALIVE, IPV6_V6ONLY, buffer sizes), flags and backlog: clients from
# outside connect and are accepted and answered, datagrams arrive. Both ends of an
# established TCP connection in the process: the restore either refuses them cleanly,
# naming the fd and TCP, or brings the connection back working, queued bytes included.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

INET=$TARGETS/restore_fd_inet
rs_setup "$INET"
have_ss=
if command -v ss >/dev/null; then
	have_ss=1
else
	ps_log "no ss (iproute2): backlogs and free ports are not checked"
fi

# backlog PORT: the backlog of the TCP listener on PORT (ss: Send-Q of a listener).
backlog() {
	ss -Htln "sport = :$1" | awk '{ print $3; exit }'
}

# assert_backlogs WHEN: 7 on tcp_port, 4 on tcp6_port.
assert_backlogs() {
	[ -n "$have_ss" ] || return 0
	ps_assert_eq 7 "$(backlog "$tcp_port")" "backlog on 127.0.0.1:$tcp_port (ss Send-Q) $1"
	[ "$tcp6_port" = none ] ||
		ps_assert_eq 4 "$(backlog "$tcp6_port")" "backlog on [::1]:$tcp6_port (ss Send-Q) $1"
}

# assert_ports_free: the kill closed the listeners and the UDP sockets, so that the
# restore can bind their ports again; nothing else took them meanwhile. (A TCP port
# may still have connections in TIME-WAIT: SO_REUSEADDR, or a listener without
# connections, binds anyway.)
assert_ports_free() {
	local p left=
	[ -n "$have_ss" ] || return 0
	for p in "$tcp_port" "$tcp6_port"; do
		[ "$p" = none ] || left+=$(ss -Htln "sport = :$p")
	done
	for p in "$udp_port" "$udpc_port"; do
		left+=$(ss -Huan "sport = :$p")
	done
	[ -z "$left" ] || ps_fail "ports of the killed process are still in use: $left"
	ps_log "the ports are free again after the kill"
}

# start NAME [established]: a target; sets pid, res and the ports.
start() {
	res=$PS_TMP/$1.results
	ps_start "$1" "$INET" "$res" "${@:2}"
	pid=$PS_TARGET
	tcp_port=$(ps_field tcp_port)
	tcp6_port=$(ps_field tcp6_port)
	udp_port=$(ps_field udp_port)
	udpc_port=$(ps_field udpc_port)
	if [ "$tcp6_port" = none ]; then
		ps_log "SKIP (the IPv6 part only): ::1 cannot be bound (ip -6 addr show lo: '$(ip -6 addr show lo 2>&1 | tr '\n' ' ')')"
	fi
	assert_backlogs "before the checkpoint"
}

# clients NAME: from outside, connect to the TCP ports and send a line each, send a
# datagram, print "sent", then wait for each answer. Sets client (its pid).
clients() {
	local out=$PS_TMP/$1.clients
	python3 - "$tcp_port" "$tcp6_port" "$udp_port" >"$out" 2>&1 <<'EOF' &
import socket, sys
tcp4, tcp6, udp = sys.argv[1:4]
conns = []
s = socket.create_connection(("127.0.0.1", int(tcp4)), timeout=30)
s.sendall(b"tcp4\n")
conns.append(("tcp4", s))
if tcp6 != "none":
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s6.settimeout(30)
    s6.connect(("::1", int(tcp6)))
    s6.sendall(b"tcp6\n")
    conns.append(("tcp6", s6))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"udp-ext\n", ("127.0.0.1", int(udp)))
print("sent", flush=True)
for name, c in conns:
    data = b""
    while not data.endswith(b"\n"):
        chunk = c.recv(64)
        if not chunk:
            break
        data += chunk
    print("%s got %r" % (name, data), flush=True)
EOF
	client=$!
	PS_PIDS+=("$client")
	sent() { grep -q '^sent' "$out" || ! ps_alive "$client"; }
	ps_wait_for 10 "the outside clients to connect" sent
	grep -q '^sent' "$out" || ps_fail "the outside clients could not connect or send: $(cat "$out")"
}

# clients_answered NAME: each TCP client got its answer from the restored process.
clients_answered() {
	local out=$PS_TMP/$1.clients want
	wait "$client" || ps_fail "the outside clients failed: $(cat "$out")"
	rs_forget "$client"
	want="tcp4 got b'ack-tcp4\\n'"
	[ "$tcp6_port" = none ] || want="$want"$'\n'"tcp6 got b'ack-tcp6\\n'"
	ps_assert_eq "$want" "$(grep ' got ' "$out")" "what the outside clients read"
	ps_pass "the outside clients were accepted and answered by the restored listeners"
}

# ---- listeners and UDP sockets, restored ----
start inet
rs_checkpoint "$pid" "$PS_TMP/img"
assert_ports_free
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
assert_backlogs "after the restore"
clients inet
rs_verify "$pid" "$res"
clients_answered inet
rs_kill "$pid"

# ---- both ends of an established TCP connection: refused, or restored working ----
start established established
cli=$(ps_field cli)
srv=$(ps_field srv)
rs_checkpoint "$pid" "$PS_TMP/img-established"
assert_ports_free
rs_restore "$PS_TMP/img-established" established
case $RS_STATUS in
"restored $pid")
	PS_PIDS+=("$pid")
	[ "$RS_CP_RC" = 0 ] || ps_fail "established: status says restored but cp exited $RS_CP_RC: $RS_CP_ERR"
	ps_wait_free "$pid" "after its restore"
	clients established
	rs_verify "$pid" "$res"
	clients_answered established
	rs_kill "$pid"
	ps_pass "established: the TCP connection (fds $cli and $srv) was restored and carries data both ways"
	;;
failed:*)
	grep -Eq "fd ($cli|$srv)([^0-9]|$)" <<<"$RS_STATUS" ||
		ps_fail "established: status '$RS_STATUS' names neither fd $cli nor fd $srv"
	grep -Eiq "TCP|established" <<<"$RS_STATUS" ||
		ps_fail "established: status '$RS_STATUS' says neither TCP nor established"
	[ "$RS_CP_RC" != 0 ] || ps_fail "established: the restore failed but cp exited 0"
	rs_assert_nothing_left "$pid"
	rs_assert_staged established "$PS_TMP/img-established"
	ps_pass "established: the TCP connection was refused cleanly: $RS_STATUS"
	;;
*) ps_fail "established: status is '$RS_STATUS', want 'restored $pid' or 'failed: ...'" ;;
esac
