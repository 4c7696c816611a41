#!/bin/bash
# pattern: a known 4 KiB pattern in an anonymous mapping and on the heap is in
# the memory/<start>-<end> file whose range holds it, at offset addr - start;
# rip is in code.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ps_setup "$PATTERN"
MNT=$PS_TMP/mnt
ps_mount "$MNT" hold=1
ps_start pattern "$PATTERN" "$PS_TMP/expected" 0x1234abcd
pid=$PS_TARGET
addr=$(ps_field addr)
heap=$(ps_field heap)
ps_assert_eq 4096 "$(ps_field len)" "pattern length"
ps_assert_eq 4096 "$(stat -c %s "$PS_TMP/expected")" "size of the expected pattern file"

exec 9<"$MNT/$pid/image.json"
ps_assert_frozen "$pid" "$PS_DAEMON" "while image.json is open"
mkdir "$PS_TMP/copy"
cp -r "$MNT/$pid" "$PS_TMP/copy/"

# In the mount and in a copy of it, at both addresses.
for img in "$MNT/$pid" "$PS_TMP/copy/$pid"; do
	for a in "$addr" "$heap"; do
		m=$(ps_py mapping "$img" "$a")
		read -r start end prot content <<<"$m"
		ps_py mem "$img" "$a" 4096 "$PS_TMP/got"
		cmp "$PS_TMP/expected" "$PS_TMP/got" ||
			ps_fail "$img/$content (prot $prot): the 4096 bytes at offset $a - $start differ from the pattern"
		case $prot in *r*w*) ;; *) ps_fail "mapping $start-$end holding $a has prot '$prot', want rw" ;; esac
		ps_pass "pattern at $a found in $img/$content ($start-$end $prot)"
	done
done

# The (only) thread's instruction pointer is in an executable mapping.
[ -f "$MNT/$pid/registers/$pid.json" ] || ps_fail "no registers/$pid.json: $(ls "$MNT/$pid/registers")"
ps_pass "$(ps_py rip-exec "$MNT/$pid" "$pid")"
ps_py check-image "$PS_TMP/copy/$pid" "$pid"

exec 9<&-
ps_wait_free "$pid" "after the snapshot was released"
ps_pass "released"
