/* clock: milliseconds, monotonic (for intervals) and wall-clock (for documents). */
#ifndef LE_CLOCK_H
#define LE_CLOCK_H

long long clock_mono_ms(void);
long long clock_wall_ms(void);

#endif
