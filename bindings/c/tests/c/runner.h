/* A tiny test runner for the C API tests: TEST(name) { CHECK(...); } and RUN(name). */
#ifndef MESHPLANE_TEST_RUNNER_H
#define MESHPLANE_TEST_RUNNER_H

#include <stdio.h>
#include <string.h>

static int runner_passed, runner_failed, runner_current;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            runner_current++;                                                        \
        }                                                                            \
    } while (0)

/* Checks a meshplane_result and prints both codes' texts on mismatch. */
#define CHECK_RC(expr, want)                                                         \
    do {                                                                             \
        meshplane_result rc_ = (expr);                                               \
        if (rc_ != (meshplane_result)(want)) {                                       \
            meshplane_str got_ = meshplane_result_text(rc_);                         \
            fprintf(stderr, "  %s:%d: %s returned %u (%.*s), want %s\n", __FILE__,   \
                    __LINE__, #expr, (unsigned)rc_, (int)got_.len, got_.data, #want); \
            runner_current++;                                                        \
        }                                                                            \
    } while (0)

/* A meshplane_str equals a C literal. */
#define STR_EQ(s, lit) ((s).len == strlen(lit) && memcmp((s).data, (lit), (s).len) == 0)
/* A literal as (pointer, length). */
#define LIT(lit) (lit), (sizeof(lit) - 1)

/* Whether the meshplane_str `s` contains the C string `needle`. */
static int str_contains(const char *data, size_t len, const char *needle) {
    size_t n = strlen(needle), i;
    for (i = 0; i + n <= len; i++)
        if (memcmp(data + i, needle, n) == 0) return 1;
    return 0;
}
#define STR_CONTAINS(s, needle) str_contains((s).data, (s).len, (needle))

#define TEST(name) static void name(void)

#define RUN(name)                                                                    \
    do {                                                                             \
        runner_current = 0;                                                          \
        name();                                                                      \
        if (runner_current == 0) {                                                   \
            runner_passed++;                                                         \
            printf("ok   %s\n", #name);                                              \
        } else {                                                                     \
            runner_failed++;                                                         \
            printf("FAIL %s (%d checks)\n", #name, runner_current);                  \
        }                                                                            \
    } while (0)

#define RUNNER_EXIT()                                                                \
    (printf("%d passed, %d failed\n", runner_passed, runner_failed), runner_failed ? 1 : 0)

#endif
