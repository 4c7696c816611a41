#!/bin/bash
# restore_signals: dispositions (SA_SIGINFO handler, flags, sa_mask, SIG_IGN), the
# blocked mask, the alternate stack and a queued SIGRTMIN+1 with its value survive a restore.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_SIGNALS"
res=$PS_TMP/signals.results
ps_start signals "$RS_SIGNALS" "$res"
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/img"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"
