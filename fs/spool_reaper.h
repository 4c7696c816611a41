/* The spool's background thread, for images left quiet: it lets go of the
 * early fill of a copy abandoned halfway and removes a restored image's files. */
#ifndef PROCSNAP_SPOOL_REAPER_H
#define PROCSNAP_SPOOL_REAPER_H

/* Start it if it does not run yet: 0, or -1 if it cannot run (then there is
 * nobody to do its work, and its work is not to be handed out). */
int ps_spool_reaper_start(void);
void ps_spool_reaper_stop(void);

#endif
