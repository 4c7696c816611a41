#!/bin/bash
# restore_seccomp_caller: a restore for a caller other than root installs
# seccomp filters only where the process itself could (no_new_privs, or
# CAP_SYS_ADMIN). alice's process with no_new_privs and filters in every
# thread comes back to her filtering; one whose filters root installed before
# it became alice (no no_new_privs, no capability left) is refused to her by
# name, nothing left running, the image kept, and root restores it filtering.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=users_lib.sh
. "$(dirname "$0")/users_lib.sh"

SECCOMP=$TARGETS/restore_seccomp
ps_setup "$REAPER" "$SECCOMP"
us_setup
alice= uid=   # set by us_alice_mount
us_alice_mount

# With no_new_privs: her filters (two shared through TSYNC, one a worker's
# own) come back to her; each thread checks them and its Seccomp_filters.
res=$PS_TMP/alice/filters.results
us_start "$alice" filters "$SECCOMP" filters "$res"
pid=$PS_TARGET
rs_verify "$pid" "$res"
rs_checkpoint "$pid" "$PS_TMP/img-filters"
chmod -R a+rX "$PS_TMP/img-filters"
us_restore_ok "$alice" "$PS_TMP/img-filters" filters "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"

# Installed by root without no_new_privs, then setresuid to alice.
res=$PS_TMP/alice/dropped.results
ps_start dropped "$SECCOMP" dropped "$res" "$(id -u "$alice")" "$(id -g "$alice")"
pid=$PS_TARGET
chown "$alice:" "$PS_TMP/dropped.out" "$PS_TMP/dropped.err"
rs_verify "$pid" "$res"
rs_checkpoint "$pid" "$PS_TMP/img-dropped"
chmod -R a+rX "$PS_TMP/img-dropped"
us_restore "$alice" "$PS_TMP/img-dropped" dropped
rs_assert_refused "$pid" "$PS_TMP/img-dropped" dropped \
	"thread $pid has seccomp filters, but the process had neither no_new_privs nor CAP_SYS_ADMIN to install them: only root may restore it" \
	"$alice"
rs_restore_ok "$PS_TMP/img-dropped" root-dropped "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"
