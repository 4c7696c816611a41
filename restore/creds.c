/* Credentials, the last step of a restore: the stub (root, with procsnap's
 * capabilities) takes the image's groups, ids, capabilities and securebits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "restore/creds.h"
#include "backend/proc_parse.h"

static int call_ok(long rc)
{
	return rc < 0 ? (int)rc : 0;
}

/* The stub's capabilities now, from /proc/<pid>/status (its main thread's). */
int ps_stub_caps(struct ps_rctx *c, struct ps_caps *now)
{
	struct ps_status st;
	int rc = ps_read_status(c->pid, &st);

	if (rc < 0)
		return ps_rfail(c, rc, "/proc/%d/status: %s", c->pid, strerror(-rc));
	free(st.groups);
	*now = (struct ps_caps){ st.cap_inh, st.cap_prm, st.cap_eff, st.cap_bnd, st.cap_amb };
	return 0;
}

int ps_set_groups(struct ps_rctx *c, const gid_t *groups, size_t n)
{
	size_t max = PS_SCRATCH_SIZE / sizeof(gid_t);
	uint64_t addr = 0;

	if (n > max)
		return ps_rfail(c, -E2BIG, "%zu supplementary groups: a restore can set at most %zu",
				n, max);
	if (n) {
		addr = ps_rput(c, 0, groups, n * sizeof(gid_t));
		if (!addr)
			return -EIO;
	}
	return call_ok(ps_rcall(c, "setgroups", SYS_setgroups, n, addr, 0, 0, 0, 0));
}

/* setfsuid/setfsgid return the previous id, never an error: asking again
 * with -1 (never valid, so nothing changes) tells whether the change took. */
static int set_fsid(struct ps_rctx *c, long nr, const char *name, uint32_t id)
{
	char what[64];
	long now;

	snprintf(what, sizeof(what), "%s(%u)", name, (unsigned)id);
	now = ps_rcall(c, what, nr, id, 0, 0, 0, 0, 0);
	if (now >= 0)
		now = ps_rcall(c, what, nr, (uint32_t)-1, 0, 0, 0, 0, 0);
	if (now < 0)
		return (int)now;
	if ((uint32_t)now != id)
		return ps_rfail(c, -EPERM, "%s: the kernel kept %ld", what, now);
	return 0;
}

/* setresgid sets the fsgid to the new effective gid; setfsgid only when
 * the image's differs. Needs CAP_SETGID, so before the uids change. */
static int set_gids(struct ps_rctx *c)
{
	const gid_t *g = c->m->proc.creds.gid;
	char what[80];
	int rc;

	snprintf(what, sizeof(what), "setresgid(%u, %u, %u)", (unsigned)g[0], (unsigned)g[1],
		 (unsigned)g[2]);
	rc = call_ok(ps_rcall(c, what, SYS_setresgid, g[0], g[1], g[2], 0, 0, 0));
	if (rc || g[3] == g[1])
		return rc;
	return set_fsid(c, SYS_setfsgid, "setfsgid", g[3]);
}

static int set_uids(struct ps_rctx *c)
{
	const uid_t *u = c->m->proc.creds.uid;
	char what[80];
	int rc;

	snprintf(what, sizeof(what), "setresuid(%u, %u, %u)", (unsigned)u[0], (unsigned)u[1],
		 (unsigned)u[2]);
	rc = call_ok(ps_rcall(c, what, SYS_setresuid, u[0], u[1], u[2], 0, 0, 0));
	if (rc || u[3] == u[1])
		return rc;
	return set_fsid(c, SYS_setfsuid, "setfsuid", u[3]);
}

static int set_securebits(struct ps_rctx *c, uint32_t bits)
{
	char what[64];

	snprintf(what, sizeof(what), "prctl(PR_SET_SECUREBITS, %#x)", (unsigned)bits);
	return call_ok(ps_rcall(c, what, SYS_prctl, PR_SET_SECUREBITS, bits, 0, 0, 0, 0));
}

/* capset v3: two data structs, the low and the high 32 bits of each set. */
int ps_set_caps(struct ps_rctx *c, uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct {
		struct __user_cap_header_struct hdr;
		struct __user_cap_data_struct data[2];
	} a = {
		{ _LINUX_CAPABILITY_VERSION_3, 0 },
		{ { (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		  { (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) } },
	};
	uint64_t addr = ps_rput(c, 0, &a, sizeof(a));
	char what[96];

	if (!addr)
		return -EIO;
	snprintf(what, sizeof(what), "capset(effective %#llx, permitted %#llx, inheritable %#llx)",
		 (unsigned long long)eff, (unsigned long long)prm, (unsigned long long)inh);
	return call_ok(ps_rcall(c, what, SYS_capset, addr, addr + sizeof(a.hdr), 0, 0, 0, 0));
}

/* PR_CAP_AMBIENT_RAISE takes a capability that is both permitted and
 * inheritable, and no privilege; a clear comes first when the stub has
 * ambient capabilities the image lacks. */
static int set_ambient(struct ps_rctx *c, const struct ps_caps *now)
{
	uint64_t want = c->m->proc.creds.cap_amb, have = now->amb;
	char what[64];
	int rc;

	if (have & ~want) {
		rc = call_ok(ps_rcall(c, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", SYS_prctl, PR_CAP_AMBIENT,
				      PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0));
		if (rc)
			return rc;
		have = 0;
	}
	for (int cap = 0; cap < 64; cap++) {
		if (!(want & ~have & (1ULL << cap)))
			continue;
		snprintf(what, sizeof(what), "prctl(PR_CAP_AMBIENT_RAISE, capability %d)", cap);
		rc = call_ok(ps_rcall(c, what, SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
				      (uint64_t)cap, 0, 0, 0));
		if (rc)
			return rc;
	}
	return 0;
}

/* PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set. Only the
 * capabilities the stub's bounding set still holds are dropped. */
static int drop_bounding(struct ps_rctx *c, const struct ps_caps *now)
{
	uint64_t drop = now->bnd & ~c->m->proc.creds.cap_bnd;
	char what[64];

	for (int cap = 0; cap < 64; cap++) {
		int rc;

		if (!(drop & (1ULL << cap)))
			continue;
		snprintf(what, sizeof(what), "prctl(PR_CAPBSET_DROP, capability %d)", cap);
		rc = call_ok(ps_rcall(c, what, SYS_prctl, PR_CAPBSET_DROP, (uint64_t)cap, 0, 0, 0, 0));
		if (rc)
			return rc;
	}
	return 0;
}

/* The kernel's rules decide the order:
 *  - setgroups, setresgid and setfsgid need CAP_SETGID; PR_SET_SECUREBITS
 *    and PR_CAPBSET_DROP need CAP_SETPCAP in the effective set; setresuid
 *    and setfsuid need CAP_SETUID: all while the stub still has them;
 *  - a uid change away from 0 clears the permitted, effective and ambient
 *    sets unless SECBIT_NO_SETUID_FIXUP is set, so it is set around it;
 *  - capset accepts a new inheritable set only within the old inheritable
 *    set and the bounding set, so the inheritable set is given before the
 *    bounding set shrinks;
 *  - an ambient capability must be permitted and inheritable when raised,
 *    and SECBIT_NO_CAP_AMBIENT_RAISE forbids raising, so ambient comes after
 *    the inheritable set and before the final securebits;
 *  - the final securebits need CAP_SETPCAP, which the final capset may take
 *    away, so they come just before it; that capset keeps the ambient set
 *    (it only trims ambient capabilities outside permitted and inheritable);
 *  - no_new_privs cannot be undone: last. */
int ps_restore_creds(struct ps_rctx *c)
{
	const struct ps_creds *cr = &c->m->proc.creds;
	struct ps_caps now = { 0 };
	int rc = ps_stub_caps(c, &now);

	if (!rc)
		rc = ps_set_groups(c, cr->groups, cr->ngroups);
	if (!rc)
		rc = set_gids(c);
	if (!rc && cr->cap_inh != now.inh)
		rc = ps_set_caps(c, now.eff, now.prm, cr->cap_inh);
	if (!rc)
		rc = set_ambient(c, &now);
	if (!rc)
		rc = drop_bounding(c, &now);
	if (!rc)
		rc = set_securebits(c, SECBIT_NO_SETUID_FIXUP);
	if (!rc)
		rc = set_uids(c);
	if (!rc && cr->securebits != SECBIT_NO_SETUID_FIXUP)
		rc = set_securebits(c, cr->securebits);
	if (!rc)
		rc = ps_set_caps(c, cr->cap_eff, cr->cap_prm, cr->cap_inh);
	/* Changing uids resets dumpable to the suid_dumpable sysctl, which
	 * would keep the owner from tracing (and checkpointing) its process.
	 * 2 is the sysctl's own value and cannot be set with prctl. */
	if (!rc && cr->dumpable < 2)
		rc = call_ok(ps_rcall(c, "prctl(PR_SET_DUMPABLE)", SYS_prctl, PR_SET_DUMPABLE,
				      (uint64_t)cr->dumpable, 0, 0, 0, 0));
	if (!rc && cr->no_new_privs)
		rc = call_ok(ps_rcall(c, "prctl(PR_SET_NO_NEW_PRIVS)", SYS_prctl,
				      PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0));
	return rc;
}
