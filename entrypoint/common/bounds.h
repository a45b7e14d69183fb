/* bounds: limits both programs agree on. */
#ifndef LE_BOUNDS_H
#define LE_BOUNDS_H

/* engines in one task: LOCUST_ECS_ENGINES, "auto", the state document */
#define LE_ENGINES_MAX 256

#endif
