# shellcheck shell=bash disable=SC2034  # the names below are for the tests sourcing this
# Shared helpers of the end-to-end tests, sourced by tests/e2e/*.sh (bash, set -eu).
#
# A test calls ps_setup, mounts procsnap with ps_mount, starts its target with
# ps_start, and asserts with the ps_* helpers below. On exit (pass, fail or
# signal) everything it started is stopped and unmounted, by pid and by path:
# nothing else on the machine is touched. Exit codes follow automake: 0 pass,
# 77 skip (a failure when CI=true: CI must really run these), anything else fail.
# Tests keep snapshot handles on fds 8 and 9 only; the cleanup closes them.

ps_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$ps_here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}

PROCSNAP=$top_builddir/procsnap
COUNTER=$top_builddir/examples/counter
PATTERN=$top_builddir/tests/targets/pattern
THREADS=$top_builddir/tests/targets/threads
BIGMAP=$top_builddir/tests/targets/bigmap

PS_TEST=$(basename "$0" .sh)
PS_TMP=
PS_MOUNTS=()      # mountpoints this test mounted
PS_DAEMONS=()     # procsnap daemons it started (pids)
PS_DAEMON_MNTS=() # the mount point of each of them
PS_DAEMON_LOGS=()
PS_PIDS=()        # targets it started (pids)
PS_DAEMON=        # the last daemon started by ps_mount
PS_TARGET=        # the last target started by ps_start
PS_READY=         # its READY line

# ---- messages ----

ps_log() { printf '%s: %s\n' "$PS_TEST" "$*"; }
ps_fail() { printf '%s: FAIL: %s\n' "$PS_TEST" "$*" >&2; exit 1; }
ps_pass() { printf '%s: ok: %s\n' "$PS_TEST" "$*"; }

ps_skip() {
	if [ "${CI:-}" = true ]; then
		printf '%s: FAIL: cannot run, and CI must run every test: %s\n' "$PS_TEST" "$*" >&2
		exit 1
	fi
	printf '%s: SKIP: %s\n' "$PS_TEST" "$*"
	exit 77
}

ps_assert_eq() { # EXPECTED ACTUAL WHAT
	[ "$1" = "$2" ] || ps_fail "$3: expected '$1', got '$2'"
}

# ps_wait_for SECONDS WHAT COMMAND...: poll COMMAND every 0.1 s until it
# succeeds; fail naming WHAT when SECONDS have passed.
ps_wait_for() {
	local secs=$1 what=$2 end
	shift 2
	end=$((SECONDS + secs + 1))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || ps_fail "timed out after ${secs}s waiting for $what"
		sleep 0.1
	done
}

# ---- setup and cleanup ----

# ps_setup [PROGRAM...]: check that this machine can run the test and that the
# programs it needs are built; make PS_TMP and arrange the cleanup.
ps_setup() {
	local p
	[ "$(id -u)" = 0 ] || ps_skip "needs root (FUSE mount and ptrace of any process)"
	[ -c /dev/fuse ] || ps_skip "no /dev/fuse (modprobe fuse, or give the container the device)"
	command -v fusermount3 >/dev/null || ps_skip "fusermount3 missing: apt-get install fuse3"
	command -v python3 >/dev/null || ps_skip "python3 missing: apt-get install python3"
	if [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" = 3 ]; then
		ps_skip "ptrace is disabled (kernel.yama.ptrace_scope = 3)"
	fi
	for p in "$PROCSNAP" "$@"; do
		[ -x "$p" ] || ps_fail "$p is not built (run make check, or make $(basename "$p"))"
	done
	PS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/procsnap-$PS_TEST.XXXXXX")
	PS_TMP=$(realpath "$PS_TMP")   # as /proc/self/mounts will spell it
	trap ps_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

ps_cleanup() {
	local rc=$? i pid mnt left=
	set +e
	exec 8<&- 9<&-
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		for i in "${!PS_DAEMON_LOGS[@]}"; do
			ps_log "---- procsnap log ${PS_DAEMON_LOGS[$i]} (last 40 lines) ----"
			tail -n 40 "${PS_DAEMON_LOGS[$i]}" 2>/dev/null
		done
	fi
	for ((i = ${#PS_MOUNTS[@]} - 1; i >= 0; i--)); do
		mnt=${PS_MOUNTS[$i]}
		ps_is_mounted "$mnt" || continue
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" ||
			ps_log "warning: could not unmount $mnt"
	done
	for pid in "${PS_DAEMONS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			ps_alive "$pid" || break
			sleep 0.1
		done
		if ps_alive "$pid"; then
			ps_log "warning: procsnap $pid still running after unmount: killing it"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	for pid in "${PS_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Under ./configure --enable-sanitizers a report in a daemon's log (it
	# prints leaks when it exits) fails the test.
	for i in "${!PS_DAEMON_LOGS[@]}"; do
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "${PS_DAEMON_LOGS[$i]}" 2>/dev/null; then
			printf '%s: FAIL: sanitizer report from procsnap:\n' "$PS_TEST" >&2
			cat "${PS_DAEMON_LOGS[$i]}" >&2
			[ "$rc" != 0 ] && [ "$rc" != 77 ] || rc=1
		fi
	done
	if [ -n "$PS_TMP" ]; then
		for mnt in "${PS_MOUNTS[@]}"; do
			ps_is_mounted "$mnt" && left=$mnt
		done
		# Never recurse into a mount that is still there.
		if [ -n "$left" ]; then
			ps_log "warning: $left is still mounted: leaving $PS_TMP"
		else
			rm -rf --one-file-system "$PS_TMP"
		fi
	fi
	exit "$rc"
}

# ---- processes ----

ps_alive() { # PID: exists and is not a zombie
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

ps_tracer() { # PID: its TracerPid
	sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$1/status"
}

ps_task_states() { # PID: one line per thread: "<tid> <state letter>"
	local t s
	for t in /proc/"$1"/task/*; do
		s=$(cat "$t/stat" 2>/dev/null) || continue
		s=${s##*) }
		printf '%s %s\n' "${t##*/}" "${s%% *}"
	done
}

ps_describe() { # PID: state of every thread and the tracer, for messages
	printf 'TracerPid %s, threads: %s' "$(ps_tracer "$1" 2>/dev/null)" \
		"$(ps_task_states "$1" | tr '\n' ' ')"
}

# Running on its own: alive, not traced, no thread in tracing stop.
ps_is_free() {
	ps_alive "$1" && [ "$(ps_tracer "$1")" = 0 ] &&
		! ps_task_states "$1" | grep -q ' t$'
}

# Frozen by procsnap DAEMON: traced by one of its threads (TracerPid is the
# tracer thread's tid), every thread in tracing stop.
ps_is_frozen() { # PID DAEMON
	local tracer
	ps_alive "$1" || return 1
	tracer=$(ps_tracer "$1")
	[ "$tracer" != 0 ] && [ -d "/proc/$2/task/$tracer" ] &&
		! ps_task_states "$1" | grep -qv ' t$'
}

ps_assert_free() { # PID WHEN
	ps_is_free "$1" || ps_fail "process $1 is not running freely $2 ($(ps_describe "$1"))"
}

ps_assert_frozen() { # PID DAEMON WHEN
	ps_is_frozen "$1" "$2" ||
		ps_fail "process $1 is not frozen by procsnap $2 $3 ($(ps_describe "$1"))"
}

ps_wait_free() { # PID WHEN: a released snapshot lets the process run on
	local end=$((SECONDS + 11))
	until ps_is_free "$1"; do
		if [ "$SECONDS" -ge "$end" ]; then
			ps_log "files open under the mounts: $(ps_holders)"
			ps_fail "process $1 still not running freely 10s $2 ($(ps_describe "$1"))"
		fi
		sleep 0.1
	done
}

ps_holders() { # every open file under this test's mounts: "pid(comm):fd->path"
	local fd link mnt
	for fd in /proc/[0-9]*/fd/*; do
		link=$(readlink "$fd" 2>/dev/null) || continue
		for mnt in "${PS_MOUNTS[@]}"; do
			case $link in "$mnt"/*)
				fd=${fd#/proc/}
				printf '%s(%s):%s->%s ' "${fd%%/*}" "$(cat "/proc/${fd%%/*}/comm" 2>/dev/null)" "${fd##*/}" "$link"
				;;
			esac
		done
	done
	echo
}

# ps_start NAME COMMAND...: start a target with its stdout in $PS_TMP/NAME.out
# (stdin from $PS_STDIN, /dev/null unless set) and wait for its READY line:
# sets PS_TARGET (pid) and PS_READY.
ps_start() {
	local name=$1 out err end
	shift
	out=$PS_TMP/$name.out
	err=$PS_TMP/$name.err
	# Only fds 0-2: whatever the harness inherited (a make jobserver pipe...)
	# is no part of the target and may be a kind procsnap cannot restore.
	(
		for fd in /proc/"$BASHPID"/fd/*; do
			n=${fd##*/}
			[ "$n" -le 2 ] || eval "exec $n>&-"
		done
		exec "$@"
	) >"$out" 2>"$err" <"${PS_STDIN:-/dev/null}" &
	PS_TARGET=$!
	PS_PIDS+=("$PS_TARGET")
	end=$((SECONDS + 11))
	until grep -q '^READY' "$out"; do
		ps_alive "$PS_TARGET" || ps_fail "$name exited before READY: $(cat "$err")"
		[ "$SECONDS" -lt "$end" ] || ps_fail "$name printed no READY line in 10s"
		sleep 0.05
	done
	PS_READY=$(grep -m1 '^READY' "$out")
	ps_log "started $name (pid $PS_TARGET): $PS_READY"
}

ps_field() { # KEY: value of KEY=value in the READY line
	local w
	for w in $PS_READY; do
		case $w in "$1="*)
			printf '%s\n' "${w#*=}"
			return 0
			;;
		esac
	done
	ps_fail "no $1= in '$PS_READY'"
}

# ---- the mount ----

ps_is_mounted() { # MOUNTPOINT
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/self/mounts
}

# ps_mount MOUNTPOINT [OPTIONS]: run procsnap -f [-o OPTIONS] in the
# background and wait until it is mounted: sets PS_DAEMON.
ps_mount() {
	local mnt=$1 opts=${2:-} log end
	mkdir -p "$mnt"
	log=$PS_TMP/procsnap.${#PS_DAEMONS[@]}.log
	# A spool of the test's own unless it names one: never the machine's.
	case ",$opts," in
	*,spool=*) ;;
	*) opts="${opts:+$opts,}spool=$PS_TMP/spool.${#PS_DAEMONS[@]}" ;;
	esac
	"$PROCSNAP" -f -o "$opts" "$mnt" >"$log" 2>&1 </dev/null &
	PS_DAEMON=$!
	PS_DAEMONS+=("$PS_DAEMON")
	PS_DAEMON_MNTS+=("$mnt")
	PS_DAEMON_LOGS+=("$log")
	PS_MOUNTS+=("$mnt")
	end=$((SECONDS + 11))
	until ps_is_mounted "$mnt"; do
		ps_alive "$PS_DAEMON" || ps_fail "procsnap exited before mounting $mnt: $(cat "$log")"
		[ "$SECONDS" -lt "$end" ] || ps_fail "procsnap did not mount $mnt in 10s"
		sleep 0.05
	done
	ps_log "mounted procsnap (pid $PS_DAEMON) on $mnt${opts:+ with -o $opts}"
}

ps_unmount() { # MOUNTPOINT: also for a mount whose daemon died
	local i end
	fusermount3 -u "$1" 2>/dev/null || umount -l "$1"
	! ps_is_mounted "$1" || ps_fail "$1 is still mounted after unmounting it"
	# Its daemon holds the spool until it has exited (a mount on the same
	# spool right after would find it in use): wait for it, as a zombie too.
	end=$((SECONDS + 11))
	for i in "${!PS_DAEMONS[@]}"; do
		[ "${PS_DAEMON_MNTS[$i]}" = "$1" ] || continue
		while ps_alive "${PS_DAEMONS[$i]}"; do
			[ "$SECONDS" -lt "$end" ] || ps_fail "procsnap ${PS_DAEMONS[$i]} still runs 10s after $1 was unmounted"
			sleep 0.05
		done
	done
}

# ---- images (JSON and memory files), via python3 ----

# ps_py COMMAND ARGS...:
#   get FILE KEY...         print the JSON value at that path (strings raw)
#   find FILE KEY           print the first value of KEY anywhere in the JSON
#   hasstr FILE STRING      succeed if STRING is a string value anywhere in it
#   mapping IMG ADDR        print "start end prot content" of the mapping holding ADDR
#   mem IMG ADDR LEN OUT    write the LEN bytes at ADDR, from IMG's memory files, to OUT
#   u64 IMG ADDR            print the little-endian uint64 at ADDR in IMG
#   live-u64 PID ADDR       the same, read from the live process (/proc/PID/mem)
#   check-image IMG PID     image.json: format 1, pid; its file list matches the tree
#                           (every file there, sizes, crc32s where given)
#   rip-exec IMG TID        rip of TID lies in an executable mapping; print both
#   u64s SRC ADDR STRIDE N  the N uint64s at ADDR, ADDR+STRIDE, ...; SRC is an image
#                           or pid:PID for the live process
#   tasks IMG               "<tid> <comm>" of each registers/<tid>.json, by tid
#   syscalls IMG            "<tid> <nr> <ret>": the syscall each thread was in (-1: none)
#   rem IMG TID             seconds left to TID's relative sleep at the checkpoint
#                           (what the kernel wrote to its rem)
#   fd IMG FD KEY           KEY of fd FD's entry in IMG/fds.json (strings raw)
#   relist IMG NAME         set NAME's size and crc32 in IMG/image.json to the file's
#                           own (a test that forges a file keeps the image consistent)
# IMG is an image directory: $MNT/<pid> or a copy of it. Addresses are
# "0x..." hex; the image's numbers may be JSON numbers or hex strings.
ps_py() {
	python3 -c "$PS_PY" "$@"
}

PS_PY=$(
	cat <<'EOF'
import json, os, struct, sys, zlib

def die(msg):
    sys.exit("%s: %s" % (sys.argv[1], msg))

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        die("cannot read %s: %s" % (path, e))

def num(v):
    if isinstance(v, bool):
        raise ValueError(v)
    if isinstance(v, int):
        return v
    return int(str(v), 16)

def walk(j):
    yield j
    if isinstance(j, dict):
        for v in j.values():
            yield from walk(v)
    elif isinstance(j, list):
        for v in j:
            yield from walk(v)

def find(j, key):
    for n in walk(j):
        if isinstance(n, dict) and key in n:
            return n[key]
    return None

def maps(img):
    j = load(os.path.join(img, "memory/maps.json"))
    for n in walk(j):
        if isinstance(n, list) and n and all(isinstance(e, dict) and "start" in e for e in n):
            return n
    die("no list of mappings in %s/memory/maps.json" % img)

def mapping(img, addr):
    for m in maps(img):
        if num(m["start"]) <= addr < num(m["end"]):
            return m
    die("address 0x%x is in no mapping of %s/memory/maps.json" % (addr, img))

def mem(img, addr, length):
    m = mapping(img, addr)
    if not m.get("content"):
        die("mapping %s-%s holding 0x%x has no content file" % (m["start"], m["end"], addr))
    path = os.path.join(img, m["content"])
    # the file is named for its range, which may hold adjacent mappings too
    base = int(m["content"].split("/")[-1].split("-")[0], 16)
    with open(path, "rb") as f:
        f.seek(addr - base)
        data = f.read(length)
    if len(data) != length:
        die("%s: read %d bytes at offset 0x%x, wanted %d"
            % (path, len(data), addr - base, length))
    return data

def check_image(img, pid):
    j = load(os.path.join(img, "image.json"))
    if j.get("format") != 1:
        die("image.json: format is %r, not 1" % j.get("format"))
    if str(j.get("pid")) != pid:
        die("image.json: pid is %r, not %s" % (j.get("pid"), pid))
    listed = set()
    for e in j.get("files") or die("image.json lists no files"):
        name = e["name"]
        listed.add(name)
        path = os.path.join(img, name)
        try:
            st = os.stat(path)
        except OSError as err:
            die("image.json lists %s: %s" % (name, err))
        if st.st_size != e["size"]:
            die("%s: size %d, image.json says %d" % (name, st.st_size, e["size"]))
        if e.get("crc32") is not None:
            crc = 0
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    crc = zlib.crc32(chunk, crc)
            if crc != num(e["crc32"]) and str(crc) != str(e["crc32"]):
                die("%s: crc32 0x%08x, image.json says %r" % (name, crc, e["crc32"]))
    for d, _, files in os.walk(img):
        for f in files:
            name = os.path.relpath(os.path.join(d, f), img)
            if name != "image.json" and name not in listed:
                die("%s is in the image but not listed in image.json" % name)
    print("%d files listed, all present and intact" % len(listed))

def threads(img):
    d = os.path.join(img, "registers")
    return sorted((load(os.path.join(d, n)) for n in os.listdir(d)), key=lambda t: int(t["tid"]))

def live_mem(pid, addr, length):
    with open("/proc/%s/mem" % pid, "rb") as f:
        f.seek(addr)
        return f.read(length)

def sleep_left(img, tid):
    t = load(os.path.join(img, "registers", tid + ".json"))
    nr = (t.get("syscall") or {}).get("nr")
    regs = t["regs"]
    if nr == 35:        # nanosleep(req, rem)
        at = num(regs["rsi"])
    elif nr == 230:     # clock_nanosleep(clock, flags, req, rem)
        at = num(regs["r10"])
    else:
        die("thread %s is in syscall %s, not a sleep" % (tid, nr))
    if not at:
        die("thread %s sleeps with no rem" % tid)
    sec, nsec = struct.unpack("<qq", mem(img, at, 16))
    return sec + nsec / 1e9

def main(cmd, *a):
    if cmd == "get":
        v = load(a[0])
        for k in a[1:]:
            v = v[int(k)] if isinstance(v, list) else v[k]
        print(v if isinstance(v, str) else json.dumps(v))
    elif cmd == "find":
        v = find(load(a[0]), a[1])
        if v is None:
            die("no %s in %s" % (a[1], a[0]))
        print(v if isinstance(v, str) else json.dumps(v))
    elif cmd == "hasstr":
        sys.exit(0 if any(n == a[1] for n in walk(load(a[0]))) else 1)
    elif cmd == "mapping":
        m = mapping(a[0], num(a[1]))
        print(m["start"], m["end"], m.get("prot"), m.get("content"))
    elif cmd == "mem":
        with open(a[3], "wb") as f:
            f.write(mem(a[0], num(a[1]), int(a[2])))
    elif cmd == "u64":
        print(struct.unpack("<Q", mem(a[0], num(a[1]), 8))[0])
    elif cmd == "live-u64":
        print(struct.unpack("<Q", live_mem(a[0], num(a[1]), 8))[0])
    elif cmd == "u64s":
        addr, stride, n = num(a[1]), int(a[2]), int(a[3])
        read = (lambda at: live_mem(a[0][4:], at, 8)) if a[0].startswith("pid:") \
            else (lambda at: mem(a[0], at, 8))
        print(" ".join(str(struct.unpack("<Q", read(addr + i * stride))[0]) for i in range(n)))
    elif cmd == "tasks":
        for t in threads(a[0]):
            print(t["tid"], t["comm"])
    elif cmd == "syscalls":
        for t in threads(a[0]):
            s = t.get("syscall") or {}
            print(t["tid"], s.get("nr", -1) if s.get("in_syscall") else -1, s.get("ret", 0))
    elif cmd == "rem":
        print("%.6f" % sleep_left(a[0], a[1]))
    elif cmd == "fd":
        for e in load(os.path.join(a[0], "fds.json"))["fds"]:
            if e.get("fd") == int(a[1]):
                v = e.get(a[2])
                print(v if isinstance(v, str) else json.dumps(v))
                break
        else:
            die("%s/fds.json has no entry for fd %s" % (a[0], a[1]))
    elif cmd == "check-image":
        check_image(a[0], a[1])
    elif cmd == "relist":
        data = open(os.path.join(a[0], a[1]), "rb").read()
        ip = os.path.join(a[0], "image.json")
        image = load(ip)
        listed = [f for f in image["files"] if f["name"] == a[1]]
        if not listed:
            die("%s does not list %s" % (ip, a[1]))
        listed[0]["size"] = len(data)
        if "crc32" in listed[0]:
            listed[0]["crc32"] = "0x%08x" % zlib.crc32(data)
        open(ip, "w").write(json.dumps(image, indent=2) + "\n")
    elif cmd == "rip-exec":
        regs = os.path.join(a[0], "registers", a[1] + ".json")
        rip = find(load(regs), "rip")
        if rip is None:
            die("no rip in %s" % regs)
        m = mapping(a[0], num(rip))
        if "x" not in str(m.get("prot")):
            die("rip %s is in %s-%s, prot %r: not executable" % (rip, m["start"], m["end"], m.get("prot")))
        print("rip %s in %s-%s %s %s" % (rip, m["start"], m["end"], m.get("prot"), m.get("path", "")))
    else:
        die("unknown command")

main(*sys.argv[1:])
EOF
)
