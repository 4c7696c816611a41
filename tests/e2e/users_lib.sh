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

# us_alice_mount: the start of a test of one non-root caller, after
# us_setup: user alice (her name in $alice, her uid in $uid), a mount others
# may use at $MNT, and $PS_TMP/alice, a directory of hers for her images.
us_alice_mount() {
	us_add_user alice
	uid=$(id -u "$alice")
	MNT=$PS_TMP/mnt
	ps_mount "$MNT" "allow_other,spool=$PS_TMP/spool"
	mkdir -m 0700 "$PS_TMP/alice"
	chown "$alice:" "$PS_TMP/alice"
}

# us_as USER COMMAND...: run COMMAND as USER, with USER's groups and no
# capabilities.
us_as() {
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups -- "$@"
}

# us_start USER NAME COMMAND...: ps_start COMMAND as USER (us_as), its
# stdout and stderr files given to USER, who must be able to open them
# again when USER restores the process.
us_start() {
	local u=$1 name=$2
	shift 2
	ps_start "$name" setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups -- "$@"
	chown "$u:" "$PS_TMP/$name.out" "$PS_TMP/$name.err"
}

# us_restore USER IMG NAME: rs_restore (cp -r) as USER, who must be able to
# read IMG: sets RS_CP_RC, RS_CP_ERR and RS_STATUS, never fails itself.
us_restore() {
	local u=$1 img=$2 name=$3 err=$PS_TMP/restore.err
	us_as "$u" cp -r "$img" "$MNT/restore/$name" 2>"$err" && RS_CP_RC=0 || RS_CP_RC=$?
	RS_CP_ERR=$(tr '\n' ' ' <"$err")
	RS_STATUS=$(us_as "$u" cat "$MNT/restore/$name/status") || ps_fail "$u cannot read restore/$name/status"
	ps_log "$u's cp -r of $img into restore/$name: exit $RS_CP_RC, status '$RS_STATUS'${RS_CP_ERR:+, stderr: $RS_CP_ERR}"
}

# us_restore_ok USER IMG NAME PID: us_restore must succeed as rs_restore_ok
# does, and the restored PID run as USER.
us_restore_ok() {
	local u=$1 pid=$4
	us_restore "$u" "$2" "$3"
	[ "$RS_STATUS" = "restored $pid" ] || ps_fail "$u's restore of $3: status is '$RS_STATUS', want 'restored $pid'"
	PS_PIDS+=("$pid")
	[ "$RS_CP_RC" = 0 ] || ps_fail "$u's restore of $3: status says restored but cp exited $RS_CP_RC: $RS_CP_ERR"
	ps_alive "$pid" || ps_fail "restored $pid is not running"
	ps_wait_free "$pid" "after its restore"
	ps_assert_eq "$(id -u "$u")" "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" "uid of the process $u restored"
	ps_pass "$u restored $pid"
}
