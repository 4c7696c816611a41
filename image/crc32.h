/* CRC-32 (IEEE 802.3 polynomial, the same value zlib's crc32() gives) of the
 * image's metadata files, so restore can tell a damaged copy. */
#ifndef PROCSNAP_CRC32_H
#define PROCSNAP_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Start with crc = 0; feed chunks in order. */
uint32_t ps_crc32(uint32_t crc, const void *buf, size_t len);

#endif
