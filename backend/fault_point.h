/* Named points where a test can have procsnap killed (PROCSNAP_DIE_AT), to
 * show that no instant of a capture or restore harms the process. */
#ifndef PROCSNAP_FAULT_POINT_H
#define PROCSNAP_FAULT_POINT_H

/* SIGKILL procsnap if PROCSNAP_DIE_AT is "<point>" or "<point>:<n>" and this
 * is the n-th time (1 if no n) that this point is passed. */
void ps_fault_point(const char *point);

#endif
