# shellcheck shell=bash disable=SC2034,SC2154  # names for the tests sourcing this; lib.sh sets top_builddir
# Helpers of the restore end-to-end tests, sourced by tests/e2e/restore_*.sh
# after lib.sh (bash, set -eu).
#
# A restore test checkpoints a target (rs_checkpoint: cp -r of its directory,
# then kill -9), copies the image into $MNT/restore/ (rs_restore), asks the
# restored process to check itself (rs_verify: SIGUSR2, then an "OK ..." or
# "FAIL ..." line in its results file) and kills it (rs_kill).
#
# Restored processes are children of init, and not every init reaps orphans:
# the tests run under tests/reaper (a child subreaper, the Makefile's
# SH_LOG_COMPILER), so that the processes they restore and kill do not stay
# zombies holding their pids. Run by hand, a test re-executes itself under it.

TARGETS=$top_builddir/tests/targets
REAPER=$top_builddir/tests/reaper
RS_COUNTER=$TARGETS/restore_counter
RS_MEMORY=$TARGETS/restore_memory
RS_SLEEP=$TARGETS/restore_sleep
RS_AVX=$TARGETS/restore_registers_avx
RS_SIGNALS=$TARGETS/restore_signals
RS_IDS=$TARGETS/restore_process_ids
RS_PIPE=$TARGETS/restore_fd_pipe

RS_STATUS=   # the status line of the last rs_restore
RS_CP_RC=    # the exit status of its copy
RS_CP_ERR=   # and what the copy printed on stderr
RS_RESULT=   # the last result line rs_verify got

# Is process $1 an ancestor of this shell?
rs_is_ancestor() {
	local p=$$ s
	while [ "$p" -gt 1 ]; do
		[ "$p" = "$1" ] && return 0
		s=$(cat "/proc/$p/stat" 2>/dev/null) || return 1
		s=${s##*) }
		s=${s#* }
		p=${s%% *}
	done
	return 1
}

if [ -z "${PROCSNAP_REAPER:-}" ] || ! rs_is_ancestor "$PROCSNAP_REAPER"; then
	if [ -x "$REAPER" ]; then
		exec "$REAPER" "$BASH" "$0" "$@"
	fi
	# ps_setup below fails, naming the reaper that is not built.
fi

# rs_setup [PROGRAM...]: ps_setup for a restore test (the reaper and the
# programs must be built), then mount procsnap on $MNT with a spool of its
# own: the default one outlives the mount, and is shared with other mounts.
rs_setup() {
	ps_setup "$REAPER" "$@"
	MNT=$PS_TMP/mnt
	ps_mount "$MNT" "spool=$PS_TMP/spool"
	[ -d "$MNT/restore" ] || ps_fail "$MNT/restore is missing: this procsnap cannot restore"
}

rs_forget() { # PID: no longer ours to kill at cleanup (it is gone)
	local p keep=()
	for p in "${PS_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PS_PIDS=("${keep[@]}")
}

rs_exists() { # PID: any process with that pid, zombies included
	[ -e "/proc/$1" ]
}

# rs_wait_gone PID WHAT: wait until no process has that pid, not even a zombie.
rs_wait_gone() {
	local end=$((SECONDS + 11)) s
	while rs_exists "$1"; do
		if [ "$SECONDS" -ge "$end" ]; then
			s=$(cat "/proc/$1/stat" 2>/dev/null) || true
			ps_fail "pid $1 still exists 10s $2 (stat: ${s:-gone})"
		fi
		sleep 0.05
	done
	rs_forget "$1"
}

# rs_checkpoint PID IMG: copy the snapshot of PID to IMG (which must not
# exist), then kill PID, a child of this shell, and reap it. The snapshot is
# held open across the copy and the kill, so that the process does not run on
# between the checkpoint and its death.
rs_checkpoint() {
	local pid=$1 img=$2
	[ ! -e "$img" ] || ps_fail "rs_checkpoint: $img exists"
	local t0
	exec 8<"$MNT/$pid/image.json"
	cp -r "$MNT/$pid" "$img" || ps_fail "cp -r $MNT/$pid $img failed"
	t0=$EPOCHREALTIME
	kill -KILL "$pid"
	exec 8<&-
	wait "$pid" 2>/dev/null || true
	rs_wait_gone "$pid" "after kill -9 of the checkpointed process"
	ps_py check-image "$img" "$pid" >/dev/null
	ps_log "checkpointed $pid into $img ($(du -sh "$img" | cut -f1) on disk), killed it:" \
		"its pid was free after $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
}

rs_status() { # NAME: the status line of restore/NAME
	cat "$MNT/restore/$1/status"
}

# rs_restore IMG NAME [cp|tar|rsync]: copy IMG into $MNT/restore/NAME with
# that tool (default cp -r). Never fails itself: sets RS_CP_RC, RS_CP_ERR and
# RS_STATUS for the caller to judge.
rs_restore() {
	local img=$1 name=$2 how=${3:-cp} dst=$MNT/restore/$2 err=$PS_TMP/restore.err
	case $how in
	cp) cp -r "$img" "$dst" 2>"$err" && RS_CP_RC=0 || RS_CP_RC=$? ;;
	tar)
		mkdir "$dst"
		tar -C "$img" -cf - . 2>"$err" | tar -C "$dst" -xf - 2>>"$err" && RS_CP_RC=0 || RS_CP_RC=$?
		;;
	rsync) rsync -a "$img/" "$dst/" 2>"$err" && RS_CP_RC=0 || RS_CP_RC=$? ;;
	*) ps_fail "rs_restore: unknown copy tool $how" ;;
	esac
	RS_CP_ERR=$(tr '\n' ' ' <"$err")
	RS_STATUS=$(rs_status "$name") || ps_fail "cannot read $dst/status"
	ps_log "$how of $img into restore/$name: exit $RS_CP_RC, status '$RS_STATUS'${RS_CP_ERR:+, stderr: $RS_CP_ERR}"
}

# rs_restore_ok IMG NAME PID [TOOL]: the restore must succeed: the copy exits
# 0, status is "restored PID", and PID runs freely (not traced, not stopped).
# With RS_NOTE set, the status must carry a note containing it instead.
rs_restore_ok() {
	local img=$1 name=$2 pid=$3 want="restored $3"
	rs_restore "$img" "$name" "${4:-cp}"
	case $RS_STATUS in
	"$want") [ -z "${RS_NOTE:-}" ] ||
		ps_fail "restore of $name: status is '$RS_STATUS', want a note saying '$RS_NOTE'" ;;
	"$want; "*"${RS_NOTE:-}"*) [ -n "${RS_NOTE:-}" ] ||
		ps_fail "restore of $name: status is '$RS_STATUS', want '$want' with no note" ;;
	*) ps_fail "restore of $name: status is '$RS_STATUS', want '$want'${RS_NOTE:+ with a note saying '$RS_NOTE'}" ;;
	esac
	PS_PIDS+=("$pid")
	[ "$RS_CP_RC" = 0 ] || ps_fail "restore of $name: status says restored but ${4:-cp} exited $RS_CP_RC: $RS_CP_ERR"
	ps_alive "$pid" || ps_fail "restored $pid is not running"
	ps_wait_free "$pid" "after its restore"
	ps_pass "restored $pid with ${4:-cp}"
}

# rs_wait_result RESULTS COUNT: wait up to 10 s for line COUNT+1 of RESULTS;
# set RS_RESULT to it.
rs_wait_result() {
	local file=$1 count=$2 end=$((SECONDS + 11)) n
	while :; do
		n=0
		[ -f "$file" ] && n=$(wc -l <"$file")
		[ "$n" -gt "$count" ] && break
		[ "$SECONDS" -lt "$end" ] || ps_fail "no result line in $file after 10s"
		sleep 0.05
	done
	RS_RESULT=$(sed -n "$((count + 1))p" "$file")
}

rs_lines() { # FILE: its line count, 0 if it does not exist
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# rs_verify PID RESULTS [SIGNAL]: ask PID to check itself (SIGUSR2 unless
# told) and require an OK line in RESULTS within 10 s.
rs_verify() {
	local pid=$1 file=$2 sig=${3:-USR2} before
	before=$(rs_lines "$file")
	ps_alive "$pid" || ps_fail "process $pid is not running: cannot verify it"
	kill -"$sig" "$pid"
	rs_wait_result "$file" "$before"
	case $RS_RESULT in
	OK*) ps_pass "$pid says: $RS_RESULT" ;;
	*) ps_fail "$pid says: $RS_RESULT" ;;
	esac
}

# rs_expect_ok RESULTS COUNT WHAT: a result the target writes by itself.
rs_expect_ok() {
	rs_wait_result "$1" "$2"
	case $RS_RESULT in
	OK*) ps_pass "$3: $RS_RESULT" ;;
	*) ps_fail "$3: $RS_RESULT" ;;
	esac
}

# rs_kill PID: kill a restored process and wait until its pid is free (it
# is reaped by the reaper or by whichever ancestor adopted it).
rs_kill() {
	kill -KILL "$1" 2>/dev/null || true
	rs_wait_gone "$1" "after kill -9 of the restored process"
}

# rs_assert_staged NAME IMG [USER]: restore/NAME (as USER sees it: each
# user has a restore/ of their own) still holds every file of IMG, byte for
# byte (nothing lost, so the image can be fixed and retried).
rs_assert_staged() {
	local diffs as=()
	[ -z "${3:-}" ] || as=(us_as "$3")
	diffs=$("${as[@]}" diff -r -x status "$2" "$MNT/restore/$1" 2>&1) ||
		ps_fail "restore/$1 no longer holds the image: $diffs"
	ps_pass "restore/$1 still holds the staged image: $("${as[@]}" find "$MNT/restore/$1" -type f | wc -l) files"
}

# rs_assert_nothing_left PID: after a failed restore no process has the pid
# and procsnap has no child (no stub, no zombie).
rs_assert_nothing_left() {
	local end=$((SECONDS + 6)) kids left
	while :; do
		kids=$(rs_children "$PS_DAEMON")
		if ! rs_exists "$1" && [ -z "$kids" ]; then
			return 0
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			left=
			[ -z "$kids" ] || left="children of procsnap: $kids; "
			! rs_exists "$1" || left="${left}pid $1: $(cat "/proc/$1/stat" 2>/dev/null)"
			ps_fail "left behind after a failed restore: $left"
		fi
		sleep 0.05
	done
}

# rs_assert_refused PID IMG NAME SENTENCE [USER]: the last restore
# (rs_restore, or us_restore as USER) of IMG into restore/NAME, of the
# process that was PID, was refused: the status is "failed: " and contains
# SENTENCE (a glob), the copy failed, nothing is left running and the image
# is still staged.
rs_assert_refused() {
	local pid=$1 img=$2 name=$3 want=$4 user=${5:-}
	# shellcheck disable=SC2254  # $want is a pattern
	case $RS_STATUS in
	"failed: "*$want*) ;;
	*)
		[ "$RS_STATUS" != "restored $pid" ] || PS_PIDS+=("$pid")   # ps_cleanup kills it
		ps_fail "restore of $name: status is '$RS_STATUS', want a refusal saying '$want'"
		;;
	esac
	[ "$RS_CP_RC" != 0 ] || ps_fail "restore of $name was refused but cp exited 0"
	rs_assert_nothing_left "$pid"
	rs_assert_staged "$name" "$img" "$user"
	ps_pass "refused, nothing left running, the image kept: $RS_STATUS"
}

rs_children() { # PID: "pid(comm,state)" of each of its children, on one line
	{ ps -o pid=,comm=,stat= --ppid "$1" 2>/dev/null || true; } |
		awk '{ printf "%s(%s,%s) ", $1, $2, $3 }'
}

# rs_counter_trim LOG SAVED: put restore_counter's LOG back as it was at the
# checkpoint, when the counter was SAVED: drop lines n > SAVED written after it
# (by a process that ran on, or by an earlier restore of the same image).
# Rewritten in place: the restore reopens the same file.
rs_counter_trim() {
	local log=$1 saved=$2 before after
	before=$(wc -l <"$log")
	awk -F= -v k="$saved" '$2 + 0 <= k + 0' "$log" >"$PS_TMP/trim.tmp"
	cat "$PS_TMP/trim.tmp" >"$log"
	after=$(wc -l <"$log")
	[ "$before" = "$after" ] || ps_log "trimmed $log from $before to $after lines (the counter was $saved)"
}

# rs_counter_checkpoint IMG: start restore_counter, let it count, checkpoint
# it into IMG. Sets pid, res (its results file), log (its log) and saved
# (the counter in the image, > 0).
rs_counter_checkpoint() {
	local addr
	res=$PS_TMP/counter.results
	log=$PS_TMP/counter.log
	ps_start counter "$RS_COUNTER" "$res" "$log"
	pid=$PS_TARGET
	addr=$(ps_field addr)
	sleep 0.3
	rs_checkpoint "$pid" "$1"
	saved=$(ps_py u64 "$1" "$addr")
	[ "$saved" -gt 0 ] || ps_fail "the counter is $saved in the image"
}

# rs_counter_still_counting PID LOG: the log grows.
rs_counter_still_counting() {
	local n1 n2
	n1=$(wc -l <"$2")
	sleep 0.3
	n2=$(wc -l <"$2")
	[ "$n2" -gt "$n1" ] || ps_fail "process $1 stopped counting: $2 stays at $n1 lines"
}

# rs_ok_count: the count in restore_counter's "OK count=N: ..." line.
rs_ok_count() {
	local c=${RS_RESULT#OK count=}
	printf '%s\n' "${c%%:*}"
}

# rs_maps PID: one line per mapping of PID: "start-end perms offset name
# VmFlags: flags", from /proc/PID/smaps, the flags sorted. The device and
# inode are left out: a file that is gone (memfd, deleted file) comes back as
# a new inode. So is the last component of a deleted regular file's name: the
# restorer makes it again with O_TMPFILE, which the kernel names "#<inode>"
# (memfd names do come back, and are compared). Every other field and every
# VmFlags mnemonic of proc_pid_smaps(5) must come back as it was.
rs_maps() {
	awk '
	/^[0-9a-f]+-[0-9a-f]+ / {
		if (head != "") print head " VmFlags:" flags
		name = ""
		for (i = 6; i <= NF; i++) name = name " " $i
		if (name ~ / \(deleted\)$/ && name !~ /^ \/memfd:/)
			sub(/\/[^\/]* \(deleted\)$/, "/<deleted file> (deleted)", name)
		head = $1 " " $2 " " $3 name
		flags = ""
		next
	}
	/^VmFlags:/ {
		n = split(substr($0, 9), f, " ")
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (f[j] < f[i]) { t = f[i]; f[i] = f[j]; f[j] = t }
		flags = ""
		for (i = 1; i <= n; i++) flags = flags " " f[i]
	}
	END { if (head != "") print head " VmFlags:" flags }
	' "/proc/$1/smaps"
}

# rs_save_maps PID FILE: before the checkpoint, what rs_compare_maps will
# require after the restore.
rs_save_maps() {
	rs_maps "$1" >"$2" || ps_fail "cannot read /proc/$1/smaps"
	[ -s "$2" ] || ps_fail "/proc/$1/smaps lists no mapping"
}

# rs_compare_maps PID FILE: the restored PID has exactly the mappings saved
# in FILE by rs_save_maps: the same ranges, permissions, offsets, names and
# VmFlags. Fails listing each mapping that differs, before and after.
rs_compare_maps() {
	local now=$PS_TMP/maps.now diffs
	rs_maps "$1" >"$now" || ps_fail "cannot read /proc/$1/smaps"
	if ! diffs=$(diff "$2" "$now"); then
		ps_fail "the mappings of $1 differ from the checkpoint's (< before, > after the restore):
$(grep '^[<>]' <<<"$diffs")"
	fi
	ps_pass "the $(wc -l <"$now") mappings of $1 have their ranges, permissions, offsets, names and VmFlags as before"
}

# rs_checkpoint_maps PID IMG: rs_checkpoint, with PID's mappings saved first
# in IMG.maps (beside the image, not in it) for rs_restore_exact.
rs_checkpoint_maps() {
	rs_save_maps "$1" "$2.maps"
	rs_checkpoint "$1" "$2"
}

# rs_restore_exact IMG NAME PID: rs_restore_ok, then the restored PID must
# have exactly the mappings rs_checkpoint_maps saved for IMG.
rs_restore_exact() {
	rs_restore_ok "$1" "$2" "$3"
	rs_compare_maps "$3" "$1.maps"
}
