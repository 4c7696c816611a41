/* The address space of the process being restored: the trampoline that
 * carries our syscalls, every mapping of the image, the vDSO, the mm layout. */
#ifndef PROCSNAP_RESTORE_LAYOUT_H
#define PROCSNAP_RESTORE_LAYOUT_H

#include "restore/rctx.h"

/* Map the trampoline (a code page with `syscall`, then the scratch pages)
 * at an address free both in the stub and in the image, and run every
 * later syscall from it. */
int ps_layout_map_trampoline(struct ps_rctx *c);

/* Which mappings take over the n regions the nursery filled early (and the
 * stub inherited): sets c->adopted, returns how many, or -errno. */
struct ps_prefill_region;
int ps_layout_adopt(struct ps_rctx *c, const struct ps_prefill_region *r, size_t n);

/* An address where procsnap may map len bytes of its own while the layout
 * is built: free in the stub now and in every mapping of the image. */
int ps_layout_pick_free(struct ps_rctx *c, uint64_t len, uint64_t *at);

/* Unmap everything the stub inherited from procsnap, vDSO included, but
 * the adopted regions. */
int ps_layout_clear(struct ps_rctx *c);

/* Create every mapping of the image with its flags, fill the saved pages,
 * then set its protection; put the vDSO back at the image's address. */
int ps_layout_build(struct ps_rctx *c);

/* PR_SET_MM_MAP: code/data/brk/stack/arg/env bounds, auxv and exe link. */
int ps_layout_set_mm(struct ps_rctx *c);

/* The last syscall of a restore: the trampoline unmaps itself. */
int ps_layout_unmap_trampoline(struct ps_rctx *c);

#endif
