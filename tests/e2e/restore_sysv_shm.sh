#!/bin/bash
# restore_sysv_shm: a SysV segment removed while attached and one still present,
# attached twice, come back with their ids, keys, sizes, modes and bytes (the
# removed one removed again, gone when the process exits, and gone too when
# procsnap dies in the restore); a restore whose segment id is taken by
# another segment is refused with a clear status.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

RS_SYSV=$TARGETS/restore_sysv_shm
rs_setup "$RS_SYSV"
key=$(printf '0x5e%06x' $(($$ & 0xffffff)))
taker=
# The segments outlive the processes: remove the ones this test made.
sysv_cleanup() {
	ipcrm -M "$key" 2>/dev/null
	[ -z "$taker" ] || ipcrm -m "$taker" 2>/dev/null
}
# ps_cleanup takes the test's outcome from $?; set -e must not end the trap.
trap 'rc=$?; set +e; sysv_cleanup; (exit $rc); ps_cleanup' EXIT

segment() { # ID: its line of /proc/sysvipc/shm, or nothing
	awk -v id="$1" '$2 == id' /proc/sysvipc/shm
}

segment_gone() { [ -z "$(segment "$1")" ]; }

res=$PS_TMP/sysv.results
ps_start sysv "$RS_SYSV" "$res" "$key"
pid=$PS_TARGET
gone=$(ps_field gone)
live=$(ps_field live)

rs_checkpoint "$pid" "$PS_TMP/img"
[ -z "$(segment "$gone")" ] || ps_fail "removed segment $gone outlived its process: $(segment "$gone")"
[ -n "$(segment "$live")" ] || ps_fail "segment $live (key $key) is gone with its process"
ps_pass "checkpointed: removed segment $gone gone with the process, segment $live still there"
# Each segment's bytes are saved once, with its lowest attachment: the live one's
# other attachment (two pieces) has no content file.
saved=$(python3 -c 'import json, sys
print(sum(1 for m in json.load(open(sys.argv[1]))["mappings"] if m["kind"] == "sysv" and m["content"]))' \
	"$PS_TMP/img/memory/maps.json")
ps_assert_eq 2 "$saved" "content files of the four SysV mappings (one attachment in two pieces)"

rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"
[ -z "$(segment "$gone")" ] || ps_fail "the restored removed segment $gone outlived its process"
ps_pass "segment $gone, removed again at restore, went with the restored process"

# ---- procsnap killed once the process is built: the segment it made and
# removed again goes with the killed stub and procsnap's own attachment ----
ps_unmount "$MNT"
{ wait "$PS_DAEMON"; } 2>/dev/null || true
export PROCSNAP_DIE_AT=restore-built
ps_mount "$MNT" "spool=$PS_TMP/spool"
unset PROCSNAP_DIE_AT
if cp -r "$PS_TMP/img" "$MNT/restore/killed" 2>/dev/null; then
	ps_fail "the restore succeeded although procsnap was to die once the process was built"
fi
rs_wait_gone "$pid" "after procsnap died in its restore"
ps_wait_for 10 "segment $gone to go with the killed restore" segment_gone "$gone"
ps_pass "procsnap killed in a restore: no process, and segment $gone did not outlive it"
ps_unmount "$MNT"
ps_mount "$MNT" "spool=$PS_TMP/spool.2"

# ---- another segment holds the removed one's id ----
echo "$gone" >/proc/sys/kernel/shm_next_id
taker=$(ipcmk -M 4096 | awk '{ print $NF }')
[ "$taker" = "$gone" ] || ps_fail "could not take id $gone for the test (got ${taker:-nothing})"
rs_restore "$PS_TMP/img" taken
case $RS_STATUS in
failed:*"id $gone is taken here by another segment"*) ;;
*) ps_fail "id taken: status is '$RS_STATUS', want 'failed: ... id $gone is taken here by another segment ...'" ;;
esac
[ "$RS_CP_RC" != 0 ] || ps_fail "id taken: the restore failed but cp exited 0"
rs_assert_nothing_left "$pid"
rs_assert_staged taken "$PS_TMP/img"
ps_pass "id taken: $RS_STATUS"
