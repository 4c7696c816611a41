#!/bin/bash
# restore_process_ids: the restored process has its old pid and tid for the kernel and for
# glibc's cached tid (raise, pthread_kill), and its old process group and session.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_IDS"
res=$PS_TMP/ids.results
ps_start ids "$RS_IDS" "$res"
pid=$PS_TARGET
pgid=$(ps_field pgid)
sid=$(ps_field sid)
rs_checkpoint "$pid" "$PS_TMP/img"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
ps_assert_eq "$pid" "$(sed -n 's/^Tgid:[[:space:]]*//p' "/proc/$pid/status")" "Tgid of the restored process"
ps_assert_eq 1 "$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$pid/status")" "threads of the restored process"
ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$pid/status")
ps_log "the restored process's parent: $ppid ($(cat "/proc/$ppid/comm" 2>/dev/null || echo gone))$(
	[ "$ppid" != "${PROCSNAP_REAPER:-}" ] || echo ", the reaper this test runs under")"
rs_verify "$pid" "$res"
# Its group and session still exist (this shell is in them): it is back in them.
ps_assert_eq "OK pid=$pid tid=$pid pgid=$pgid sid=$sid" "${RS_RESULT%%;*}" "ids after the restore"
rs_kill "$pid"
