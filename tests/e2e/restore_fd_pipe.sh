#!/bin/bash
# restore_fd_pipe: a pipe with both ends in the process (neither stdin nor
# stdout) comes back at the same fd numbers still holding its unread bytes.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_PIPE"
res=$PS_TMP/pipe.results
ps_start pipe "$RS_PIPE" "$res"
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/img"
data=$PS_TMP/img/fds/$(ps_field rfd)
[ "$(cat "$data" 2>/dev/null)" = hello ] || ps_fail "the image's $data does not hold the pipe's bytes"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"
