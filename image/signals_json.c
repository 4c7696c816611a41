/* signals.json: handler, flags, restorer and mask of each of the 64 signals,
 * and the process-wide pending queue with full siginfo. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "image/codec.h"
#include "image/json_util.h"

#define SIGKILL_NR 9
#define SIGSTOP_NR 19
#define HANDLER_DFL 0
#define HANDLER_IGN 1

/* Names as `kill -l` prints them; 32 and 33 are glibc's own, unnamed there. */
static const char *const std_names[32] = {
	NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
	"SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
	"SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
	"SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
	"SIGIO", "SIGPWR", "SIGSYS",
};

/* SA_* as the kernel's x86_64 struct sigaction holds them. */
static const struct ps_flag sa_flags[] = {
	{ 0x00000001, 0x00000001, "SA_NOCLDSTOP" },
	{ 0x00000002, 0x00000002, "SA_NOCLDWAIT" },
	{ 0x00000004, 0x00000004, "SA_SIGINFO" },
	{ 0x00000400, 0x00000400, "SA_UNSUPPORTED" },
	{ 0x00000800, 0x00000800, "SA_EXPOSE_TAGBITS" },
	{ 0x04000000, 0x04000000, "SA_RESTORER" },
	{ 0x08000000, 0x08000000, "SA_ONSTACK" },
	{ 0x10000000, 0x10000000, "SA_RESTART" },
	{ 0x40000000, 0x40000000, "SA_NODEFER" },
	{ 0x80000000, 0x80000000, "SA_RESETHAND" },
	{ 0, 0, NULL },
};

static void signal_name(int signo, char *buf, size_t len)
{
	if (signo < 32)
		snprintf(buf, len, "%s", std_names[signo]);
	else if (signo < 34)
		snprintf(buf, len, "SIG%d", signo);
	else if (signo == 34)
		snprintf(buf, len, "SIGRTMIN");
	else if (signo < 50)
		snprintf(buf, len, "SIGRTMIN+%d", signo - 34);
	else if (signo < PS_NSIG)
		snprintf(buf, len, "SIGRTMAX-%d", PS_NSIG - signo);
	else
		snprintf(buf, len, "SIGRTMAX");
}

/* ---- encoding ---- */

static json_t *encode_handler(uint64_t h)
{
	if (h == HANDLER_DFL)
		return json_string("SIG_DFL");
	if (h == HANDLER_IGN)
		return json_string("SIG_IGN");
	return ps_json_hex(h);
}

static json_t *encode_action(int signo, const struct ps_sigaction *a)
{
	json_t *o = json_object();
	char name[16];
	int rc = 0;

	signal_name(signo, name, sizeof(name));
	rc |= json_object_set_new(o, "signo", json_integer(signo));
	rc |= json_object_set_new(o, "name", json_string(name));
	rc |= json_object_set_new(o, "handler", encode_handler(a->handler));
	rc |= json_object_set_new(o, "flags", ps_json_flags(a->flags, sa_flags));
	rc |= json_object_set_new(o, "flags_raw", ps_json_hex(a->flags));
	rc |= json_object_set_new(o, "restorer", ps_json_hex(a->restorer));
	rc |= json_object_set_new(o, "mask", ps_json_hex(a->mask));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ps_encode_signals(const struct ps_signals *s)
{
	json_t *o = ps_json_new_file();
	json_t *acts = json_array();
	json_t *pending = json_array();
	int rc = 0;

	for (int signo = 1; signo <= PS_NSIG; signo++)
		rc |= json_array_append_new(acts, encode_action(signo, &s->act[signo]));
	for (size_t i = 0; i < s->nshared_pending; i++)
		rc |= json_array_append_new(pending, ps_json_siginfo(&s->shared_pending[i]));
	rc |= json_object_set_new(o, "actions", acts);
	rc |= json_object_set_new(o, "pending", pending);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- decoding ---- */

/* "SIG_DFL", "SIG_IGN", or the address of a function in user space. */
static int decode_handler(const json_t *j, int signo, uint64_t *h, struct ps_jerr *e)
{
	const json_t *v = json_object_get(j, "handler");
	const char *s = json_string_value(v);

	if (s && strcmp(s, "SIG_DFL") == 0)
		*h = HANDLER_DFL;
	else if (s && strcmp(s, "SIG_IGN") == 0)
		*h = HANDLER_IGN;
	else if (ps_jget_addr(j, "handler", h, e))
		return -EINVAL;
	/* the kernel never lets these two be caught or ignored */
	if ((signo == SIGKILL_NR || signo == SIGSTOP_NR) && *h != HANDLER_DFL)
		return ps_jerr_fail(e, "field \"handler\" must be \"SIG_DFL\": this signal "
				    "cannot be caught or ignored");
	return 0;
}

static int decode_signo(const json_t *j, int expect, struct ps_jerr *e)
{
	long long signo;
	const char *name;
	char want[16];

	if (ps_jget_int(j, "signo", 1, PS_NSIG, &signo, e))
		return -EINVAL;
	if (signo != expect)
		return ps_jerr_fail(e, "field \"signo\" is %lld, but entries must be in order: "
				    "expected %d", signo, expect);
	signal_name(expect, want, sizeof(want));
	if (ps_jget_string(j, "name", sizeof(want), &name, e))
		return -EINVAL;
	if (strcmp(name, want) != 0)
		return ps_jerr_fail(e, "field \"name\" is \"%s\", but signal %d is %s",
				    name, expect, want);
	return 0;
}

static int decode_action(const json_t *j, int signo, struct ps_sigaction *a, struct ps_jerr *e)
{
	if (ps_jv_object(j, "actions[]", e) ||
	    decode_signo(j, signo, e) ||
	    decode_handler(j, signo, &a->handler, e) ||
	    ps_jget_flags_raw(j, "flags", "flags_raw", sa_flags, &a->flags, e) ||
	    ps_jget_addr(j, "restorer", &a->restorer, e) ||
	    ps_jget_hex(j, "mask", UINT64_MAX, &a->mask, e))
		return -EINVAL;
	return 0;
}

static int decode_actions(const json_t *j, struct ps_signals *s, struct ps_jerr *e)
{
	const json_t *a;
	char name[16];

	if (ps_jget_array(j, "actions", &a, e))
		return -EINVAL;
	if (json_array_size(a) != PS_NSIG)
		return ps_jerr_fail(e, "field \"actions\" has %zu entries, not one per signal (%d)",
				    json_array_size(a), PS_NSIG);
	for (int signo = 1; signo <= PS_NSIG; signo++) {
		size_t mark;

		signal_name(signo, name, sizeof(name));
		mark = ps_jerr_push(e, "signal %d (%s)", signo, name);
		if (decode_action(json_array_get(a, (size_t)signo - 1), signo, &s->act[signo], e))
			return -EINVAL;
		ps_jerr_pop(e, mark);
	}
	return 0;
}

static int decode_pending(const json_t *j, struct ps_signals *s, struct ps_jerr *e)
{
	return ps_jget_siginfo_list(j, "pending", &s->shared_pending, &s->nshared_pending, e);
}

int ps_decode_signals(const json_t *j, struct ps_signals *out, char *err, size_t errlen)
{
	struct ps_jerr e;
	int rc;

	ps_jerr_init(&e, err, errlen, "signals.json");
	memset(out, 0, sizeof(*out));
	rc = ps_jcheck_format(j, &e);
	if (!rc)
		rc = decode_actions(j, out, &e);
	if (!rc)
		rc = decode_pending(j, out, &e);
	if (rc)
		ps_signals_free(out);
	return ps_jerr_rc(&e, rc);
}

json_t *ps_encode_signals_part(const struct ps_model *m, size_t thread)
{
	(void)thread;
	return ps_encode_signals(&m->signals);
}

int ps_decode_signals_part(const json_t *j, struct ps_model *m, size_t thread,
			   char *err, size_t errlen)
{
	(void)thread;
	return ps_decode_signals(j, &m->signals, err, errlen);
}
