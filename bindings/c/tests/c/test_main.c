/* C tests of libmeshplane. Built by scripts/ci.d/60-c.sh with ASan+UBSan and again plain
 * for valgrind; prints "N passed, M failed" and exits non-zero on any failure. */
#include "meshplane.h"
#include "meshplane.h" /* the include guard makes a second include harmless */

#include <stdint.h>
#include <stdlib.h>

#include "runner.h"

#include "test_codec.c"

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
    return RUNNER_EXIT();
}
