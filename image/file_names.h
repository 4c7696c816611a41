/* The names of an image's files (docs/image-format.md §1), made the same
 * way by capture, which lists them, and by restore, which looks them up. */
#ifndef PROCSNAP_FILE_NAMES_H
#define PROCSNAP_FILE_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* "memory/<start>-<end>", lowercase hex without 0x, padded to 8 digits as in
 * /proc/<pid>/maps. buf should hold PS_MEMORY_NAME_MAX bytes. */
#define PS_MEMORY_NAME_MAX 48
void ps_memory_file_name(char *buf, size_t len, uint64_t start, uint64_t end);
/* The range a memory file's name gives, for a name spelled exactly as
 * ps_memory_file_name spells it: 0, or -EINVAL. */
int ps_memory_file_range(const char *name, uint64_t *start, uint64_t *end);
/*
 * One memory file holds the bytes of a run of adjacent mappings whose span
 * is below this (a program's thousands of small mappings are then tens of
 * files, not thousands: each file costs a copy tool several round trips
 * through FUSE); a mapping this long or longer has a file of its own.
 */
#define PS_MEMORY_GROUP_SPAN (4ULL << 20)
/* "fds/<n>" */
void ps_fd_data_name(char *buf, size_t len, int fd);
/* "registers/<tid>.json" */
void ps_registers_file_name(char *buf, size_t len, pid_t tid);

#endif
