/* ELF build-ids (NT_GNU_BUILD_ID) of mapped files, read with libelf, so a
 * restore can tell that a library is the same one the checkpoint mapped. */
#ifndef PROCSNAP_ELF_BUILDID_H
#define PROCSNAP_ELF_BUILDID_H

#include <stddef.h>

/* Write the build-id as lowercase hex into out (at least 2*20+1 bytes; ids
 * longer than outlen allows are an error). Returns 0, -ENOENT when the file
 * is ELF but has no build-id or is not ELF at all, or -errno on I/O errors. */
int ps_elf_build_id(int fd, char *out, size_t outlen);

#endif
