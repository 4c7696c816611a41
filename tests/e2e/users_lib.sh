# shellcheck shell=bash disable=SC2034  # the names below are for the tests sourcing this
# Unprivileged users of a test's own, for end-to-end tests that check what
# procsnap lets other users do (sourced after lib.sh; bash, set -eu).
#
# us_setup after ps_setup: users made with us_add_user are removed when the
# test ends, whatever the outcome, and $PS_TMP is opened for them to reach
# the mounts in it (its contents keep their own modes).

US_USERS=()

us_cleanup() {
	local rc=$? u
	set +e
	for u in "${US_USERS[@]}"; do
		# -f: a process of the user may still run; ps_cleanup kills it
		userdel -f "$u" 2>/dev/null || ps_log "warning: could not remove user $u"
	done
	(exit "$rc")   # ps_cleanup takes the test's outcome from $?
	ps_cleanup
}

us_setup() {
	command -v useradd >/dev/null && command -v userdel >/dev/null ||
		ps_skip "useradd/userdel missing: apt-get install passwd"
	command -v setpriv >/dev/null || ps_skip "setpriv missing: apt-get install util-linux"
	trap us_cleanup EXIT
	chmod 0711 "$PS_TMP"
}

# us_add_user VAR: a new user (and its group) with no home and no login;
# VAR is set to its name.
us_add_user() {
	local name="ps$$u${#US_USERS[@]}"
	useradd -M -U -s /usr/sbin/nologin "$name" || ps_fail "useradd $name failed"
	US_USERS+=("$name")
	printf -v "$1" '%s' "$name"
	ps_log "made user $name (uid $(id -u "$name"))"
}

# us_as USER COMMAND...: run COMMAND as USER, with USER's groups and no
# capabilities.
us_as() {
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups -- "$@"
}
