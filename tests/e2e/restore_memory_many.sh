#!/bin/bash
# restore_memory_many: a process with 3000 one-page mappings of mixed kinds (anonymous with and
# without data, read-only, guard pages, private file mappings, shared anonymous) has its adjacent
# mappings' bytes in shared memory files whose data and holes (SEEK_DATA/SEEK_HOLE) are exactly the
# saved pages, and restores byte-exact, also from an image copied in an order that removes a file
# behind the spool's progress.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

N=3000
MANYMAPS=$TARGETS/manymaps
rs_setup "$MANYMAPS"
res=$PS_TMP/manymaps.results
ps_start manymaps "$MANYMAPS" "$N" "$res" "$PS_TMP"
pid=$PS_TARGET
rs_verify "$pid" "$res"

# In the snapshot itself: each memory file holds a run of adjacent mappings
# (docs/image-format.md §7), its data exactly their saved pages, where a run
# of data may go on from one mapping into the next.
exec 9<"$MNT/$pid/image.json"
python3 - "$MNT/$pid" "$N" <<'PY' || ps_fail "the memory files' data and holes are not the saved pages"
import errno, json, os, sys
img, n = sys.argv[1], int(sys.argv[2])
maps = json.load(open(os.path.join(img, "memory/maps.json")))["mappings"]
files = {}
for m in maps:
    if not m.get("content"):
        continue
    first, end = (int(x, 16) for x in m["content"].split("/")[1].split("-"))
    start = int(m["start"], 16)
    assert first <= start and int(m["end"], 16) <= end, m
    runs = files.setdefault(m["content"], [end - first, []])[1]
    for r in m.get("data", []):
        a = start - first + r[0] * 4096
        b = a + r[1] * 4096
        if runs and runs[-1][1] == a:
            runs[-1][1] = b
        else:
            runs.append([a, b])
if len(files) * 20 > n:
    sys.exit("%d memory files for %d mappings: adjacent mappings do not share files" % (len(files), n))
for name, (size, want) in files.items():
    fd = os.open(os.path.join(img, name), os.O_RDONLY)
    assert os.fstat(fd).st_size == size, (name, os.fstat(fd).st_size, size)
    got, off = [], 0
    while off < size:
        try:
            a = os.lseek(fd, off, os.SEEK_DATA)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            break
        b = os.lseek(fd, a, os.SEEK_HOLE)
        got.append([a, b])
        off = b
    os.close(fd)
    if got != want:
        sys.exit("%s: data at %s, but the saved pages are %s" % (name, got[:4], want[:4]))
print("%d memory files for %d mappings, data and holes exact" % (len(files), n))
PY
exec 9<&-
ps_pass "adjacent mappings share memory files whose data and holes are their saved pages"

rs_checkpoint "$pid" "$PS_TMP/img"
ps_log "$(find "$PS_TMP/img/memory" -type f | wc -l) files in memory/ for $N slots"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"

# The spool follows the copy's progress (fs/spool_progress.c) rather than
# checking every file at each close: a file removed behind that progress
# keeps the image incomplete, and its return completes it.
listed=$(python3 -c 'import json, sys; print("\n".join(f["name"] for f in json.load(open(sys.argv[1]))["files"]))' \
	"$PS_TMP/img/image.json")
first=$(grep -m1 '^memory/[0-9a-f]' <<<"$listed")
last=$(tail -n1 <<<"$listed")
dst=$MNT/restore/again
mkdir -p "$dst/memory" "$dst/registers"
cp "$PS_TMP/img/image.json" "$dst/"
while read -r f; do
	[ "$f" = "$last" ] || cp "$PS_TMP/img/$f" "$dst/$f"
done <<<"$listed"
rm "$dst/$first"
cp "$PS_TMP/img/$last" "$dst/$last"
case $(rs_status again) in
incomplete*) ps_pass "without $first (removed behind the copy's progress): $(rs_status again)" ;;
*) ps_fail "without $first the status is '$(rs_status again)'" ;;
esac
cp "$PS_TMP/img/$first" "$dst/$first"
ps_assert_eq "restored $pid" "$(rs_status again)" "status once $first is back"
PS_PIDS+=("$pid")
rs_verify "$pid" "$res"
rs_kill "$pid"
