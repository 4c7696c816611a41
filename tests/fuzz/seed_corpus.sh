#!/bin/bash
# seed_corpus: refill tests/fuzz/corpus/ with real images: checkpoints of the
# test targets, each JSON part into its decoder's directory, whole images
# (the bundles fuzz_image.c reads) into corpus/image. Run as root after
# make check has built the targets: make fuzz-corpus.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../e2e/restore_lib.sh
. "$(dirname "$0")/../e2e/restore_lib.sh"

CORPUS=$top_srcdir/tests/fuzz/corpus
DECODERS="image_meta process signals fds maps thread seccomp image"
MAX_THREADS_KEPT=2   # registers files kept per image: the rest are alike

T=$TARGETS
rs_setup "$T/restore_counter" "$T/restore_threads" "$T/restore_signals" "$T/restore_signals_handlers" \
	"$T/restore_timers" "$T/restore_fd_file" "$T/restore_fd_anon" "$T/restore_fd_unix" \
	"$T/restore_fd_inet" "$T/restore_fd_pipe" "$T/restore_memory_gone_maps" "$T/waits" \
	"$T/restore_aio" "$T/restore_sysv_shm" "$T/restore_attributes" "$T/restore_seccomp"
for d in $DECODERS; do
	mkdir -p "$CORPUS/$d"
	rm -f "$CORPUS/$d"/seed-*
done

# keep NAME IMG: copy the parts of image IMG into the corpus, as NAME.
keep() {
	local name=$1 img=$2 f n=0
	cp "$img/image.json" "$CORPUS/image_meta/seed-$name"
	cp "$img/process.json" "$CORPUS/process/seed-$name"
	cp "$img/signals.json" "$CORPUS/signals/seed-$name"
	cp "$img/fds.json" "$CORPUS/fds/seed-$name"
	cp "$img/memory/maps.json" "$CORPUS/maps/seed-$name"
	cp "$img/seccomp.json" "$CORPUS/seccomp/seed-$name"
	for f in "$img"/registers/*.json; do
		[ "$n" -lt "$MAX_THREADS_KEPT" ] || break
		cp "$f" "$CORPUS/thread/seed-$name-$(basename "$f" .json)"
		n=$((n + 1))
	done
	bundle "$img" >"$CORPUS/image/seed-$name"
	chmod 644 "$CORPUS"/*/seed-"$name"*   # procsnap serves its files read-only
}

# bundle IMG: the image as one input of the whole-image harness. Its JSON
# parts whole; memory and fd data files empty (the harness sets the sizes
# image.json lists to what it was given, and their bytes are never parsed).
bundle() {
	local img=$1 name
	while read -r name; do
		printf '@@ %s\n' "$name"
		case $name in *.json) cat "$img/$name" ;; esac
		printf '\n'
	done < <(printf 'image.json\n'; python3 -c '
import json, sys
for f in json.load(open(sys.argv[1]))["files"]:
    print(f["name"])' "$img/image.json")
}

# image NAME COMMAND...: start COMMAND with an empty environment (nothing of
# this machine's goes into the corpus), checkpoint it, keep its image.
image() {
	local name=$1
	shift
	ps_start "$name" env -i PATH=/usr/bin:/bin "$@"
	rs_checkpoint "$PS_TARGET" "$PS_TMP/img-$name"
	rs_forget "$PS_TARGET"
	keep "$name" "$PS_TMP/img-$name"
}

mkdir "$PS_TMP/files" "$PS_TMP/anon" "$PS_TMP/unix" "$PS_TMP/gone"
mkfifo "$PS_TMP/fifo"
image counter "$T/restore_counter" "$PS_TMP/counter.results" "$PS_TMP/counter.log"
image threads "$T/restore_threads" "$PS_TMP/threads.results" 4
image signals "$T/restore_signals" "$PS_TMP/signals.results"
image sighandlers "$T/restore_signals_handlers" "$PS_TMP/sighandlers.results" "$BASHPID"
image timers "$T/restore_timers" "$PS_TMP/timers.results"
image files "$T/restore_fd_file" "$PS_TMP/files.results" "$PS_TMP/files"
image anon "$T/restore_fd_anon" "$PS_TMP/anon.results" "$PS_TMP/anon"
image unix "$T/restore_fd_unix" "$PS_TMP/unix.results" "$PS_TMP/unix"
image inet "$T/restore_fd_inet" "$PS_TMP/inet.results"
image tcp "$T/restore_fd_inet" "$PS_TMP/tcp.results" established   # unsupported fds
image ptmx "$T/restore_fd_pipe" "$PS_TMP/ptmx.results" ptmx
image gone "$T/restore_memory_gone_maps" "$PS_TMP/gone.results" "$PS_TMP/gone"
image epoll "$T/waits" "$PS_TMP/fifo"
image aio "$T/restore_aio" "$PS_TMP/aio.results" "$PS_TMP"
sysv_key=$(printf '0x5f%06x' $(($$ & 0xffffff)))
image sysv "$T/restore_sysv_shm" "$PS_TMP/sysv.results" "$sysv_key"
ipcrm -M "$sysv_key"   # the live segment outlives its process
image attributes "$T/restore_attributes" "$PS_TMP/attributes.results" mdwe
image seccomp "$T/restore_seccomp" filters "$PS_TMP/seccomp.results"
image strict "$T/restore_seccomp" strict "$PS_TMP/strict.results"
ps_pass "corpus refilled: $(find "$CORPUS" -name 'seed-*' | wc -l) seeds in $CORPUS"
