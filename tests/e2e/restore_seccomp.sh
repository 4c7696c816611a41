#!/bin/bash
# restore_seccomp: seccomp filters still filter after a restore, in every thread
# (two shared by all threads through TSYNC, one with SECCOMP_FILTER_FLAG_LOG, one
# a worker installed for itself), with the same Seccomp and Seccomp_filters
# counts; a thread in strict mode still works through its pipes and is still
# killed by a forbidden syscall; a tree of filters TSYNC cannot rebuild (a filter
# two workers share and the main thread lacks) and a filter that hands syscalls
# to a supervisor (SECCOMP_RET_USER_NOTIF) are refused by name, nothing left
# running, the image kept.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

SECCOMP=$TARGETS/restore_seccomp
rs_setup "$SECCOMP"

filters_of() { # TID: "Seccomp Seccomp_filters" of a thread, from the outside
	awk '/^Seccomp:/ { m = $2 } /^Seccomp_filters:/ { f = $2 } END { print m, f }' "/proc/$1/status"
}

# Filters: the image holds each distinct filter once (3), the restored
# threads report their filters themselves, and /proc agrees from outside.
res=$PS_TMP/filters.results
ps_start filters "$SECCOMP" filters "$res"
pid=$PS_TARGET
w0=$(ps_field worker0)
w1=$(ps_field worker1)
rs_verify "$pid" "$res"
rs_checkpoint "$pid" "$PS_TMP/img-filters"
n=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["filters"]))' \
	"$PS_TMP/img-filters/seccomp.json")
[ "$n" = 3 ] || ps_fail "seccomp.json holds $n filters, want 3 (two shared, one of worker $w1)"
ps_pass "seccomp.json holds the 3 distinct filters once"
rs_restore_ok "$PS_TMP/img-filters" "filters-$pid" "$pid"
for t in "$pid:2 2" "$w0:2 2" "$w1:2 3"; do
	got=$(filters_of "${t%%:*}")
	[ "$got" = "${t#*:}" ] || ps_fail "thread ${t%%:*}: Seccomp, Seccomp_filters are '$got', want '${t#*:}'"
done
ps_pass "Seccomp and Seccomp_filters of every thread as at the checkpoint"
rs_verify "$pid" "$res"
rs_kill "$pid"

# Strict mode: the thread is asleep in read() at the checkpoint.
res=$PS_TMP/strict.results
ps_start strict "$SECCOMP" strict "$res"
pid=$PS_TARGET
strict=$(ps_field strict)
rs_checkpoint "$pid" "$PS_TMP/img-strict"
rs_restore_ok "$PS_TMP/img-strict" "strict-$pid" "$pid"
got=$(filters_of "$strict")
[ "${got% *}" = 1 ] || ps_fail "strict thread $strict: Seccomp is '${got% *}' after the restore, want 1"
rs_verify "$pid" "$res"
ps_alive "$pid" || ps_fail "the process died with its strict thread"
rs_kill "$pid"

# A filter two workers share and the main thread does not: refused by name.
res=$PS_TMP/subset.results
ps_start subset "$SECCOMP" subset "$res"
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/img-subset"
rs_restore "$PS_TMP/img-subset" "subset-$pid"
rs_assert_refused "$pid" "$PS_TMP/img-subset" "subset-$pid" "share seccomp filter*TSYNC"

# A SECCOMP_RET_USER_NOTIF filter: its listener cannot be made again.
res=$PS_TMP/notif.results
ps_start notif "$SECCOMP" notif "$res"
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/img-notif"
rs_restore "$PS_TMP/img-notif" "notif-$pid"
rs_assert_refused "$pid" "$PS_TMP/img-notif" "notif-$pid" \
	"seccomp filter 0 of thread $pid hands syscalls to a supervisor (SECCOMP_RET_USER_NOTIF): its listener cannot be rebuilt"
