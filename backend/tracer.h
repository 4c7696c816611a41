/* The tracer thread: ptrace requests must come from the thread that attached,
 * so every ptrace call procsnap makes runs here, fed by a queue. */
#ifndef PROCSNAP_TRACER_H
#define PROCSNAP_TRACER_H

#include <stddef.h>

typedef int (*ps_tracer_fn)(void *arg);

int ps_tracer_start(char *err, size_t errlen);
/* Runs every queued job, then ends the thread. */
void ps_tracer_stop(void);

/* Run fn(arg) on the tracer thread and return its result. Blocks the caller.
 * Returns -ESHUTDOWN if the tracer is not running. */
int ps_tracer_call(ps_tracer_fn fn, void *arg);

#endif
