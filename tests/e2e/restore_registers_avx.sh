#!/bin/bash
# restore_registers_avx: values held in ymm0-14 (xmm0-14 without AVX), MXCSR and the x87
# control word by a loop that checks them without pause are intact after a restore.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_AVX"
modes=native
grep -qw avx /proc/cpuinfo && modes="native sse"   # and the SSE path, forced
for mode in $modes; do
	res=$PS_TMP/$mode.results
	if [ "$mode" = sse ]; then
		ps_start "avx-$mode" "$RS_AVX" "$res" sse
	else
		ps_start "avx-$mode" "$RS_AVX" "$res"
	fi
	pid=$PS_TARGET
	isa=$(ps_field isa)
	sleep 0.3
	rs_checkpoint "$pid" "$PS_TMP/img-$mode"
	rs_restore_ok "$PS_TMP/img-$mode" "$mode-$pid" "$pid"
	sleep 0.3
	rs_verify "$pid" "$res"
	case $RS_RESULT in "OK $isa:"*) ;; *) ps_fail "the result is not about $isa: $RS_RESULT" ;; esac
	rs_kill "$pid"
done
