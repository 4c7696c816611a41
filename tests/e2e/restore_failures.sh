#!/bin/bash
# restore_failures: each bad restore (pid in use, open file missing, truncated memory,
# checksum, malformed JSON, overlapping mappings, unsupported fd, a child the image does not
# hold) fails with a clear status, makes the copy fail, leaves no process behind and keeps
# the staged image.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_COUNTER" "$RS_PIPE"

# expect_failure IMG NAME PID REGEX WHAT: cp -r IMG into restore/NAME must fail
# (non-zero exit), status "failed: ..." matching REGEX (grep -Ei), nothing of
# PID left, the staged files all kept.
expect_failure() {
	local img=$1 name=$2 pid=$3 re=$4 what=$5
	rs_restore "$img" "$name"
	case $RS_STATUS in
	failed:*) ;;
	*) ps_fail "$what: status is '$RS_STATUS', want 'failed: ...'" ;;
	esac
	grep -Eiq -- "$re" <<<"$RS_STATUS" || ps_fail "$what: status '$RS_STATUS' does not match /$re/"
	[ "$RS_CP_RC" != 0 ] || ps_fail "$what: the restore failed but cp exited 0"
	rs_assert_nothing_left "$pid"
	rs_assert_staged "$name" "$img"
	ps_pass "$what: $RS_STATUS"
}

ere_quote() { # STRING: as a grep -E pattern matching just it
	# shellcheck disable=SC2016,SC2001  # $ is a character of the bracket expression
	sed 's/[][\\.*^$()+?{}|]/\\&/g' <<<"$1"
}

# ---- the pid is in use: the original still runs ----
ps_start inuse "$RS_COUNTER" "$PS_TMP/inuse.results" "$PS_TMP/inuse.log"
pid=$PS_TARGET
cp -r "$MNT/$pid" "$PS_TMP/img-inuse"
rs_restore "$PS_TMP/img-inuse" inuse
case $RS_STATUS in failed:*"in use"*) ;; *) ps_fail "pid in use: status is '$RS_STATUS', want 'failed: ... in use ...'" ;; esac
[ "$RS_CP_RC" != 0 ] || ps_fail "pid in use: the restore failed but cp exited 0"
[ -z "$(rs_children "$PS_DAEMON")" ] || ps_fail "pid in use: procsnap has children: $(rs_children "$PS_DAEMON")"
rs_assert_staged inuse "$PS_TMP/img-inuse"
ps_wait_free "$pid" "after the refused restore"
rs_counter_still_counting "$pid" "$PS_TMP/inuse.log"
rs_verify "$pid" "$PS_TMP/inuse.results"
ps_pass "pid in use: $RS_STATUS; the original runs on untouched"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
rs_wait_gone "$pid" "after kill -9"

# ---- an fd restore does not support: a pseudo-terminal master ----
ps_start pipe "$RS_PIPE" "$PS_TMP/pipe.results" ptmx
pid=$PS_TARGET
ptmx=$(ps_field ptmx)
[ "$ptmx" -ge 0 ] || ps_fail "the target could not open /dev/ptmx"
rs_checkpoint "$pid" "$PS_TMP/img-pipe"
expect_failure "$PS_TMP/img-pipe" pipe "$pid" "fd $ptmx: /dev/ptmx is a pseudo-terminal master" \
	"unsupported fd"

# ---- one counter image, spoiled in different ways ----
img=$PS_TMP/img
rs_counter_checkpoint "$img"

spoil() { # NAME: a fresh copy of the image to spoil, in $PS_TMP/NAME
	cp -r "$img" "$PS_TMP/$1"
}

# A metadata file changed, same size: its checksum in image.json catches it.
spoil bad-crc
python3 - "$PS_TMP/bad-crc/process.json" <<'EOF'
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
i = d.index(b'"comm": "') + len(b'"comm": "')
d[i] ^= 0x01                   # one letter of the command name: still valid JSON
open(p, "wb").write(bytes(d))
EOF
expect_failure "$PS_TMP/bad-crc" bad-crc "$pid" "checksum|crc" "one byte of process.json flipped"
grep -q "process.json" <<<"$RS_STATUS" || ps_fail "checksum: status '$RS_STATUS' does not name process.json"

# Malformed JSON of the same size: the checksum catches it first.
spoil bad-signals
size=$(stat -c %s "$PS_TMP/bad-signals/signals.json")
head -c "$size" /dev/zero | tr '\0' '{' >"$PS_TMP/bad-signals/signals.json"
expect_failure "$PS_TMP/bad-signals" bad-signals "$pid" "signals\.json" "signals.json replaced by garbage"
grep -Eiq "checksum|crc|json" <<<"$RS_STATUS" || ps_fail "garbage signals.json: status '$RS_STATUS' says neither checksum nor JSON"

# A malformed image.json: the restore fails as soon as it is written, with a
# JSON message, and the cp that wrote it fails.
spoil bad-image
printf '{"format": 1, "files": [ {"name": "process.json", "size": ' >"$PS_TMP/bad-image/image.json"
rs_restore "$PS_TMP/bad-image" bad-image
case $RS_STATUS in
failed:*image.json*) ;;
*) ps_fail "malformed image.json: status is '$RS_STATUS', want failed naming image.json" ;;
esac
[ "$RS_CP_RC" != 0 ] || ps_fail "malformed image.json: cp exited 0"
rs_assert_nothing_left "$pid"
rs_assert_staged bad-image "$PS_TMP/bad-image"
ps_pass "malformed image.json (cp exited $RS_CP_RC): $RS_STATUS"

# Two mappings overlap; maps.json's size and checksum are made right, so that
# only the validation of the layout can refuse it.
spoil overlap
python3 - "$PS_TMP/overlap" <<'EOF'
import copy, json, os, sys
img = sys.argv[1]
mp = os.path.join(img, "memory/maps.json")
maps = json.load(open(mp))
ms = maps["mappings"]
# A private anonymous mapping (the heap first): the copy has no content file
# of its own, so every file it names is right; it only overlaps the original.
i = next(k for k, m in sorted(enumerate(ms), key=lambda e: e[1].get("kind") != "heap")
         if m.get("kind") in ("heap", "anon") and not m.get("shared"))
dup = copy.deepcopy(ms[i])
dup["content"] = None
dup["data_pages"] = 0
dup.pop("data", None)
ms.insert(i + 1, dup)
open(mp, "w").write(json.dumps(maps, indent=2) + "\n")
print("duplicated mapping %s-%s (%s)" % (dup["start"], dup["end"], dup.get("kind")))
EOF
ps_py relist "$PS_TMP/overlap" memory/maps.json
ps_py check-image "$PS_TMP/overlap" "$pid" >/dev/null
expect_failure "$PS_TMP/overlap" overlap "$pid" "overlap" "two mappings overlap"

# A mapping the kernel refuses to make, among mappings whose syscalls are
# queued and run in one go: private writable anonymous memory twice the size
# of RAM and swap, charged to the commit limit ("ac"), which the heuristic
# overcommit refuses (ENOMEM). The restore names that mapping and nothing
# is left.
if [ "$(cat /proc/sys/vm/overcommit_memory)" = 1 ]; then
	ps_log "skipped the mapping the kernel refuses: vm.overcommit_memory is 1 (always)"
else
	spoil nomem
	big=$(python3 - "$PS_TMP/nomem" <<'EOF'
import json, os, sys
img = sys.argv[1]
mem = {l.split(":")[0]: int(l.split()[1]) * 1024 for l in open("/proc/meminfo")}
gib = 1 << 30
size = ((2 * (mem["MemTotal"] + mem["SwapTotal"])) // gib + 1) * gib
mp = os.path.join(img, "memory/maps.json")
maps = json.load(open(mp))
ms = maps["mappings"]
user = [(k, m) for k, m in enumerate(ms) if int(m["end"], 16) <= 0x800000000000]
# the widest gap between two mappings, with mappings on both sides
a, b = max(zip(user, user[1:]), key=lambda p: int(p[1][1]["start"], 16) - int(p[0][1]["end"], 16))
lo, hi = int(a[1]["end"], 16), int(b[1]["start"], 16)
start = (lo + (hi - lo) // 2) // gib * gib
if start < lo or start + size > hi:
    sys.exit("no gap of %d bytes in the image" % size)
ms.insert(a[0] + 1, {"start": hex(start), "end": hex(start + size), "prot": "rw-",
                     "shared": False, "kind": "anon", "path": "", "deleted": False,
                     "offset": "0x0", "vm_flags": ["rd", "wr", "mr", "mw", "me", "ac"],
                     "content": None, "data_pages": 0})
open(mp, "w").write(json.dumps(maps, indent=2) + "\n")
print("%x-%x" % (start, start + size))
EOF
)
	ps_py relist "$PS_TMP/nomem" memory/maps.json
	ps_py check-image "$PS_TMP/nomem" "$pid" >/dev/null
	expect_failure "$PS_TMP/nomem" nomem "$pid" "^failed: mapping $big: cannot allocate memory" \
		"a mapping the kernel refuses in the middle of the queued ones"
fi

# A memory file 4096 bytes short: the image is incomplete, nothing restored;
# copying the whole file afterwards completes it, and the restore runs.
spoil short
short=$(python3 - "$img" <<'EOF'
import json, os, re, sys
image = json.load(open(os.path.join(sys.argv[1], "image.json")))
print(next(f["name"] for f in image["files"]
           if re.fullmatch(r"memory/[0-9a-f]+-[0-9a-f]+", f["name"]) and f["size"] >= 8192))
EOF
)
truncate -s -4096 "$PS_TMP/short/$short"
rs_restore "$PS_TMP/short" short
case $RS_STATUS in
incomplete:*"${short#memory/}"*4096* | incomplete:*4096*"${short#memory/}"*) ;;
*) ps_fail "truncated $short: status is '$RS_STATUS', want 'incomplete: ... $short ... 4096 ...'" ;;
esac
rs_assert_nothing_left "$pid"
rs_assert_staged short "$PS_TMP/short"
ps_pass "truncated $short (cp exited $RS_CP_RC): $RS_STATUS"
rs_counter_trim "$log" "$saved"
cp "$img/$short" "$MNT/restore/short/$short" ||
	ps_fail "completing restore/short with the whole $short failed: $(rs_status short)"
ps_assert_eq "restored $pid" "$(rs_status short)" "status once $short is complete"
PS_PIDS+=("$pid")
ps_wait_free "$pid" "after its restore"
ps_pass "the completed image restored $pid"
rs_verify "$pid" "$res"
rs_kill "$pid"

# An open file of the process is gone: the restore names it.
rm "$log"
expect_failure "$img" missing "$pid" "$(ere_quote "$log")" "the log file the process had open is deleted"

# A process saved with a child: the image holds it alone, and it would come
# back without its child (its wait() failing with ECHILD): refused by name.
ps_start parent bash -c 'sleep 600 & echo "READY child=$!"; wait'
pid=$PS_TARGET
child=$(ps_field child)
PS_PIDS+=("$child")
rs_checkpoint "$pid" "$PS_TMP/img-parent"
[ "$(ps_py get "$PS_TMP/img-parent/process.json" children)" = "[$child]" ] ||
	ps_fail "process.json lists children $(ps_py get "$PS_TMP/img-parent/process.json" children), want [$child]"
expect_failure "$PS_TMP/img-parent" parent "$pid" \
	"process $pid had 1 child process when it was saved \($child\)" "a process saved with a child"
kill -KILL "$child"
