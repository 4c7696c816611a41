#!/bin/bash
# restore_prefill: a big memory file copied into restore/ is filled into the
# new process's memory while the copy goes on (a nursery holds it, the stub
# inherits it). The restored memory is exactly the staged file's, also when
# that file was changed after its first copy; a failed restore, a removed
# image, a copy left idle halfway and a killed procsnap leave no nursery.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

MIB=48   # well above the 4 MiB a memory file needs to be filled early
PATCH_PAGE=100

rs_setup "$BIGMAP"

# check_memory PID ADDR [PATCHED]: bigmap's pattern (byte i is i % 255 + 1)
# over the MIB MiB at ADDR, but page PATCH_PAGE all 'X' if PATCHED.
check_memory() {
	python3 - "$1" "$2" "$MIB" "$PATCH_PAGE" "${3:-}" <<'EOF' || ps_fail "memory of $1 is not what was staged"
import sys
pid, addr, mib, page, patched = int(sys.argv[1]), int(sys.argv[2], 16), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
size, step = mib << 20, 255 * 4096     # step: a whole number of pattern periods
period = bytes(i % 255 + 1 for i in range(255))
with open(f"/proc/{pid}/mem", "rb") as f:
    f.seek(addr)
    data = f.read(size)
want = bytearray(period * (size // 255 + 1))[:size]
if patched:
    want[page * 4096:(page + 1) * 4096] = b"X" * 4096
if data != want:
    first = next(i for i in range(size) if data[i] != want[i])
    print(f"first difference at byte {first} (page {first // 4096})", file=sys.stderr)
    sys.exit(1)
EOF
}

no_children() { # WHAT: procsnap has no child (no nursery) left
	local end=$((SECONDS + 6)) kids
	while kids=$(rs_children "$PS_DAEMON") && [ -n "$kids" ]; do
		[ "$SECONDS" -lt "$end" ] || ps_fail "$1: procsnap still has children: $kids"
		sleep 0.05
	done
}

checkpoint() { # NAME: a bigmap with every byte touched, checkpointed into $PS_TMP/NAME
	ps_start "$1" "$BIGMAP" "$MIB" all
	pid=$PS_TARGET
	addr=$(ps_field addr)
	rs_checkpoint "$pid" "$PS_TMP/$1"
	big=$(cd "$PS_TMP/$1" && find memory -type f -size +$((MIB - 1))M)
	[ -n "$big" ] || ps_fail "the image has no memory file of $MIB MiB"
}

complete_restore() { # WHAT: copy image.json into restore/$pid; it must restore
	cp "$PS_TMP/plain/image.json" "$MNT/restore/$pid/" || true
	PS_PIDS+=("$pid")   # ours to kill, should the test fail from here
	[ "$(rs_status "$pid")" = "restored $pid" ] || ps_fail "$1: $(rs_status "$pid")"
}

stage_all_but_image_json() { # IMG NAME
	mkdir "$MNT/restore/$2"
	for f in "$1"/*; do
		[ "${f##*/}" = image.json ] || cp -r "$f" "$MNT/restore/$2/"
	done
}

# ---- cp -r: filled early, restored exactly ----
checkpoint plain
stage_all_but_image_json "$PS_TMP/plain" "$pid"
[ -n "$(rs_children "$PS_DAEMON")" ] || ps_fail "no nursery holds the staged $big"
complete_restore restore
check_memory "$pid" "$addr"
no_children "after the restore"
rs_kill "$pid"
ps_pass "a $MIB MiB mapping filled while staged comes back byte for byte, and the nursery is gone"

# ---- the staged file changed after it was filled: its new bytes win ----
rm -rf "${MNT:?}/restore/$pid"
stage_all_but_image_json "$PS_TMP/plain" "$pid"
printf 'X%.0s' $(seq 4096) | dd of="$MNT/restore/$pid/$big" bs=4096 seek="$PATCH_PAGE" count=1 \
	conv=notrunc status=none
complete_restore restore
check_memory "$pid" "$addr" patched
rs_kill "$pid"
ps_pass "a page written into the staged file after its copy is restored as written"

# ---- removed half-staged, or failed: no nursery is left ----
rm -rf "${MNT:?}/restore/$pid"
stage_all_but_image_json "$PS_TMP/plain" "$pid"
rm -rf "${MNT:?}/restore/$pid"
no_children "after a half-staged image was removed"
ps_pass "a half-staged image removed leaves no nursery"

rs_restore_ok "$PS_TMP/plain" "$pid" "$pid"
stage_all_but_image_json "$PS_TMP/plain" again
[ -n "$(rs_children "$PS_DAEMON")" ] || ps_fail "no nursery holds the second staged $big"
rs_restore "$PS_TMP/plain/image.json" again
case $RS_STATUS in failed:*"in use"*) ;; *) ps_fail "second restore: status is '$RS_STATUS'" ;; esac
[ "$RS_CP_RC" != 0 ] || ps_fail "second restore failed but cp exited 0"
no_children "after the failed restore"
rs_assert_staged again "$PS_TMP/plain"
check_memory "$pid" "$addr"
rs_kill "$pid"
rm -rf "${MNT:?}/restore/again" "${MNT:?}/restore/$pid"
ps_pass "a restore failing with a nursery ready ($RS_STATUS) leaves none, the first process untouched"

# ---- a copy left halfway: its nursery goes after 30 s idle ----
stage_all_but_image_json "$PS_TMP/plain" "$pid"
[ -n "$(rs_children "$PS_DAEMON")" ] || ps_fail "no nursery holds the staged $big"
end=$((SECONDS + 45))
while [ -n "$(rs_children "$PS_DAEMON")" ]; do
	[ "$SECONDS" -lt "$end" ] || ps_fail "the nursery of a half-staged image outlived 45 s idle"
	sleep 0.5
done
complete_restore "restore after the idle nursery went"
check_memory "$pid" "$addr"
rs_kill "$pid"
rm -rf "${MNT:?}/restore/$pid"
ps_pass "an idle half-staged image lets its nursery go, and restores from the spool after"

# ---- procsnap killed while a nursery holds a staged file ----
rm -rf "${MNT:?}/restore/$pid"
stage_all_but_image_json "$PS_TMP/plain" "$pid"
kids=$(ps -o pid= --ppid "$PS_DAEMON" | tr -d ' ')
[ -n "$kids" ] || ps_fail "no nursery holds the staged $big"
kill -KILL "$PS_DAEMON"
end=$((SECONDS + 6))
for k in $kids; do
	while ps_alive "$k"; do
		[ "$SECONDS" -lt "$end" ] || ps_fail "nursery $k outlived procsnap"
		sleep 0.05
	done
done
ps_pass "a nursery ends with procsnap"
