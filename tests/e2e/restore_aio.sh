#!/bin/bash
# restore_aio: an AIO context with reaped events behind it and completed writes
# not yet reaped, one whose events wrap around its ring's end, and an unused
# one, with a gap in their ring ids, come back at their addresses (the context
# ids) with their ring ids: the rings as read from memory, io_getevents, and
# new requests on all three.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

RS_AIO=$TARGETS/restore_aio
rs_setup "$RS_AIO"
res=$PS_TMP/aio.results
ps_start aio "$RS_AIO" "$res" "$PS_TMP"
pid=$PS_TARGET
busy=$(ps_field busy)
idle=$(ps_field idle)

rs_checkpoint "$pid" "$PS_TMP/img"
grep -q '"kind": "aio"' "$PS_TMP/img/memory/maps.json" ||
	ps_fail "maps.json has no mapping of kind aio"
ps_pass "checkpointed with AIO contexts $busy and $idle"

# The kernel shows no count of requests in flight: the note says they are not back.
RS_NOTE="3 AIO contexts restored with their completed events; a request still in flight" \
	rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
grep -q "^${busy#0x}-.*/\[aio\]" "/proc/$pid/maps" ||
	ps_fail "the restored process has no AIO ring at $busy: $(grep aio "/proc/$pid/maps")"
ps_assert_eq 3 "$(grep -c '/\[aio\]' "/proc/$pid/maps")" "AIO rings of the restored process (no filler left)"
rs_verify "$pid" "$res"
rs_kill "$pid"
