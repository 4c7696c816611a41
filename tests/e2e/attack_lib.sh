# shellcheck shell=bash disable=SC2034,SC2154  # names for the tests sourcing this; lib.sh sets PS_TMP
# The scene of the attack tests (attack.sh, attack_privacy.sh), sourced after
# lib.sh, restore_lib.sh and users_lib.sh (bash, set -eu).
#
# atk_setup makes two users of the test's own (removed on exit, whatever
# happens), A's and B's private directories, root's files in $R that A may
# look at but not use, an allow_other mount on $MNT, and A's process
# (tests/targets/attack) with its image in $ADIR/img, copied by A herself,
# then killed: its pid is $pid. atk_forge edits a copy of that image as A,
# atk_restore copies one into restore/ as A, atk_refused and atk_restored
# judge the outcome.

ATTACK=$TARGETS/attack
# A user's PATH: root's may lead through /root, which they cannot enter.
USER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
as_a() { us_as "$UA" env PATH="$USER_PATH" "$@"; }
as_b() { us_as "$UB" env PATH="$USER_PATH" "$@"; }

atk_users() {
	us_setup
	us_add_user UA
	us_add_user UB
	UID_A=$(id -u "$UA")
}

# A's and B's directories (0700), root's (0755) with what A may not use.
atk_scene() {
	chmod 0755 "$PS_TMP"
	ADIR=$PS_TMP/a
	BDIR=$PS_TMP/b
	R=$PS_TMP/root
	mkdir "$ADIR" "$BDIR" "$R" "$R/private"
	chown "$UA:$UA" "$ADIR"
	chown "$UB:$UB" "$BDIR"
	chmod 0700 "$ADIR" "$BDIR" "$R/private"
	echo harmless >"$ADIR/harmless"
	chown "$UA:$UA" "$ADIR/harmless"
	echo SECRET >"$R/secret"
	chmod 0600 "$R/secret"
	ln "$R/secret" "$R/hard"
	mkfifo -m 0600 "$R/fifo"
	mkfifo -m 0644 "$R/fifo0644"
	mknod -m 0600 "$R/null0600" c 1 3
	cp "$ATTACK" "$R/suid"
	chmod 4755 "$R/suid"
	cp "$ATTACK" "$R/noexec"
	chmod 0644 "$R/noexec"
}

# A starts her process, copies its image out of the mount herself, and it
# is killed.
atk_checkpoint() {
	local f
	for f in attack.out attack.err; do
		: >"$PS_TMP/$f"
		chown "$UA:$UA" "$PS_TMP/$f"
	done
	ps_start attack setpriv --reuid="$UA" --regid="$UA" --init-groups -- \
		bash -c 'cd "$1" && shift && exec "$@"' _ "$ADIR" "$ATTACK" "$ADIR/results" "$ADIR"
	pid=$PS_TARGET
	as_a cp -r "$MNT/$pid" "$ADIR/img" || ps_fail "$UA cannot copy her own process's image"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	rs_wait_gone "$pid" "after kill -9 of the checkpointed process"
	ps_log "$UA checkpointed her process $pid into $ADIR/img"
}

atk_setup() {
	ps_setup "$REAPER" "$ATTACK"
	atk_users
	atk_scene
	MNT=$PS_TMP/mnt
	ps_mount "$MNT" "allow_other,spool=$PS_TMP/spool"
	[ -d "$MNT/restore" ] || ps_fail "$MNT/restore is missing: this procsnap cannot restore"
	atk_checkpoint
}

# atk_forge NAME EDIT...: A copies her image to $ADIR/forged/NAME and edits
# it. An EDIT is FILE:SELECTOR:KEY[.KEY...]=JSON, SELECTOR being the fd
# number (fds.json), the path of a mapping (memory/maps.json) or empty
# (process.json); or +FILE=TEXT, a file added to the image. image.json
# gets the sizes and CRCs of the files edited or added.
atk_forge() {
	local name=$1
	shift
	as_a python3 -c "$ATK_FORGE_PY" "$ADIR/img" "$ADIR/forged/$name" "$@" ||
		ps_fail "forging $name failed"
}
ATK_FORGE_PY=$(
	cat <<'EOF'
import json, os, shutil, stat, sys, zlib

src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
shutil.copytree(src, dst)
for d, dirs, files in os.walk(dst):
    for p in [d] + [os.path.join(d, n) for n in files]:
        os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)

def entry(j, name, sel):
    if name == "fds.json":
        return next(e for e in j["fds"] if e["fd"] == int(sel))
    if name == "memory/maps.json":
        return next(m for m in j["mappings"] if m["path"] == sel)
    return j

written = {}
for edit in edits:
    target, _, value = edit.partition("=")
    if target.startswith("+"):
        written[target[1:]] = value.encode()
        continue
    name, sel, keys = target.split(":", 2)
    j = json.loads(written.get(name) or open(os.path.join(dst, name), "rb").read())
    o = entry(j, name, sel)
    keys = keys.split(".")
    for k in keys[:-1]:
        o = o[int(k)] if isinstance(o, list) else o[k]
    o[int(keys[-1]) if isinstance(o, list) else keys[-1]] = json.loads(value)
    written[name] = json.dumps(j, indent=2).encode()

image = json.load(open(os.path.join(dst, "image.json")))
for name, data in written.items():
    os.makedirs(os.path.dirname(os.path.join(dst, name)), exist_ok=True)
    with open(os.path.join(dst, name), "wb") as f:
        f.write(data)
    listed = [e for e in image["files"] if e["name"] == name]
    if not listed:
        listed = [{"name": name}]
        image["files"].append(listed[0])
    listed[0]["size"] = len(data)
    listed[0]["crc32"] = "0x%08x" % zlib.crc32(data)
with open(os.path.join(dst, "image.json"), "w") as f:
    json.dump(image, f, indent=2)
EOF
)

# atk_restore NAME: A copies $ADIR/forged/NAME into restore/NAME; sets
# RS_CP_RC, RS_CP_ERR and RS_STATUS.
atk_restore() {
	local err=$PS_TMP/restore.err
	as_a cp -r "$ADIR/forged/$1" "$MNT/restore/$1" 2>"$err" && RS_CP_RC=0 || RS_CP_RC=$?
	RS_CP_ERR=$(tr '\n' ' ' <"$err")
	RS_STATUS=$(as_a cat "$MNT/restore/$1/status") || ps_fail "$UA cannot read restore/$1/status"
	ps_log "$UA restores $1: cp exit $RS_CP_RC, status '$RS_STATUS'"
}

# atk_refused NAME SENTENCE WHAT: the restore of the forged NAME fails with
# SENTENCE in its status and cp fails; no process has the pid.
atk_refused() {
	local name=$1 want=$2 what=$3
	atk_restore "$name"
	case $RS_STATUS in
	failed:*"$want"*) ;;
	*) ps_fail "$what: status '$RS_STATUS', want 'failed: ...$want...'" ;;
	esac
	[ "$RS_CP_RC" != 0 ] || ps_fail "$what: refused, but cp exited 0"
	rs_assert_nothing_left "$pid"
	ps_pass "$what: refused"
}

# atk_restored NAME WHAT: the restore succeeds, and fd 3 of the process is
# A's harmless file; the process is killed again.
atk_restored() {
	local link
	atk_restore "$1"
	[ "$RS_STATUS" = "restored $pid" ] || ps_fail "$2: status '$RS_STATUS', want 'restored $pid'"
	PS_PIDS+=("$pid")
	[ "$RS_CP_RC" = 0 ] || ps_fail "$2: restored, but cp exited $RS_CP_RC: $RS_CP_ERR"
	link=$(readlink "/proc/$pid/fd/3")
	[ "$link" = "$ADIR/harmless" ] || ps_fail "$2: fd 3 of the restored process is $link"
	rs_kill "$pid"
}
