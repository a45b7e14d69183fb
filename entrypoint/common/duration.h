/* duration: the one grammar of durations in the environment ("30", "30s", "500ms", "2m"). */
#ifndef LE_DURATION_H
#define LE_DURATION_H

/* ms in *out, at most 7 days: 0, or -1 for anything else. */
int duration_parse(const char *s, long *out);

#endif
