/* tap.h: a small TAP harness for the C unit tests (one header, no library). */
#ifndef LE_TAP_H
#define LE_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                   \
	do {                                                                            \
		int ok_c_ = (cond);                                                     \
		tap_n++;                                                                \
		if (!ok_c_)                                                             \
			tap_failed++;                                                   \
		printf("%sok %d - ", ok_c_ ? "" : "not ", tap_n);                       \
		printf(__VA_ARGS__);                                                    \
		printf("\n");                                                           \
		if (!ok_c_)                                                             \
			printf("#   failed at %s:%d\n", __FILE__, __LINE__);            \
	} while (0)

#define is_int(got, want, ...)                                                          \
	do {                                                                            \
		long long is_g_ = (long long)(got), is_w_ = (long long)(want);          \
		ok(is_g_ == is_w_, __VA_ARGS__);                                        \
		if (is_g_ != is_w_)                                                     \
			printf("#   got %lld, want %lld\n", is_g_, is_w_);              \
	} while (0)

#define is_str(got, want, ...)                                                          \
	do {                                                                            \
		const char *is_g_ = (got), *is_w_ = (want);                             \
		int is_same_ = (is_g_ && is_w_) ? strcmp(is_g_, is_w_) == 0 : is_g_ == is_w_; \
		ok(is_same_, __VA_ARGS__);                                              \
		if (!is_same_)                                                          \
			printf("#   got \"%s\", want \"%s\"\n", is_g_ ? is_g_ : "(null)",  \
			       is_w_ ? is_w_ : "(null)");                               \
	} while (0)

/* Prints the plan and the closing line; the exit status says whether all passed. */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	printf("%d passed, %d failed\n", tap_n - tap_failed, tap_failed);
	return tap_failed ? 1 : 0;
}

#endif
