/* Reading a saved image directory back into the model: image.json first,
 * then every file it lists, each checked for size and checksum. */
#ifndef PROCSNAP_IMAGE_READ_H
#define PROCSNAP_IMAGE_READ_H

#include "image/model.h"

/* Check that the image in dir is complete: image.json parses and every file
 * it lists exists with its full size. Returns 0, or -EAGAIN with what is
 * missing in err ("memory/7f..-7f.. is 4096 bytes short"), or -EINVAL when
 * image.json itself is malformed. Reads no memory file contents. */
int ps_image_check_complete(const char *dir, char *err, size_t errlen);

/* Decode every JSON file of the image in dir into m (memory contents stay in
 * their files), verifying metadata checksums. 0 or -errno with err filled. */
int ps_image_read(const char *dir, struct ps_model *m, char *err, size_t errlen);

/* image.json of the staged image directory image_fd, decoded into meta
 * while its user may still be copying it in: opened without following a
 * symlink or blocking on a FIFO, read only up to its limit. 0 or -errno;
 * meta is the caller's to free either way. */
int ps_image_read_staged_meta(int image_fd, struct ps_image_meta *meta);

#endif
