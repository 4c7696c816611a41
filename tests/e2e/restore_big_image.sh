#!/bin/bash
# restore_big_image: a forged image.json of 51 MB listing a million files is
# refused without being read (EFBIG, status says why), and one of 8 MB listing
# 150000 files is read, one read at a time: procsnap's memory stays far from
# the gigabytes such a file once took, and what it took is given back once the
# image is removed.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ps_setup "$COUNTER"
MNT=$PS_TMP/mnt
ps_mount "$MNT"

# Sanitizers hold freed memory back (quarantine) and add their own.
if grep -q __asan_init "$PROCSNAP"; then
	PEAK_MAX_MIB=2048 KEPT_MAX_MIB=1024
else
	PEAK_MAX_MIB=512 KEPT_MAX_MIB=96
fi

kib() { # FIELD: procsnap's VmRSS or VmHWM, in KiB
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PS_DAEMON/status"
}

# forge NAME COUNT: a copy of the counter's image whose image.json lists COUNT
# more memory files, none of them there.
forge() {
	cp -r "$base" "$PS_TMP/$1"
	python3 - "$PS_TMP/$1/image.json" "$2" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
j = json.load(open(path))
j["files"] += [{"name": "memory/%x-%x" % (0x10000000 + i * 4096, 0x10001000 + i * 4096),
                "size": 4096} for i in range(n)]
open(path, "w").write(json.dumps(j))
EOF
	ps_log "forged $1: image.json of $(stat -c %s "$PS_TMP/$1/image.json") bytes, $2 more files"
}

# copy_in NAME WHAT: copy the forged image in, then check procsnap's peak
# and, once the image is removed, what it keeps.
copy_in() {
	local rss0 hwm0 hwm1 rss1
	rss0=$(kib VmRSS)
	hwm0=$(kib VmHWM)
	cp -r "$PS_TMP/$1" "$MNT/restore/$1" 2>"$PS_TMP/cp.err" && cp_rc=0 || cp_rc=$?
	status=$(cat "$MNT/restore/$1/status")
	hwm1=$(kib VmHWM)
	rm -r "$MNT/restore/$1" || ps_fail "rm -r restore/$1 failed"
	rss1=$(kib VmRSS)
	[ $(((hwm1 - hwm0) / 1024)) -lt "$PEAK_MAX_MIB" ] ||
		ps_fail "$2: procsnap's peak grew by $(((hwm1 - hwm0) / 1024)) MiB"
	[ $(((rss1 - rss0) / 1024)) -lt "$KEPT_MAX_MIB" ] ||
		ps_fail "$2: procsnap kept $(((rss1 - rss0) / 1024)) MiB once the image was removed"
	ps_log "$2: VmRSS $((rss0 / 1024)) -> $((rss1 / 1024)) MiB, VmHWM $((hwm0 / 1024)) -> $((hwm1 / 1024)) MiB"
}

ps_start counter "$COUNTER"
pid=$PS_TARGET
base=$PS_TMP/base
cp -r "$MNT/$pid" "$base"
kill -KILL "$pid"
{ wait "$pid"; } 2>/dev/null || true

forge huge 1000000
copy_in huge "51 MB image.json"
[ "$cp_rc" != 0 ] || ps_fail "cp -r of the huge image exited 0"
grep -q "File too large" "$PS_TMP/cp.err" || ps_fail "cp's error: $(cat "$PS_TMP/cp.err")"
case $status in
"failed: image.json is "*" bytes, more than the 33554432 procsnap reads") ;;
*) ps_fail "huge image.json: status is '$status'" ;;
esac
ps_pass "51 MB image.json: cp fails with EFBIG, status '$status'"

forge big 150000
copy_in big "8 MB image.json"
case $status in
"incomplete: memory/10000000-10001000 is missing") ;;
*) ps_fail "big image.json: status is '$status'" ;;
esac
ps_pass "8 MB image.json is read: '$status', and its memory given back"
