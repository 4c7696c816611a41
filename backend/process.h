/* Capture of process.json's state that /proc shows without stopping anything:
 * ids, comm, exe, cmdline, environ, cwd, root, credentials, rlimits, mm layout. */
#ifndef PROCSNAP_PROCESS_H
#define PROCSNAP_PROCESS_H

#include "image/model.h"

/* Fill every field of p that /proc gives. Left for the remote-syscall
 * capture: creds.securebits, mm.brk, itimers, timers' remaining times. */
int ps_capture_process_proc(pid_t pid, struct ps_process *p, char *err, size_t errlen);

#endif
