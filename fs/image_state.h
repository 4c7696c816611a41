/* The outcome of an image's restore, kept in the spool inside the image's
 * directory, so that a procsnap started again after one that was killed
 * knows what became of it. */
#ifndef PROCSNAP_IMAGE_STATE_H
#define PROCSNAP_IMAGE_STATE_H

#include <stdint.h>
#include <sys/types.h>

#include "image/image_limits.h"

/* The file in the image's directory; spool_status.c shows the status made of
 * it in its place. */
#define PS_STATE_NAME PS_STATUS_NAME
#define PS_RESULT_MAX 1024

enum ps_state_kind {
	PS_STATE_NONE,       /* never restored, or changed since */
	PS_STATE_RESTORING,  /* a restore began and procsnap saw it end no more */
	PS_STATE_RESTORED,
	PS_STATE_FAILED,
};

struct ps_image_state {
	enum ps_state_kind kind;
	char result[PS_RESULT_MAX];  /* RESTORED, FAILED: the status line, no newline */
	pid_t pid;                   /* RESTORED: the process */
	uint64_t start;              /* RESTORED: its start time, clock ticks since boot */
	uint64_t since_ns;           /* RESTORING: CLOCK_BOOTTIME when it began */
	char boot_id[40];            /* RESTORED, RESTORING: the boot the times are of */
};

/* The state kept in the image directory image_fd; none is PS_STATE_NONE.
 * 0 or -errno. */
int ps_state_load(int image_fd, struct ps_image_state *st);

/* Replace it all at once: written into the directory tmp_fd, then renamed
 * over image_fd's file, so that a kill -9 leaves the old state or the new,
 * never half of one. 0 or -errno. */
int ps_state_save(int image_fd, int tmp_fd, const struct ps_image_state *st);

/* Forget it (the image changed): 0 or -errno. */
int ps_state_remove(int image_fd);

void ps_state_set_restoring(struct ps_image_state *st);
/* pid restored: its start time is read now, to know it again later. */
void ps_state_set_restored(struct ps_image_state *st, pid_t pid, const char *result);
void ps_state_set_failed(struct ps_image_state *st, const char *result);

/* 1 if st is RESTORED and its very process (same boot, same start time)
 * still runs; a pid that was freed and taken again is not it. */
int ps_state_process_lives(const struct ps_image_state *st);

/* A RESTORING state that no procsnap is finishing (it was killed during
 * the restore): RESTORED if the image's process (image_pid) runs and started
 * after the restore began, otherwise FAILED with the reason. */
void ps_state_settle_interrupted(struct ps_image_state *st, pid_t image_pid);

#endif
