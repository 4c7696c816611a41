# shellcheck shell=bash disable=SC2034,SC2154  # names for the tests sourcing this; lib.sh sets top_builddir
# Helpers of the multi-threaded restore tests (tests/e2e/restore_threads*.sh),
# sourced after lib.sh and restore_lib.sh (bash, set -eu).

RS_THREADS=$TARGETS/restore_threads
RS_THREADS_PC=$TARGETS/restore_threads_pc
RS_THREADS_BLOCK=$TARGETS/restore_threads_block
RS_THREADS_LIFE=$TARGETS/restore_threads_life

# The tests that checkpoint a restored process again (same pid) mount with
# this hold time: procsnap's default, so the original's snapshot is still
# held when the restored process (same pid) is checkpointed. It must not be
# served for it (th_checkpoint checks the process is really frozen).
TH_HOLD=${TH_HOLD:-2}

# th_setup [PROGRAM...]: rs_setup, with hold=$TH_HOLD.
th_setup() {
	ps_setup "$REAPER" "$@"
	MNT=$PS_TMP/mnt
	ps_mount "$MNT" "spool=$PS_TMP/spool,hold=$TH_HOLD"
	[ -d "$MNT/restore" ] || ps_fail "$MNT/restore is missing: this procsnap cannot restore"
}

# th_checkpoint PID IMG: rs_checkpoint, after making sure that the snapshot
# is a new one of this very process: frozen by our procsnap while fd 9 holds
# its image.json open (and so all through the copy on fd 8).
th_checkpoint() {
	exec 9<"$MNT/$1/image.json"
	ps_assert_frozen "$1" "$PS_DAEMON" "while its image.json is open (a snapshot of a dead process with the same pid?)"
	rs_checkpoint "$1" "$2"
	exec 9<&-
}

# th_tasks PID: "<tid> <comm>" of every thread of PID, by tid. A comm may
# hold spaces: everything after the first space is the name.
th_tasks() {
	local t c
	for t in /proc/"$1"/task/*; do
		c=$(cat "$t/comm" 2>/dev/null) || continue
		printf '%s %s\n' "${t##*/}" "$c"
	done | sort -n
}

# th_wait_tasks PID N: wait until PID has N threads (a thread's exit shows
# in /proc a little after the thread is joined).
th_wait_tasks() {
	local end=$((SECONDS + 6)) n
	while :; do
		n=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		[ "$n" = "$2" ] && return 0
		[ "$SECONDS" -lt "$end" ] || ps_fail "process $1 has $n threads, want $2"
		sleep 0.05
	done
}

# th_assert_tasks PID EXPECTED WHAT: the tids and names of PID's threads are
# exactly EXPECTED (th_tasks output); on a difference, show it.
th_assert_tasks() {
	local got
	got=$(th_tasks "$1")
	[ "$got" = "$2" ] ||
		ps_fail "$3: threads of $1 differ (< expected, > got):$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$got") | grep '^[<>]' | head -n 20 | tr '\n' ';')"
}

# th_py COMMAND ARGS...:
#   u64s SRC ADDR STRIDE N   the N little-endian uint64s at ADDR, ADDR+STRIDE, ...,
#                            space-separated; SRC is an image directory, or
#                            pid:PID for the live process (/proc/PID/mem)
#   tasks IMG                "<tid> <comm>" of each registers/<tid>.json, by tid
#   syscalls IMG             "<tid> <nr> <ret>" of each thread: the syscall it was
#                            in at the checkpoint (nr -1 when in none)
#   rem IMG TID              the time (seconds) left to the nanosleep or relative
#                            clock_nanosleep TID was in: what the kernel wrote to
#                            its rem when the checkpoint interrupted it
th_py() {
	python3 -c "$TH_PY" "$@"
}

TH_PY=$(
	cat <<'EOF'
import json, os, struct, sys

def die(msg):
    sys.exit("th_py %s: %s" % (sys.argv[1], msg))

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        die("cannot read %s: %s" % (path, e))

def num(v):
    return v if isinstance(v, int) else int(str(v), 16)

def image_reader(img):
    maps = load(os.path.join(img, "memory/maps.json"))["mappings"]
    def read(addr, length):
        for m in maps:
            if num(m["start"]) <= addr < num(m["end"]):
                if not m.get("content"):
                    die("0x%x: mapping %s-%s has no content" % (addr, m["start"], m["end"]))
                with open(os.path.join(img, m["content"]), "rb") as f:
                    f.seek(addr - num(m["start"]))
                    return f.read(length)
        die("0x%x is in no mapping of %s" % (addr, img))
    return read

def live_reader(pid):
    f = open("/proc/%s/mem" % pid, "rb")
    def read(addr, length):
        f.seek(addr)
        return f.read(length)
    return read

def threads(img):
    out = []
    d = os.path.join(img, "registers")
    for name in os.listdir(d):
        out.append(load(os.path.join(d, name)))
    return sorted(out, key=lambda t: int(t["tid"]))

def main(cmd, *a):
    if cmd == "u64s":
        read = live_reader(a[0][4:]) if a[0].startswith("pid:") else image_reader(a[0])
        addr, stride, n = num(a[1]), int(a[2]), int(a[3])
        vals = []
        for i in range(n):
            b = read(addr + i * stride, 8)
            if len(b) != 8:
                die("short read at 0x%x" % (addr + i * stride))
            vals.append(str(struct.unpack("<Q", b)[0]))
        print(" ".join(vals))
    elif cmd == "tasks":
        for t in threads(a[0]):
            print(t["tid"], t["comm"])
    elif cmd == "syscalls":
        for t in threads(a[0]):
            s = t.get("syscall") or {}
            print(t["tid"], s.get("nr", -1) if s.get("in_syscall") else -1, s.get("ret", 0))
    elif cmd == "rem":
        t = load(os.path.join(a[0], "registers", a[1] + ".json"))
        nr = (t.get("syscall") or {}).get("nr")
        regs = t["regs"]
        if nr == 35:        # nanosleep(req, rem)
            at = num(regs["rsi"])
        elif nr == 230:     # clock_nanosleep(clock, flags, req, rem)
            at = num(regs["r10"])
        else:
            die("thread %s is in syscall %s, not a sleep" % (a[1], nr))
        if not at:
            die("thread %s sleeps with no rem" % a[1])
        sec, nsec = struct.unpack("<qq", image_reader(a[0])(at, 16))
        print("%.6f" % (sec + nsec / 1e9))
    else:
        die("unknown command")

main(*sys.argv[1:])
EOF
)

# th_in_syscall PID TID: the number of the syscall TID is blocked in, from
# /proc (-1 when it is running or the file says nothing of use).
th_in_syscall() {
	local nr
	read -r nr _ <"/proc/$1/task/$2/syscall" || nr=
	case $nr in
	'' | *[!0-9]*) echo -1 ;;
	*) echo "$nr" ;;
	esac
}

# th_sum NUMBERS...: their sum
th_sum() {
	local s=0 v
	for v in "$@"; do
		s=$((s + v))
	done
	echo "$s"
}
