#!/bin/bash
# restore_private: on an allow_other mount, each user's staged images are hers
# alone: another user cannot list, read, write or even look up their names,
# nor take a name over; the spool keeps them 0600/0700 whatever modes the copy
# asked for, and the owner can always write them again (chmod -R u+w too).
# Root sees everyone's, as <name>@<uid>, and may read and remove them.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=users_lib.sh
. "$(dirname "$0")/users_lib.sh"

ps_setup "$COUNTER"
us_setup
us_add_user alice
us_add_user bob
uid_a=$(id -u "$alice")
MNT=$PS_TMP/mnt
SPOOL=$PS_TMP/spool
ps_mount "$MNT" "allow_other,spool=$SPOOL"
R=$MNT/restore

# expect_enoent USER WHAT COMMAND...: COMMAND run as USER fails with ENOENT.
expect_enoent() {
	local u=$1 what=$2 err
	shift 2
	if err=$(us_as "$u" "$@" 2>&1); then
		ps_fail "$u: $what succeeded"
	fi
	grep -q "No such file or directory" <<<"$err" || ps_fail "$u: $what: '$err', want ENOENT"
	ps_pass "$u: $what: No such file or directory"
}

# ---- an image to stage: root's counter, one memory file left out, so that
# it stays staged (incomplete) instead of being restored; read-only files, as
# every copy out of procsnap has ----
ps_start counter "$COUNTER"
pid=$PS_TARGET
mkdir -m 0755 "$PS_TMP/shared"
cp -r "$MNT/$pid" "$PS_TMP/shared/img"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
missing=$(cd "$PS_TMP/shared/img" && find memory -type f ! -name maps.json | head -n 1)
[ -n "$missing" ] || ps_fail "the image has no memory file"
rm -f "$PS_TMP/shared/img/$missing"
chmod -R a+rX,a-w "$PS_TMP/shared/img"
perm=$(stat -c %a "$PS_TMP/shared/img/image.json")
ps_assert_eq 444 "$perm" "mode of the source's image.json"

# ---- alice stages it ----
us_as "$alice" cp -r "$PS_TMP/shared/img" "$R/img" || ps_fail "alice: cp -r into restore/ failed"
status=$(us_as "$alice" cat "$R/img/status")
case $status in
"incomplete: $missing is missing") ;;
*) ps_fail "alice: status is '$status', want 'incomplete: $missing is missing'" ;;
esac
ps_pass "alice staged img: $status"

# What the copy asked for (0444, 0555) is not what the spool keeps: the
# owner's alone, and writable by her.
bad=$(find "$SPOOL/images/$uid_a/img" -mindepth 1 ! -name status \
	\( \( -type f ! -perm 0600 \) -o \( -type d ! -perm 0700 \) -o ! -user "$alice" \) \
	-printf '%P %m %u\n')
[ -z "$bad" ] || ps_fail "staged files not 0600/0700 owned by alice in the spool: $bad"
bad=$(us_as "$alice" find "$R/img" -mindepth 1 ! -name status \
	\( \( -type f ! -perm 0600 \) -o \( -type d ! -perm 0700 \) \) -printf '%P %m\n')
[ -z "$bad" ] || ps_fail "alice sees staged files that are not 0600/0700: $bad"
ps_pass "the spool keeps alice's image 0600/0700, hers"

# cp -a asks for 0444 and for root's ownership: still hers, still private
us_as "$alice" cp -a "$PS_TMP/shared/img" "$R/img-a" 2>/dev/null || true
bad=$(find "$SPOOL/images/$uid_a/img-a" -mindepth 1 ! -name status \
	\( \( -type f ! -perm 0600 \) -o ! -user "$alice" \) -printf '%P %m %u\n')
[ -z "$bad" ] || ps_fail "cp -a made staged files other than 0600 alice's: $bad"
us_as "$alice" rm -r "$R/img-a" || ps_fail "alice: rm -r of her img-a failed"
ps_pass "cp -a of a read-only, root-owned tree stages private files of alice's"

us_as "$alice" chmod -R u+w "$R/img" || ps_fail "alice: chmod -R u+w of her staged image failed"
us_as "$alice" cp "$PS_TMP/shared/img/process.json" "$R/img/process.json" ||
	ps_fail "alice: writing a file of her staged image again failed"
ps_pass "alice: chmod -R u+w works, and her staged files take a new copy"

# ---- bob sees nothing of it ----
listing=$(us_as "$bob" ls -A "$R")
[ -z "$listing" ] || ps_fail "bob lists restore/ as '$listing', want nothing"
ps_pass "bob: restore/ lists nothing"
expect_enoent "$bob" "stat restore/img" stat "$R/img"
expect_enoent "$bob" "ls restore/img" ls "$R/img"
expect_enoent "$bob" "cat restore/img/image.json" cat "$R/img/image.json"
expect_enoent "$bob" "cat restore/img/status" cat "$R/img/status"
expect_enoent "$bob" "write into restore/img" cp "$PS_TMP/shared/img/fds.json" "$R/img/fds.json"
expect_enoent "$bob" "rm -r restore/img" rm -r "$R/img"
if us_as "$bob" cat "$SPOOL/images/$uid_a/img/image.json" >/dev/null 2>&1; then
	ps_fail "bob reads alice's staged image.json in the spool on disk"
fi
ps_pass "bob: the spool on disk is closed to him"

# The same name is bob's own, not alice's image.
us_as "$bob" mkdir "$R/img" || ps_fail "bob: mkdir restore/img failed"
listing=$(us_as "$bob" ls -A "$R/img")
ps_assert_eq status "$listing" "bob's own restore/img"
diff -r -x status "$PS_TMP/shared/img" "$SPOOL/images/$uid_a/img" >/dev/null ||
	ps_fail "alice's staged image changed when bob made his img"
status=$(us_as "$alice" cat "$R/img/status")
case $status in incomplete:*) ;; *) ps_fail "alice's status is now '$status'" ;; esac
ps_pass "bob's mkdir restore/img makes his own; alice's is untouched"

# ---- root sees both, reads and removes, writes neither ----
listing=$(ls -A "$R" | sort | tr '\n' ' ')
ps_assert_eq "img@$uid_a img@$(id -u "$bob") " "$listing" "root's listing of restore/"

status=$(cat "$R/img@$uid_a/status")
case $status in incomplete:*) ;; *) ps_fail "root reads alice's status as '$status'" ;; esac
if touch "$R/img@$uid_a/image.json" 2>"$PS_TMP/root.err"; then
	ps_fail "root wrote into alice's image"
fi
grep -q "Operation not permitted" "$PS_TMP/root.err" ||
	ps_fail "root writing into alice's image: '$(cat "$PS_TMP/root.err")', want EPERM"
rm -r "$R/img@$(id -u "$bob")" || ps_fail "root: rm -r of bob's image failed"
[ -z "$(us_as "$bob" ls -A "$R")" ] || ps_fail "bob's image is still there after root removed it"
ps_pass "root lists $listing, reads alice's status, may not write her image, removes bob's"

# ---- the owner removes hers: nothing of it is left in the spool ----
us_as "$alice" rm -r "$R/img" || ps_fail "alice: rm -r restore/img failed"
[ ! -e "$SPOOL/images/$uid_a/img" ] || ps_fail "alice's image is still in the spool after rm -r"
ps_pass "alice's rm -r leaves nothing in the spool"
