/* The table of the parts of a process (image/parts.h): each row names the
 * functions of its part in backend/, image/ and restore/. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/part_capture.h"
#include "backend/fd_capture.h"
#include "backend/sentence.h"
#include "image/codec.h"
#include "image/image_limits.h"
#include "image/parts.h"
#include "restore/fd_restore.h"
#include "restore/part_restore.h"

/* ---- fds: its row calls the descriptors' functions as a whole ---- */

static int capture_fds(struct ps_capture *c, char *err, size_t errlen)
{
	return ps_capture_fds(c->frozen.pid, &c->model.fds, err, errlen);
}

static json_t *encode_fds(const struct ps_model *m, size_t thread)
{
	(void)thread;
	return ps_encode_fds(&m->fds);
}

/* Every data file an fd names must be listed. */
static int decode_fds(const json_t *j, struct ps_model *m, size_t thread, char *err,
		      size_t errlen)
{
	int rc = ps_decode_fds(j, &m->fds, err, errlen);

	(void)thread;
	for (size_t i = 0; !rc && i < m->fds.count; i++)
		if (m->fds.items[i].data && !ps_image_file_find(&m->meta, m->fds.items[i].data))
			rc = ps_fail(err, errlen, -EINVAL, "image.json does not list %s",
				     m->fds.items[i].data);
	return rc;
}

static void free_fds(struct ps_model *m)
{
	ps_fds_free(&m->fds);
}

/* ---- what the model frees of each part ---- */

static void free_process(struct ps_model *m)
{
	ps_process_free(&m->proc);     /* the timers' state with it */
}

static void free_memory(struct ps_model *m)
{
	ps_maps_free(&m->maps);
}

static void free_registers(struct ps_model *m)
{
	for (size_t i = 0; i < m->nthreads; i++)
		ps_thread_free(&m->threads[i]);
	free(m->threads);
	m->threads = NULL;
	m->nthreads = 0;
}

static void free_attributes(struct ps_model *m)
{
	free(m->attrs.threads);
	memset(&m->attrs, 0, sizeof(m->attrs));
}

static void free_signals(struct ps_model *m)
{
	ps_signals_free(&m->signals);
}

static void free_seccomp(struct ps_model *m)
{
	ps_seccomp_free(&m->seccomp);
}

const struct ps_part ps_parts[] = {
	{
		.name = "process",
		.file = "process.json",
		.max_size = PS_MAX_PROCESS_JSON_SIZE,
		.max_memory = PS_MAX_PROCESS_JSON_MEMORY,
		.capture = ps_capture_process,
		.capture_remote = ps_capture_process_remote,
		.encode = ps_encode_process_part,
		.decode = ps_decode_process_part,
		.validate = ps_validate_process,
		.validate_as_caller = ps_validate_process_as_caller,
		.free = free_process,
	},
	{
		.name = "timers",
		.capture = ps_capture_timers,
		.capture_remote = ps_capture_timers_remote,
		.validate = ps_validate_timers,
	},
	{
		.name = "signals",
		.file = "signals.json",
		.max_size = PS_MAX_SIGNALS_JSON_SIZE,
		.max_memory = PS_MAX_SIGNALS_JSON_MEMORY,
		.capture_remote = ps_capture_signals_remote,
		.capture_late = ps_capture_signals,
		.encode = ps_encode_signals_part,
		.decode = ps_decode_signals_part,
		.validate = ps_validate_signals,
		.free = free_signals,
	},
	{
		.name = "fds",
		.file = "fds.json",
		.max_size = PS_MAX_FDS_JSON_SIZE,
		.max_memory = PS_MAX_FDS_JSON_MEMORY,
		.capture_late = capture_fds,
		.encode = encode_fds,
		.decode = decode_fds,
		.validate = ps_validate_fds,
		.validate_as_caller = ps_validate_fd_files,
		.free = free_fds,
	},
	{
		.name = "memory",
		.file = "memory/maps.json",
		.max_size = PS_MAX_MAPS_JSON_SIZE,
		.max_memory = PS_MAX_MAPS_JSON_MEMORY,
		.capture_remote = ps_capture_memory_remote,
		.capture_late = ps_capture_memory,
		.encode = ps_encode_memory_part,
		.decode = ps_decode_memory_part,
		.validate = ps_validate_memory,
		.validate_as_caller = ps_validate_memory_as_caller,
		.free = free_memory,
	},
	{
		.name = "registers",
		.file = "registers/<tid>.json",
		.per_thread = 1,
		.max_size = PS_MAX_REGISTERS_JSON_SIZE,
		.max_memory = PS_MAX_REGISTERS_JSON_MEMORY,
		.capture = ps_capture_registers,
		.capture_remote = ps_capture_registers_remote,
		.encode = ps_encode_registers_part,
		.decode = ps_decode_registers_part,
		.validate = ps_validate_registers,
		.free = free_registers,
	},
	{
		/* After registers: its entries name the threads. */
		.name = "attributes",
		.file = "attributes.json",
		.optional = 1,
		.max_size = PS_MAX_ATTRIBUTES_JSON_SIZE,
		.max_memory = PS_MAX_ATTRIBUTES_JSON_MEMORY,
		.capture = ps_capture_attributes,
		.capture_remote = ps_capture_attributes_remote,
		.encode = ps_encode_attributes_part,
		.decode = ps_decode_attributes_part,
		.validate = ps_validate_attributes,
		.free = free_attributes,
	},
	{
		.name = "seccomp",
		.file = "seccomp.json",
		.optional = 1,
		.max_size = PS_MAX_SECCOMP_JSON_SIZE,
		.max_memory = PS_MAX_SECCOMP_JSON_MEMORY,
		.capture = ps_capture_seccomp,
		.encode = ps_encode_seccomp_part,
		.decode = ps_decode_seccomp_part,
		.validate = ps_validate_seccomp,
		.free = free_seccomp,
	},
};

const size_t ps_nparts = sizeof(ps_parts) / sizeof(ps_parts[0]);

