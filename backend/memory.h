/* The address space of a stopped process: its mappings with the pages that
 * must be saved (from /proc/<pid>/pagemap), and reading those pages. */
#ifndef PROCSNAP_MEMORY_H
#define PROCSNAP_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"

/* A run of saved pages, counted in pages from the mapping's start. */
struct ps_extent {
	uint64_t first, count;
};

/* The saved pages of one mapping, sorted and merged. */
struct ps_map_pages {
	struct ps_extent *ext;
	size_t next;
};

/* Fill maps (one entry per /proc/<pid>/maps line) and pages (parallel to
 * maps->items, malloc'd) from the stopped process. */
int ps_capture_maps(pid_t pid, struct ps_maps *maps, struct ps_map_pages **pages,
		    char *err, size_t errlen);
void ps_map_pages_free(struct ps_map_pages *pages, size_t n);

/* Read the content file of mapping m: saved pages from the process, holes
 * as zeros. memfd is /proc/<pid>/mem, used for pages process_vm_readv
 * cannot read (PROT_NONE). Returns bytes read or -errno. */
ssize_t ps_memory_read(pid_t pid, int memfd, const struct ps_mapping *m,
		       const struct ps_map_pages *pg, char *buf, size_t size, uint64_t off);

/* SEEK_DATA / SEEK_HOLE over the content file of m. */
off_t ps_memory_seek(const struct ps_mapping *m, const struct ps_map_pages *pg,
		     off_t off, int whence);

#endif
