#!/bin/bash
# demo: mount procsnap, snapshot a running counter, save it with cp -r, read the
# counter out of the saved memory, kill the program and restore it from the copy.
# Run as root from a built tree (make demo, or sudo examples/demo.sh).
set -eu -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$(cd "$here/.." && pwd)}
PROCSNAP=$top_builddir/procsnap
COUNTER=$top_builddir/examples/counter
HOLD=1

die() { echo "demo: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run me as root: procsnap mounts a FUSE filesystem and uses ptrace"
for p in "$PROCSNAP" "$COUNTER"; do
	[ -x "$p" ] || die "$p is not built: run make demo"
done
command -v python3 >/dev/null || die "python3 is needed to read the counter out of memory"

if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '$ %s\n' "$*"; }   # the command a reader would type

tmp=$(mktemp -d /tmp/procsnap-demo.XXXXXX)
MNT=$tmp/snap
counter_pid=
restored_pid=
mounted() { awk -v m="$MNT" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts; }
cleanup() {
	exec 9<&-
	[ -z "$restored_pid" ] || kill -9 "$restored_pid" 2>/dev/null || true
	if [ -n "$counter_pid" ]; then
		kill "$counter_pid" 2>/dev/null || true
		wait "$counter_pid" 2>/dev/null || true
	fi
	if mounted; then fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"; fi
	mounted || rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

# The counter's value in an image directory: the 8 bytes at its address, from
# the memory file that maps.json names for the mapping holding it.
counter_in() { # IMAGE_DIR ADDR
	python3 - "$1" "$2" <<'PY'
import json, os, struct, sys
img, addr = sys.argv[1], int(sys.argv[2], 16)
j = json.load(open(os.path.join(img, "memory/maps.json")))
maps = j if isinstance(j, list) else next(v for v in j.values() if isinstance(v, list))
m = next(m for m in maps if int(m["start"], 16) <= addr < int(m["end"], 16))
# the file is named for its range <start>-<end>, which holds the mapping
base = int(m["content"].split("/")[-1].split("-")[0], 16)
with open(os.path.join(img, m["content"]), "rb") as f:
    f.seek(addr - base)
    value = struct.unpack("<Q", f.read(8))[0]
print("%d   (8 bytes at offset 0x%x of %s)" % (value, addr - base, m["content"]))
PY
}
last_count() { grep '^count=' "$tmp/counter.out" | tail -n 1; }

step "Mount procsnap on $MNT"
mkdir "$MNT"
show "procsnap -o hold=$HOLD,spool=$tmp/spool $MNT"
"$PROCSNAP" -o "hold=$HOLD,spool=$tmp/spool" "$MNT"
for _ in $(seq 100); do mounted && break; sleep 0.1; done
mounted || die "procsnap did not mount $MNT"

step "Start a program: examples/counter counts in a loop and prints every second"
# Only stdin, stdout and stderr: descriptors inherited from whatever runs the
# demo (make's jobserver pipes...) are kinds this version cannot restore.
(
	for fd in /proc/"$BASHPID"/fd/*; do
		n=${fd##*/}
		[ "$n" -le 2 ] || eval "exec $n>&-"
	done
	exec "$COUNTER"
) </dev/null >"$tmp/counter.out" 2>&1 &
counter_pid=$!
until grep -q '^READY' "$tmp/counter.out"; do sleep 0.1; done
read -r _ pidw addrw <"$tmp/counter.out"
pid=${pidw#pid=} addr=${addrw#addr=}
sleep 2
cat "$tmp/counter.out"

step "Every process is a directory; looking at the list stops nothing"
show "ls $MNT"
mapfile -t entries < <(ls "$MNT")
echo "${entries[*]:0:12} ... (${#entries[@]} entries, $pid among them)"

step "The first access below $MNT/$pid/ takes a snapshot: the process is frozen"
echo "(we keep a file of it open so the snapshot stays while we look)"
show "exec 9<$MNT/$pid/image.json"
exec 9<"$MNT/$pid/image.json"
grep -E '^(State|TracerPid):' "/proc/$pid/status"

step "The image: plain files"
show "ls -R $MNT/$pid"
ls -R "$MNT/$pid" >"$tmp/ls"
head -n 25 "$tmp/ls"
[ "$(wc -l <"$tmp/ls")" -le 25 ] || echo "... ($(wc -l <"$tmp/ls") lines in all)"

step "Registers of the (only) thread"
show "head -n 20 $MNT/$pid/registers/$pid.json"
head -n 20 "$MNT/$pid/registers/$pid.json"

step "Save it: any copy tool will do"
mkdir "$tmp/backup"
show "cp -r $MNT/$pid $tmp/backup/"
cp -r "$MNT/$pid" "$tmp/backup/"
echo "$(du -sh --apparent-size "$tmp/backup/$pid" | cut -f1) of image, $(du -sh "$tmp/backup/$pid" | cut -f1) on disk (memory never touched is holes)"

step "The counter at $addr, read out of the memory files"
echo "in the mount:  $(counter_in "$MNT/$pid" "$addr")"
echo "in the copy:   $(counter_in "$tmp/backup/$pid" "$addr")"
echo "last printed:  $(last_count)   (just before the freeze)"
sleep 2
echo "2 s later it has printed nothing new: $(last_count)"

step "Release: close the file; after hold=$HOLD s the process runs on untouched"
show "exec 9<&-"
exec 9<&-
sleep $((HOLD + 2))
grep -E '^(State|TracerPid):' "/proc/$pid/status"
tail -n 3 "$tmp/counter.out"

step "Kill it: the process is gone"
show "kill -9 $pid"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
counter_pid=
echo "it had counted to $(last_count | cut -d= -f2) (printed) before it died"
ps -p "$pid" >/dev/null || echo "no process $pid any more"

step "Restore: copy the saved image into $MNT/restore/"
show "cp -r $tmp/backup/$pid $MNT/restore/"
restored=0
cp -r "$tmp/backup/$pid" "$MNT/restore/" && restored=1
show "cat $MNT/restore/$pid/status"
cat "$MNT/restore/$pid/status"
[ "$restored" = 1 ] || die "the restore failed"
restored_pid=$pid
ps -o pid,ppid,stat,cmd -p "$pid"

step "It runs on from the checkpoint: its counter, read from fresh snapshots"
sleep 1
echo "now:        $(counter_in "$MNT/$pid" "$addr")"
sleep $((HOLD + 2))
echo "3 s later:  $(counter_in "$MNT/$pid" "$addr")"
sleep $((HOLD + 1))

step "Done: stop the counter and unmount"
show "kill $pid; fusermount3 -u $MNT"
