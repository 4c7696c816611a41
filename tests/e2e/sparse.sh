#!/bin/bash
# sparse: a 1 GiB mapping with one touched page is a 1 GiB content file with
# one page of data: st_blocks, SEEK_DATA/SEEK_HOLE and cp --sparse all agree.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ps_setup "$BIGMAP"
MNT=$PS_TMP/mnt
ps_mount "$MNT" hold=1
off=$((300 << 20))   # the touched page, inside the mapping, away from its ends
ps_start bigmap "$BIGMAP" 1024 4096 "$off"
pid=$PS_TARGET
addr=$(ps_field addr)

exec 9<"$MNT/$pid/image.json"
ps_assert_frozen "$pid" "$PS_DAEMON" "while image.json is open"
m=$(ps_py mapping "$MNT/$pid" "$addr")
read -r start end prot content <<<"$m"
[ "$content" != None ] || ps_fail "mapping $start-$end ($prot) has no content file"
file=$MNT/$pid/$content
ps_log "the 1 GiB mapping: $start-$end $prot in $content"

# The file: its size, its blocks, where its data is, and the data.
python3 - "$file" "$start" "$end" "$addr" "$off" <<'PY'
import os, sys
path, start, end, addr, off = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16), int(sys.argv[4], 16), int(sys.argv[5])
GiB, MiB = 1 << 30, 1 << 20
st = os.stat(path)
if end - start < GiB:
    sys.exit("mapping %x-%x is smaller than 1 GiB" % (start, end))
if st.st_size != end - start:
    sys.exit("st_size %d, but the mapping is %d bytes" % (st.st_size, end - start))
if st.st_blocks * 512 >= MiB:
    sys.exit("st_blocks %d (%d bytes) for 4 KiB touched: not sparse" % (st.st_blocks, st.st_blocks * 512))
page = addr - start + off     # offset of the touched page in the file
fd = os.open(path, os.O_RDONLY)
data = os.lseek(fd, addr - start, os.SEEK_DATA)
if data != page:
    sys.exit("SEEK_DATA from the mapping's address gives %d, the touched page is at %d" % (data, page))
hole = os.lseek(fd, data, os.SEEK_HOLE)
if hole != page + 4096:
    sys.exit("SEEK_HOLE from the touched page gives %d, want %d" % (hole, page + 4096))
got = os.pread(fd, 4096, page)
want = bytes((i % 255) + 1 for i in range(off, off + 4096))
if got != want:
    sys.exit("the touched page's bytes differ from what bigmap wrote")
if os.pread(fd, 4096, page + 4096) != bytes(4096):
    sys.exit("the page after the touched one is not zeros")
print("size %d, %d blocks, data at %d..%d, bytes as written" % (st.st_size, st.st_blocks, data, hole))
PY
ps_pass "content file: 1 GiB, under 1 MiB of blocks, SEEK_DATA/SEEK_HOLE find the page"

cp --sparse=always "$file" "$PS_TMP/copy"
ps_assert_eq "$(stat -c %s "$file")" "$(stat -c %s "$PS_TMP/copy")" "size of the cp --sparse=always copy"
used=$(du -k "$PS_TMP/copy" | cut -f1)
[ "$used" -lt 1024 ] || ps_fail "the cp --sparse=always copy uses $used KiB for 4 KiB of data"
cmp "$file" "$PS_TMP/copy" || ps_fail "the copy differs from $file"
ps_pass "cp --sparse=always copy: same bytes, $used KiB on disk"

exec 9<&-
ps_wait_free "$pid" "after the snapshot was released"
