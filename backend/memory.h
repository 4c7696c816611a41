/* The address space of a stopped process: its mappings with the pages that
 * must be saved (from /proc/<pid>/pagemap), and reading those pages. */
#ifndef PROCSNAP_MEMORY_H
#define PROCSNAP_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/model.h"

/* Fill maps (one entry per /proc/<pid>/maps line, each with the runs of
 * pages that must be saved) from the stopped process. */
int ps_capture_maps(pid_t pid, struct ps_maps *maps, char *err, size_t errlen);

/* Read the content file of mapping m: saved pages from the process, holes
 * as zeros. memfd is /proc/<pid>/mem, used for pages process_vm_readv
 * cannot read (PROT_NONE). Returns bytes read or -errno. */
ssize_t ps_memory_read(pid_t pid, int memfd, const struct ps_mapping *m,
		       char *buf, size_t size, uint64_t off);

/* SEEK_DATA / SEEK_HOLE over the content file of m. */
off_t ps_memory_seek(const struct ps_mapping *m, off_t off, int whence);

#endif
