/* C tests of libmeshplane. Built by scripts/ci.d/60-c.sh with ASan+UBSan and again plain
 * for valgrind; prints "N passed, M failed" and exits non-zero on any failure. */
#include "meshplane.h"
#include "meshplane.h" /* the include guard makes a second include harmless */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "runner.h"

#include "test_codec.c"
#include "test_limiter.c"
#include "test_quota.c"
#include "test_translate.c"

int main(void) {
    RUN(version_and_result_text);
    RUN(codec_new_errors);
    RUN(codec_every_protocol);
    RUN(codec_null_and_garbage_handles);
    RUN(codec_wrong_handle_type);
    RUN(codec_decode_redis_request);
    RUN(codec_decode_errors);
    RUN(codec_encode);
    RUN(codec_on_error_and_heartbeat);
    RUN(codec_dubbo_heartbeat);
    RUN(codec_dubbo_fixture);
    RUN(codec_thrift);
    RUN(clock_manual);
    RUN(error_handle_null_and_garbage);
    RUN(rate_limiter_config_errors);
    RUN(rate_limiter_check);
    RUN(rate_limiter_refills_with_the_manual_clock);
    RUN(rate_limiter_is_thread_safe);
    RUN(smart_quota_rates_change_in_place);
    RUN(smart_quota_errors_and_handles);
    RUN(concurrency_limiter_config_errors);
    RUN(concurrency_limiter_acquire_release);
    RUN(concurrency_limiter_aimd_backs_off);
    RUN(concurrency_limiter_is_thread_safe);
    RUN(translate_renders_envoyfilters);
    RUN(translate_warnings);
    RUN(translate_with_metrics);
    RUN(translate_errors);
    return RUNNER_EXIT();
}
