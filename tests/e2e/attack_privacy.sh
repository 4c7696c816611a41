#!/bin/bash
# attack_privacy: on an allow_other mount, user A's image staged in restore/
# (one whose restore was refused stays there, to be fixed and copied again)
# is hers alone: user B neither lists it nor reads any of its files, while A
# reads it and root sees it.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=users_lib.sh
. "$(dirname "$0")/users_lib.sh"
# shellcheck source-path=SCRIPTDIR source=attack_lib.sh
. "$(dirname "$0")/attack_lib.sh"

atk_setup

atk_forge staged 'fds.json:3:path="/proc/self/root/etc/shadow"'
atk_refused staged "fd 3: /proc/self/root/etc/shadow goes through /proc/self" \
	"an image A leaves staged"
ls "$MNT/restore" | grep -qx "staged@$UID_A" || ps_fail "root does not see restore/staged@$UID_A"
as_a cat "$MNT/restore/staged/process.json" >/dev/null ||
	ps_fail "$UA cannot read her own staged restore/staged/process.json"

listing=$(as_b ls -a "$MNT/restore" 2>&1) || true
! grep -qx staged <<<"$listing" ||
	ps_fail "$UB lists $UA's staged image in restore/: $(tr '\n' ' ' <<<"$listing")"
for f in image.json process.json fds.json memory/maps.json; do
	if as_b cat "$MNT/restore/staged/$f" >/dev/null 2>&1; then
		ps_fail "$UB can read $UA's staged restore/staged/$f"
	fi
done
ps_pass "$UB neither lists $UA's staged image nor reads its files; $UA and root do"
