#!/bin/bash
# state_audit: docs/state-audit.md has a row for every field of
# /proc/self/status, every file of /proc/self/, every macro of the system's
# <linux/prctl.h> and every ARCH_ macro of <asm/prctl.h>, so that a kernel or
# header that adds one fails here until the table says what becomes of it.
#
# The rule, and why it is robust:
#  - The table is the doc itself: every `backticked` token of
#    docs/state-audit.md is a name it covers. The test and the doc cannot
#    drift, and prose elsewhere in the doc does not count (only code spans).
#  - prctl.h: every `#define PR_...` (any indentation: the header indents an
#    option's argument values with "# define", but not consistently) is a
#    name to cover. Options and their values alike: a new value of an
#    existing option may change what a process can set. A name is covered
#    when it appears as a token, or when a token `PR_FAMILY_*` is a prefix
#    of it; a family must be more than PR_, PR_SET_ or PR_GET_ (a
#    wildcard that broad would cover every future option unseen).
#    Macros of the header that do not start with PR_ (FH_FLAG_IMMUTABLE,
#    SYSCALL_DISPATCH_FILTER_*) are values, listed as tokens when present.
#  - asm/prctl.h: every `#define ARCH_...`, the same way.
#  - /proc/self/status: every "Name:" at the start of a line, covered by
#    the token `Name:`.
#  - /proc/self/: every entry, covered by the token `/proc/<pid>/entry`.
set -eu -o pipefail

src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
doc=$src/docs/state-audit.md
prctl_h=${PRCTL_H:-/usr/include/linux/prctl.h}
arch_h=${ARCH_PRCTL_H:-}
for h in /usr/include/asm/prctl.h /usr/include/x86_64-linux-gnu/asm/prctl.h; do
	[ -n "$arch_h" ] || [ ! -f "$h" ] || arch_h=$h
done
missing=()

[ -f "$doc" ] || { echo "FAIL: $doc is missing"; exit 1; }
tokens=$(grep -o '`[^`]*`' "$doc" | tr -d '`' | tr ' ' '\n' | sort -u)

covered() { # NAME: a token, or a family token that is a prefix of it
	local name=$1 t
	grep -qxF -- "$name" <<<"$tokens" && return 0
	while read -r t; do
		case $t in
		PR_\* | PR_SET_\* | PR_GET_\* | ARCH_\*) continue ;;
		*\*) [[ $name == "${t%\*}"* ]] && return 0 ;;
		esac
	done < <(grep -- '\*$' <<<"$tokens")
	return 1
}

check() { # KIND NAME...
	local kind=$1 n
	shift
	for n in "$@"; do
		covered "$n" || missing+=("$kind $n")
	done
}

# shellcheck disable=SC2046
check prctl $(grep -oE '^#[[:space:]]*define[[:space:]]+PR_[A-Za-z0-9_]+' "$prctl_h" | awk '{print $NF}')
if [ -n "$arch_h" ]; then
	# shellcheck disable=SC2046
	check arch_prctl $(grep -oE '^#[[:space:]]*define[[:space:]]+ARCH_[A-Za-z0-9_]+' "$arch_h" | awk '{print $NF}')
fi
# shellcheck disable=SC2046
check status $(sed -n 's/^\([^:[:space:]]*\):.*/\1:/p' /proc/self/status)
# shellcheck disable=SC2046
check proc $(ls /proc/self | sed 's|^|/proc/<pid>/|')

if [ ${#missing[@]} -gt 0 ]; then
	echo "FAIL: docs/state-audit.md has no row for:"
	printf '  %s\n' "${missing[@]}"
	exit 1
fi
echo "ok: docs/state-audit.md covers $(grep -c '^#[[:space:]]*define[[:space:]]*PR_' "$prctl_h") prctl macros," \
	"$(wc -l </proc/self/status) status fields and $(ls /proc/self | wc -l) files of /proc/self"
