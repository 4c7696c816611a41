#!/bin/bash
# restore_fd_file: regular files (read-only at an offset, O_APPEND, O_RDWR|O_NONBLOCK,
# on tmpfs), two files deleted while open (their bytes saved in the image, one with a
# hole), a dup'ed pair sharing an offset next to a separate open, a directory and
# /dev/{null,zero,urandom,random} come back at the same numbers with their flags,
# FD_CLOEXEC and offsets; restoring the same image a second time recreates the
# deleted files again.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

BIN=$TARGETS/restore_fd_file
rs_setup "$BIN"

# The target's tmpfs file lies outside $PS_TMP: remove it however the test
# ends, then run the usual cleanup with the test's exit status.
rm_shm_then_cleanup() {
	local rc=$?
	set +e
	[ -z "$PS_TARGET" ] || rm -f "/dev/shm/procsnap-fd-files-$PS_TARGET"
	(exit "$rc")
	ps_cleanup
}
trap rm_shm_then_cleanup EXIT

# pattern_ok FILE AT LEN: bytes AT..AT+LEN of FILE are the target's pattern.
pattern_ok() {
	python3 - "$@" <<'EOF'
import sys
path, at, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "rb") as f:
    f.seek(at)
    data = f.read(n)
want = bytes(97 + (i * 7 + i // 26) % 26 for i in range(at, at + n))
sys.exit(0 if data == want else 1)
EOF
}

# The names the target leaves in its directory: the deleted files are not
# among them, before the checkpoint or after a restore.
dir_names() { (cd "$dir" && find . -mindepth 1 -printf '%P\n' | sort | tr '\n' ' '); }
assert_dir_names() { # WHEN
	ps_assert_eq "app known-file ro rw shared " "$(dir_names)" "names in $dir $1"
}

# The deleted files are deleted for the kernel too: /proc says so.
assert_deleted_links() { # PID WHEN
	local fd link
	for fd in "$del" "$delro"; do
		link=$(readlink "/proc/$1/fd/$fd") || ps_fail "fd $fd of $1 is not open $2"
		case $link in
		*" (deleted)") ;;
		*) ps_fail "fd $fd of $1 leads to '$link' $2, not to a deleted file" ;;
		esac
	done
}

dir=$PS_TMP/files
mkdir "$dir"
res=$PS_TMP/files.results
ps_start files "$BIN" "$res" "$dir"
pid=$PS_TARGET
del=$(ps_field del)
delro=$(ps_field delro)
shm=$(ps_field shm)
ps_assert_eq "/dev/shm/procsnap-fd-files-$pid" "$shm" "the target's tmpfs file"
assert_dir_names "before the checkpoint"
assert_deleted_links "$pid" "before the checkpoint"

img=$PS_TMP/img
rs_checkpoint "$pid" "$img"

# ---- the image: fds.json, and the deleted files' bytes in fds/<fd> ----
[ -f "$img/fds.json" ] || ps_fail "the image has no fds.json"
for fd in "$del" "$delro"; do
	ps_assert_eq true "$(ps_py fd "$img" "$fd" deleted)" "fds.json: fd $fd deleted"
	[ "$(ps_py fd "$img" "$fd" supported)" = true ] ||
		ps_fail "fds.json: deleted fd $fd is not supported: $(ps_py fd "$img" "$fd" unsupported_reason)"
	ps_assert_eq "fds/$fd" "$(ps_py fd "$img" "$fd" data)" "fds.json: the data file of fd $fd"
	[ -f "$img/fds/$fd" ] || ps_fail "the image has no fds/$fd: the bytes of deleted fd $fd are not saved"
done
ps_assert_eq $((1048576 + 100)) "$(stat -c %s "$img/fds/$del")" "size of fds/$del (the deleted file with a hole)"
pattern_ok "$img/fds/$del" 0 10000 || ps_fail "fds/$del: bytes 0-9999 are not the file's"
pattern_ok "$img/fds/$del" 1048576 100 || ps_fail "fds/$del: the 100 bytes at 1 MiB are not the file's"
printf 'readonly-deleted\n' | cmp -s - "$img/fds/$delro" ||
	ps_fail "fds/$delro holds '$(head -c 64 "$img/fds/$delro" | od -An -c | tr -s ' ')', want 'readonly-deleted\n'"
ps_pass "the image holds fds.json and the deleted files' bytes in fds/$del and fds/$delro"

# ---- first restore ----
rs_restore_ok "$img" "$pid" "$pid"
assert_deleted_links "$pid" "after the restore"
assert_dir_names "after the restore"
rs_verify "$pid" "$res"
rs_kill "$pid"

# ---- the same image again: the deleted files are recreated each time ----
rm -rf "${MNT:?}/restore/$pid"
[ -f "$shm" ] || ps_fail "$shm is gone: the second restore could not reopen it"
rs_restore_ok "$img" "$pid" "$pid"
assert_deleted_links "$pid" "after the second restore"
assert_dir_names "after the second restore"
rs_verify "$pid" "$res"
rs_kill "$pid"

rm -f "$shm"
ps_pass "restored the same image twice; removed $shm"
