/* Tests of the codec part of the C API: every function, its error paths and NULL/garbage
 * arguments. Included by test_main.c. */

/* Every protocol the library provides. */
static const char *const protos[] = {"redis", "dubbo", "thrift"};
#define N_PROTOCOLS (sizeof protos / sizeof protos[0])

static const char REDIS_GET[] = "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n";
#define REDIS_GET_LEN (sizeof(REDIS_GET) - 1)

/* Not a handle: 64 bytes of garbage (readable, so the tag check is safe). */
static unsigned long long garbage_block[8] = {0xabababababababab, 1, 2, 3, 4, 5, 6, 7};
#define GARBAGE(type) ((type *)(void *)garbage_block)

static meshplane_codec *new_codec(const char *proto, meshplane_direction dir) {
    meshplane_codec *c = NULL;
    meshplane_result rc = meshplane_codec_new(proto, strlen(proto), dir, NULL, &c);
    if (rc != MESHPLANE_RESULT_OK) {
        fprintf(stderr, "  cannot create %s codec: %u\n", proto, (unsigned)rc);
        return NULL;
    }
    return c;
}

TEST(version_and_result_text) {
    meshplane_str v = meshplane_version();
    CHECK(v.data != NULL && v.len >= 5);
    CHECK(memchr(v.data, '.', v.len) != NULL);
    CHECK(STR_EQ(meshplane_result_text(MESHPLANE_RESULT_OK), "ok"));
    CHECK(STR_EQ(meshplane_result_text(MESHPLANE_RESULT_BUFFER_TOO_SMALL), "the buffer is too small"));
    CHECK(STR_EQ(meshplane_result_text(MESHPLANE_RESULT_PANIC), "internal error (panic)"));
    CHECK(STR_EQ(meshplane_result_text(12345), "unknown result code"));
    CHECK(STR_EQ(meshplane_result_text(0xffffffffu), "unknown result code"));
    /* every known code has its own text */
    {
        static const unsigned codes[] = {0, 1, 100, 101, 102, 103, 104, 105, 106, 107, 108,
                                         200, 201, 202, 203, 204, 205, 206, 299, 300, 301, 400};
        size_t i, j;
        for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
            meshplane_str a = meshplane_result_text(codes[i]);
            CHECK(a.len > 0 && !STR_EQ(a, "unknown result code"));
            for (j = 0; j < i; j++) {
                meshplane_str b = meshplane_result_text(codes[j]);
                CHECK(!(a.len == b.len && memcmp(a.data, b.data, a.len) == 0));
            }
        }
    }
    CHECK(!meshplane_result_is_error(MESHPLANE_RESULT_OK));
    CHECK(!meshplane_result_is_error(MESHPLANE_RESULT_NEED_MORE_DATA));
    CHECK(meshplane_result_is_error(MESHPLANE_RESULT_NULL_PARAMETER));
    CHECK(meshplane_result_is_error(MESHPLANE_RESULT_CODEC_MALFORMED));
    CHECK(meshplane_result_is_error(777));
}

TEST(codec_new_errors) {
    meshplane_codec *c = NULL;
    meshplane_limits lim = meshplane_limits_default();
    CHECK(lim.max_frame_size == 64u * 1024 * 1024 && lim.max_depth == 64 && lim.max_elements == 1024u * 1024);
    CHECK_RC(meshplane_codec_new(LIT("redis"), MESHPLANE_DIRECTION_REQUEST, NULL, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_new(NULL, 5, MESHPLANE_DIRECTION_REQUEST, NULL, &c), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK(c == NULL);
    CHECK_RC(meshplane_codec_new(NULL, 0, MESHPLANE_DIRECTION_REQUEST, NULL, &c), MESHPLANE_RESULT_UNKNOWN_PROTOCOL);
    CHECK_RC(meshplane_codec_new(LIT("\xff\xfe"), MESHPLANE_DIRECTION_REQUEST, NULL, &c), MESHPLANE_RESULT_INVALID_UTF8);
    CHECK_RC(meshplane_codec_new(LIT("redis"), 2, NULL, &c), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_codec_new(LIT("redis"), 0xffffffffu, NULL, &c), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_codec_new(LIT("http"), MESHPLANE_DIRECTION_REQUEST, NULL, &c), MESHPLANE_RESULT_UNKNOWN_PROTOCOL);
    /* not NUL-terminated: the length decides */
    CHECK_RC(meshplane_codec_new("redisX", 6, MESHPLANE_DIRECTION_REQUEST, NULL, &c), MESHPLANE_RESULT_UNKNOWN_PROTOCOL);
    CHECK_RC(meshplane_codec_new("REDIS", 5, MESHPLANE_DIRECTION_REQUEST, NULL, &c), MESHPLANE_RESULT_UNKNOWN_PROTOCOL);
    lim.max_depth = 0;
    CHECK_RC(meshplane_codec_new(LIT("redis"), MESHPLANE_DIRECTION_REQUEST, &lim, &c), MESHPLANE_RESULT_INVALID_PARAMETER);
    lim = meshplane_limits_default();
    lim.max_frame_size = 0;
    CHECK_RC(meshplane_codec_new(LIT("redis"), MESHPLANE_DIRECTION_REQUEST, &lim, &c), MESHPLANE_RESULT_INVALID_PARAMETER);
    lim = meshplane_limits_default();
    lim.max_elements = 0;
    CHECK_RC(meshplane_codec_new(LIT("redis"), MESHPLANE_DIRECTION_REQUEST, &lim, &c), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK(c == NULL); /* never written on failure */
    /* freeing NULL and garbage is harmless */
    meshplane_codec_free(NULL);
    meshplane_codec_free(GARBAGE(meshplane_codec));
    meshplane_buffer_free(NULL);
    meshplane_buffer_free(GARBAGE(meshplane_buffer));
}

TEST(codec_every_protocol) {
    size_t i;
    for (i = 0; i < N_PROTOCOLS; i++) {
        meshplane_codec *c = NULL;
        meshplane_str name;
        meshplane_limits lim = meshplane_limits_default();
        lim.max_frame_size = 1024;
        CHECK_RC(meshplane_codec_new(protos[i], strlen(protos[i]), MESHPLANE_DIRECTION_RESPONSE, &lim, &c), MESHPLANE_RESULT_OK);
        if (!c) continue;
        CHECK_RC(meshplane_codec_protocol(c, &name), MESHPLANE_RESULT_OK);
        CHECK(name.len == strlen(protos[i]) && memcmp(name.data, protos[i], name.len) == 0);
        meshplane_codec_free(c);
    }
}

TEST(codec_null_and_garbage_handles) {
    /* every codec function refuses NULL and garbage handles without touching out-params */
    meshplane_codec *bad[2];
    size_t n = 77, m = 88;
    meshplane_str s = {0, 99}, s2 = {0, 99};
    meshplane_message_info info;
    meshplane_typed_value tv;
    meshplane_buffer *buf = NULL;
    uint8_t out[8];
    int i;
    bad[0] = NULL;
    bad[1] = GARBAGE(meshplane_codec);
    for (i = 0; i < 2; i++) {
        meshplane_result want = i == 0 ? MESHPLANE_RESULT_NULL_PARAMETER : MESHPLANE_RESULT_INVALID_HANDLE;
        CHECK_RC(meshplane_codec_protocol(bad[i], &s), want);
        CHECK_RC(meshplane_codec_decode(bad[i], (const uint8_t *)REDIS_GET, REDIS_GET_LEN, &n, &m), want);
        CHECK_RC(meshplane_codec_error_offset(bad[i], &n), want);
        CHECK_RC(meshplane_codec_error_message(bad[i], &s), want);
        CHECK_RC(meshplane_codec_message_info(bad[i], &info), want);
        CHECK_RC(meshplane_codec_header_count(bad[i], &n), want);
        CHECK_RC(meshplane_codec_header_at(bad[i], 0, &s, &s2), want);
        CHECK_RC(meshplane_codec_header_get(bad[i], LIT("key"), &s), want);
        CHECK_RC(meshplane_codec_typed_count(bad[i], &n), want);
        CHECK_RC(meshplane_codec_typed_at(bad[i], 0, &s, &tv), want);
        CHECK_RC(meshplane_codec_typed_get(bad[i], LIT("protocol"), &tv), want);
        CHECK_RC(meshplane_codec_encode(bad[i], (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, out, sizeof out, &n), want);
        CHECK_RC(meshplane_codec_encode_to_buffer(bad[i], (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, &buf), want);
        CHECK_RC(meshplane_codec_on_error(bad[i], MESHPLANE_LOCAL_ERROR_OVER_LIMIT, LIT("x"), out, sizeof out, &n), want);
        CHECK_RC(meshplane_codec_on_error_to_buffer(bad[i], MESHPLANE_LOCAL_ERROR_OVER_LIMIT, LIT("x"), &buf), want);
        CHECK_RC(meshplane_codec_heartbeat_reply(bad[i], out, sizeof out, &n), want);
        CHECK_RC(meshplane_codec_heartbeat_reply_to_buffer(bad[i], &buf), want);
        CHECK(meshplane_buffer_data((const meshplane_buffer *)bad[i]) == NULL);
        CHECK(meshplane_buffer_len((const meshplane_buffer *)bad[i]) == 0);
    }
    CHECK(n == 77 && m == 88 && s.len == 99 && s2.len == 99 && buf == NULL);
}

TEST(codec_wrong_handle_type) {
    /* a buffer is not a codec, and a codec is not a buffer */
    meshplane_codec *c = new_codec("redis", MESHPLANE_DIRECTION_REQUEST);
    meshplane_buffer *buf = NULL;
    size_t n = 0;
    meshplane_str s;
    if (!c) { CHECK(0); return; }
    CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, &n, NULL), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_codec_encode_to_buffer(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, &buf), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_codec_protocol((const meshplane_codec *)(void *)buf, &s), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK(meshplane_buffer_data((const meshplane_buffer *)(void *)c) == NULL);
    CHECK(meshplane_buffer_len((const meshplane_buffer *)(void *)c) == 0);
    meshplane_buffer_free((meshplane_buffer *)(void *)c); /* ignored: not a buffer */
    meshplane_codec_free((meshplane_codec *)(void *)buf); /* ignored: not a codec */
    CHECK_RC(meshplane_codec_protocol(c, &s), MESHPLANE_RESULT_OK); /* still alive */
    CHECK(meshplane_buffer_len(buf) == REDIS_GET_LEN);
    meshplane_buffer_free(buf);
    meshplane_codec_free(c);
}

TEST(codec_decode_redis_request) {
    meshplane_codec *c = new_codec("redis", MESHPLANE_DIRECTION_REQUEST);
    size_t consumed = 0, needed = 99, count = 0, i;
    meshplane_message_info info;
    meshplane_str k, v;
    if (!c) { CHECK(0); return; }
    /* every proper prefix needs more data and writes no consumed count */
    for (i = 0; i < REDIS_GET_LEN; i++) {
        consumed = 12345;
        CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, i, &consumed, &needed), MESHPLANE_RESULT_NEED_MORE_DATA);
        CHECK(consumed == 12345);
        CHECK(needed == 0 || needed > i);
        CHECK_RC(meshplane_codec_message_info(c, &info), MESHPLANE_RESULT_NO_MESSAGE);
    }
    /* needed_out is optional */
    CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, 3, &consumed, NULL), MESHPLANE_RESULT_NEED_MORE_DATA);
    CHECK_RC(meshplane_codec_decode(c, NULL, 0, &consumed, NULL), MESHPLANE_RESULT_NEED_MORE_DATA);
    CHECK_RC(meshplane_codec_decode(c, NULL, 3, &consumed, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    /* a length no buffer can have */
    CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, (size_t)-1, &consumed, NULL), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, NULL), MESHPLANE_RESULT_NULL_PARAMETER);

    CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, &consumed, &needed), MESHPLANE_RESULT_OK);
    CHECK(consumed == REDIS_GET_LEN);
    CHECK_RC(meshplane_codec_message_info(c, &info), MESHPLANE_RESULT_OK);
    CHECK(info.message_type == MESHPLANE_MESSAGE_TYPE_REQUEST);
    CHECK(info.message_size == REDIS_GET_LEN);
    CHECK(info.status == MESHPLANE_RESPONSE_STATUS_NONE);
    CHECK_RC(meshplane_codec_message_info(c, NULL), MESHPLANE_RESULT_NULL_PARAMETER);

    CHECK_RC(meshplane_codec_header_get(c, LIT("command"), &v), MESHPLANE_RESULT_OK);
    CHECK(STR_EQ(v, "get"));
    CHECK_RC(meshplane_codec_header_get(c, LIT("KEY"), &v), MESHPLANE_RESULT_OK); /* case-insensitive */
    CHECK(STR_EQ(v, "foo"));
    CHECK_RC(meshplane_codec_header_get(c, "keyboard", 3, &v), MESHPLANE_RESULT_OK); /* length decides */
    CHECK(STR_EQ(v, "foo"));
    v.len = 4242;
    CHECK_RC(meshplane_codec_header_get(c, LIT("absent"), &v), MESHPLANE_RESULT_NOT_FOUND);
    CHECK(v.len == 4242);
    CHECK_RC(meshplane_codec_header_get(c, LIT("\xc3"), &v), MESHPLANE_RESULT_INVALID_UTF8);
    CHECK_RC(meshplane_codec_header_get(c, NULL, 1, &v), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_header_get(c, "key", (size_t)-1, &v), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_codec_header_get(c, NULL, 0, &v), MESHPLANE_RESULT_NOT_FOUND);
    CHECK_RC(meshplane_codec_header_get(c, LIT("key"), NULL), MESHPLANE_RESULT_NULL_PARAMETER);

    CHECK_RC(meshplane_codec_header_count(c, &count), MESHPLANE_RESULT_OK);
    CHECK(count >= 2);
    CHECK_RC(meshplane_codec_header_count(c, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    {
        int saw_command = 0, saw_key = 0;
        for (i = 0; i < count; i++) {
            CHECK_RC(meshplane_codec_header_at(c, i, &k, &v), MESHPLANE_RESULT_OK);
            if (STR_EQ(k, "command")) saw_command = STR_EQ(v, "get");
            if (STR_EQ(k, "key")) saw_key = STR_EQ(v, "foo");
        }
        CHECK(saw_command && saw_key);
    }
    CHECK_RC(meshplane_codec_header_at(c, count, &k, &v), MESHPLANE_RESULT_NOT_FOUND);
    CHECK_RC(meshplane_codec_header_at(c, (size_t)-1, &k, &v), MESHPLANE_RESULT_NOT_FOUND);
    CHECK_RC(meshplane_codec_header_at(c, 0, NULL, &v), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_header_at(c, 0, &k, NULL), MESHPLANE_RESULT_NULL_PARAMETER);

    /* typed values: iterate and get each by key */
    CHECK_RC(meshplane_codec_typed_count(c, &count), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_codec_typed_count(c, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    for (i = 0; i < count; i++) {
        meshplane_typed_value tv, tv2;
        CHECK_RC(meshplane_codec_typed_at(c, i, &k, &tv), MESHPLANE_RESULT_OK);
        CHECK(tv.kind <= MESHPLANE_TYPED_BOOL);
        CHECK_RC(meshplane_codec_typed_get(c, k.data, k.len, &tv2), MESHPLANE_RESULT_OK);
        CHECK(tv2.kind == tv.kind && tv2.int_value == tv.int_value && tv2.uint_value == tv.uint_value &&
              tv2.bool_value == tv.bool_value && tv2.text.len == tv.text.len);
    }
    {
        meshplane_typed_value tv;
        CHECK_RC(meshplane_codec_typed_at(c, count, &k, &tv), MESHPLANE_RESULT_NOT_FOUND);
        CHECK_RC(meshplane_codec_typed_at(c, 0, NULL, &tv), MESHPLANE_RESULT_NULL_PARAMETER);
        CHECK_RC(meshplane_codec_typed_at(c, 0, &k, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
        CHECK_RC(meshplane_codec_typed_get(c, LIT("no such typed key"), &tv), MESHPLANE_RESULT_NOT_FOUND);
        CHECK_RC(meshplane_codec_typed_get(c, LIT("\xff"), &tv), MESHPLANE_RESULT_INVALID_UTF8);
        CHECK_RC(meshplane_codec_typed_get(c, LIT("protocol"), NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    }
    /* after a NEED_MORE_DATA the previous message is gone */
    CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, 1, &consumed, NULL), MESHPLANE_RESULT_NEED_MORE_DATA);
    CHECK_RC(meshplane_codec_header_count(c, &count), MESHPLANE_RESULT_NO_MESSAGE);
    CHECK_RC(meshplane_codec_header_at(c, 0, &k, &v), MESHPLANE_RESULT_NO_MESSAGE);
    CHECK_RC(meshplane_codec_header_get(c, LIT("key"), &v), MESHPLANE_RESULT_NO_MESSAGE);
    CHECK_RC(meshplane_codec_typed_count(c, &count), MESHPLANE_RESULT_NO_MESSAGE);
    meshplane_codec_free(c);
}

TEST(codec_decode_errors) {
    meshplane_codec *c = new_codec("redis", MESHPLANE_DIRECTION_REQUEST);
    static const char bad[] = "*2\r\n$3\r\nGET\r\n!3\r\nfoo\r\n"; /* '!' where '$' belongs */
    size_t consumed = 5, off = 0;
    meshplane_str msg;
    meshplane_result rc;
    if (!c) { CHECK(0); return; }
    /* no error yet */
    CHECK_RC(meshplane_codec_error_offset(c, &off), MESHPLANE_RESULT_NOT_FOUND);
    CHECK_RC(meshplane_codec_error_message(c, &msg), MESHPLANE_RESULT_NOT_FOUND);
    rc = meshplane_codec_decode(c, (const uint8_t *)bad, sizeof bad - 1, &consumed, NULL);
    CHECK(rc == MESHPLANE_RESULT_CODEC_MALFORMED);
    CHECK(consumed == 5);
    CHECK_RC(meshplane_codec_error_offset(c, &off), MESHPLANE_RESULT_OK);
    CHECK(off == 13);
    CHECK_RC(meshplane_codec_error_offset(c, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_error_message(c, &msg), MESHPLANE_RESULT_OK);
    CHECK(msg.len > 0 && memchr(msg.data, '1', msg.len) != NULL); /* "offset 13: ..." */
    CHECK_RC(meshplane_codec_error_message(c, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    {
        meshplane_message_info info;
        CHECK_RC(meshplane_codec_message_info(c, &info), MESHPLANE_RESULT_NO_MESSAGE);
    }
    /* a successful decode clears the error */
    CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, &consumed, NULL), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_codec_error_offset(c, &off), MESHPLANE_RESULT_NOT_FOUND);
    CHECK_RC(meshplane_codec_error_message(c, &msg), MESHPLANE_RESULT_NOT_FOUND);
    meshplane_codec_free(c);

    /* limits: a frame larger than max_frame_size */
    {
        meshplane_limits lim = meshplane_limits_default();
        static const char big[] = "*1\r\n$100\r\n";
        lim.max_frame_size = 16;
        c = NULL;
        CHECK_RC(meshplane_codec_new(LIT("redis"), MESHPLANE_DIRECTION_REQUEST, &lim, &c), MESHPLANE_RESULT_OK);
        if (c) {
            CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)big, sizeof big - 1, &consumed, NULL), MESHPLANE_RESULT_CODEC_FRAME_TOO_LARGE);
            CHECK_RC(meshplane_codec_error_offset(c, &off), MESHPLANE_RESULT_OK);
            meshplane_codec_free(c);
        }
    }
    /* limits: too many elements, too deep */
    {
        meshplane_limits lim = meshplane_limits_default();
        static const char many[] = "*5\r\n$1\r\na\r\n";
        static const char deep[] = "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n";
        lim.max_elements = 2;
        lim.max_depth = 2;
        c = NULL;
        CHECK_RC(meshplane_codec_new(LIT("redis"), MESHPLANE_DIRECTION_REQUEST, &lim, &c), MESHPLANE_RESULT_OK);
        if (c) {
            CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)many, sizeof many - 1, &consumed, NULL), MESHPLANE_RESULT_CODEC_TOO_MANY_ELEMENTS);
            CHECK_RC(meshplane_codec_error_offset(c, &off), MESHPLANE_RESULT_OK);
            CHECK(off == 0);
            meshplane_codec_free(c);
        }
        c = NULL;
        CHECK_RC(meshplane_codec_new(LIT("redis"), MESHPLANE_DIRECTION_RESPONSE, &lim, &c), MESHPLANE_RESULT_OK);
        if (c) {
            CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)deep, sizeof deep - 1, &consumed, NULL), MESHPLANE_RESULT_CODEC_DEPTH_EXCEEDED);
            CHECK_RC(meshplane_codec_error_offset(c, &off), MESHPLANE_RESULT_OK);
            CHECK(off > 0 && off < sizeof deep - 1);
            meshplane_codec_free(c);
        }
    }
    /* a valid message the codec does not handle: Dubbo with a non-hessian2 serialization (id 3) */
    {
        static const uint8_t java[] = {0xda, 0xbb, 0xc3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 'N'};
        c = new_codec("dubbo", MESHPLANE_DIRECTION_REQUEST);
        if (c) {
            CHECK_RC(meshplane_codec_decode(c, java, sizeof java, &consumed, NULL), MESHPLANE_RESULT_CODEC_UNSUPPORTED);
            CHECK_RC(meshplane_codec_error_message(c, &msg), MESHPLANE_RESULT_OK);
            CHECK(msg.len > 0);
            meshplane_codec_free(c);
        } else {
            CHECK(0);
        }
    }
    /* garbage bytes of every value never crash: each decode is OK, NEED_MORE_DATA or a codec error */
    {
        unsigned seed = 12345;
        size_t p;
        int round;
        for (p = 0; p < N_PROTOCOLS; p++) {
            meshplane_codec *g = new_codec(protos[p], MESHPLANE_DIRECTION_REQUEST);
            if (!g) { CHECK(0); continue; }
            for (round = 0; round < 200; round++) {
                uint8_t junk[64];
                size_t j, used = 0;
                for (j = 0; j < sizeof junk; j++) {
                    seed = seed * 1103515245u + 12345u;
                    junk[j] = (uint8_t)(seed >> 16);
                }
                rc = meshplane_codec_decode(g, junk, (size_t)round % sizeof junk, &used, NULL);
                CHECK(rc == MESHPLANE_RESULT_OK || rc == MESHPLANE_RESULT_NEED_MORE_DATA || (rc >= 200 && rc < 300));
                if (rc == MESHPLANE_RESULT_OK) CHECK(used <= (size_t)round % sizeof junk);
            }
            meshplane_codec_free(g);
        }
    }
}

TEST(codec_encode) {
    meshplane_codec *c = new_codec("redis", MESHPLANE_DIRECTION_REQUEST);
    uint8_t out[256];
    size_t consumed = 0, written = 0;
    meshplane_buffer *buf = NULL;
    meshplane_kv bad_kv[1];
    if (!c) { CHECK(0); return; }
    /* encode needs a decoded message */
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, out, sizeof out, &written), MESHPLANE_RESULT_NO_MESSAGE);
    CHECK_RC(meshplane_codec_encode_to_buffer(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, &buf), MESHPLANE_RESULT_NO_MESSAGE);
    CHECK(buf == NULL && written == 0);
    CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, &consumed, NULL), MESHPLANE_RESULT_OK);

    /* unchanged: the same bytes */
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, out, sizeof out, &written), MESHPLANE_RESULT_OK);
    CHECK(written == REDIS_GET_LEN && memcmp(out, REDIS_GET, written) == 0);
    /* size query, then too small, then exact */
    written = 0;
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, NULL, 0, &written), MESHPLANE_RESULT_BUFFER_TOO_SMALL);
    CHECK(written == REDIS_GET_LEN);
    memset(out, 0x55, sizeof out);
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, out, REDIS_GET_LEN - 1, &written), MESHPLANE_RESULT_BUFFER_TOO_SMALL);
    CHECK(written == REDIS_GET_LEN && out[0] == 0x55); /* nothing copied */
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, out, REDIS_GET_LEN, &written), MESHPLANE_RESULT_OK);
    CHECK(written == REDIS_GET_LEN && memcmp(out, REDIS_GET, written) == 0);
    /* NULL arguments */
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, out, sizeof out, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, NULL, 64, &written), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_encode(c, NULL, REDIS_GET_LEN, NULL, 0, out, sizeof out, &written), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 2, out, sizeof out, &written), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_encode_to_buffer(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    /* bad mutation entries */
    bad_kv[0].key = "k\xff"; bad_kv[0].key_len = 2; bad_kv[0].value = "v"; bad_kv[0].value_len = 1;
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, bad_kv, 1, out, sizeof out, &written), MESHPLANE_RESULT_INVALID_UTF8);
    bad_kv[0].key = "k"; bad_kv[0].key_len = 1; bad_kv[0].value = NULL; bad_kv[0].value_len = 3;
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, bad_kv, 1, out, sizeof out, &written), MESHPLANE_RESULT_NULL_PARAMETER);
    bad_kv[0].key = ""; bad_kv[0].key_len = 0; bad_kv[0].value = "v"; bad_kv[0].value_len = 1;
    CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, bad_kv, 1, out, sizeof out, &written), MESHPLANE_RESULT_INVALID_PARAMETER);

    /* a real mutation: redis prefixes every key, and says so on refusal */
    {
        static const char want[] = "*2\r\n$3\r\nGET\r\n$10\r\ntenant:foo\r\n";
        meshplane_kv kv[1];
        meshplane_str msg;
        size_t off = 0;
        kv[0].key = "key_prefix"; kv[0].key_len = 10; kv[0].value = "tenant:"; kv[0].value_len = 7;
        CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, kv, 1, NULL, 0, &written), MESHPLANE_RESULT_BUFFER_TOO_SMALL);
        CHECK(written == sizeof want - 1);
        CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, kv, 1, out, sizeof out, &written), MESHPLANE_RESULT_OK);
        CHECK(written == sizeof want - 1 && memcmp(out, want, written) == 0);
        kv[0].key = "colour"; kv[0].key_len = 6;
        CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, kv, 1, out, sizeof out, &written), MESHPLANE_RESULT_CODEC_MUTATION_REFUSED);
        CHECK_RC(meshplane_codec_error_message(c, &msg), MESHPLANE_RESULT_OK);
        CHECK(msg.len > 0);
        CHECK_RC(meshplane_codec_error_offset(c, &off), MESHPLANE_RESULT_NOT_FOUND); /* no offset */
        buf = NULL;
        CHECK_RC(meshplane_codec_encode_to_buffer(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, kv, 1, &buf), MESHPLANE_RESULT_CODEC_MUTATION_REFUSED);
        CHECK(buf == NULL);
        /* the next successful call clears the error */
        CHECK_RC(meshplane_codec_encode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, out, sizeof out, &written), MESHPLANE_RESULT_OK);
        CHECK_RC(meshplane_codec_error_message(c, &msg), MESHPLANE_RESULT_NOT_FOUND);
    }

    /* library-owned buffer */
    CHECK_RC(meshplane_codec_encode_to_buffer(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, NULL, 0, &buf), MESHPLANE_RESULT_OK);
    CHECK(buf != NULL && meshplane_buffer_len(buf) == REDIS_GET_LEN && memcmp(meshplane_buffer_data(buf), REDIS_GET, REDIS_GET_LEN) == 0);
    meshplane_buffer_free(buf);
    meshplane_codec_free(c);
}

TEST(codec_on_error_and_heartbeat) {
    meshplane_codec *c = new_codec("redis", MESHPLANE_DIRECTION_REQUEST);
    uint8_t out[256];
    size_t consumed = 0, written = 0, need = 0;
    meshplane_buffer *buf = NULL;
    if (!c) { CHECK(0); return; }
    CHECK_RC(meshplane_codec_on_error(c, MESHPLANE_LOCAL_ERROR_OVER_LIMIT, LIT("limited"), out, sizeof out, &written), MESHPLANE_RESULT_NO_MESSAGE);
    CHECK_RC(meshplane_codec_heartbeat_reply(c, out, sizeof out, &written), MESHPLANE_RESULT_NO_MESSAGE);
    CHECK_RC(meshplane_codec_decode(c, (const uint8_t *)REDIS_GET, REDIS_GET_LEN, &consumed, NULL), MESHPLANE_RESULT_OK);

    CHECK_RC(meshplane_codec_on_error(c, MESHPLANE_LOCAL_ERROR_OVER_LIMIT, LIT("limited"), out, sizeof out, &written), MESHPLANE_RESULT_OK);
    CHECK(written > 3 && out[0] == '-' && out[written - 2] == '\r' && out[written - 1] == '\n');
    CHECK_RC(meshplane_codec_on_error(c, MESHPLANE_LOCAL_ERROR_OVER_LIMIT, LIT("limited"), NULL, 0, &need), MESHPLANE_RESULT_BUFFER_TOO_SMALL);
    CHECK(need == written);
    CHECK_RC(meshplane_codec_on_error(c, MESHPLANE_LOCAL_ERROR_OVER_LIMIT, LIT("limited"), out, need - 1, &need), MESHPLANE_RESULT_BUFFER_TOO_SMALL);
    CHECK_RC(meshplane_codec_on_error(c, 7, LIT("x"), out, sizeof out, &written), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_codec_on_error(c, 0xdeadbeefu, LIT("x"), out, sizeof out, &written), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_codec_on_error(c, MESHPLANE_LOCAL_ERROR_TIMEOUT, LIT("\xe2\x82"), out, sizeof out, &written), MESHPLANE_RESULT_INVALID_UTF8);
    CHECK_RC(meshplane_codec_on_error(c, MESHPLANE_LOCAL_ERROR_TIMEOUT, NULL, 4, out, sizeof out, &written), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_on_error(c, MESHPLANE_LOCAL_ERROR_TIMEOUT, LIT("x"), out, sizeof out, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_on_error_to_buffer(c, MESHPLANE_LOCAL_ERROR_TIMEOUT, LIT("x"), NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_on_error_to_buffer(c, 99, LIT("x"), &buf), MESHPLANE_RESULT_INVALID_PARAMETER);
    {
        unsigned kind;
        for (kind = MESHPLANE_LOCAL_ERROR_ROUTE_NOT_FOUND; kind <= MESHPLANE_LOCAL_ERROR_UNSPECIFIED; kind++) {
            buf = NULL;
            CHECK_RC(meshplane_codec_on_error_to_buffer(c, kind, LIT("no route"), &buf), MESHPLANE_RESULT_OK);
            CHECK(buf != NULL && meshplane_buffer_len(buf) > 0 && meshplane_buffer_data(buf)[0] == '-');
            meshplane_buffer_free(buf);
        }
    }
    /* Redis has no heartbeat: NOT_FOUND, nothing written */
    written = 4242;
    CHECK_RC(meshplane_codec_heartbeat_reply(c, out, sizeof out, &written), MESHPLANE_RESULT_NOT_FOUND);
    CHECK(written == 4242);
    buf = NULL;
    CHECK_RC(meshplane_codec_heartbeat_reply_to_buffer(c, &buf), MESHPLANE_RESULT_NOT_FOUND);
    CHECK(buf == NULL);
    CHECK_RC(meshplane_codec_heartbeat_reply(c, out, sizeof out, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_codec_heartbeat_reply_to_buffer(c, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    meshplane_codec_free(c);
}

/* Reads a whole file (the captured fixtures); NULL on failure. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (uint8_t *)malloc((size_t)n);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

#define FIXTURES "../../../../mesh-codec/tests/fixtures/"

TEST(codec_dubbo_heartbeat) {
    /* a two-way heartbeat request (flags 0xe2), id 9, body hessian null */
    static const uint8_t hb[] = {0xda, 0xbb, 0xe2, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 'N'};
    static const uint8_t want[] = {0xda, 0xbb, 0x22, 20, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 'N'};
    meshplane_codec *c = new_codec("dubbo", MESHPLANE_DIRECTION_REQUEST);
    meshplane_message_info info;
    meshplane_buffer *buf = NULL;
    uint8_t out[64];
    size_t consumed = 0, written = 0;
    if (!c) { CHECK(0); return; }
    CHECK_RC(meshplane_codec_decode(c, hb, sizeof hb, &consumed, NULL), MESHPLANE_RESULT_OK);
    CHECK(consumed == sizeof hb);
    CHECK_RC(meshplane_codec_message_info(c, &info), MESHPLANE_RESULT_OK);
    CHECK(info.message_type == MESHPLANE_MESSAGE_TYPE_HEARTBEAT && info.has_request_id && info.request_id == 9);
    CHECK(info.header_size == 16 && info.body_size == 1 && info.message_size == sizeof hb);
    CHECK_RC(meshplane_codec_heartbeat_reply(c, NULL, 0, &written), MESHPLANE_RESULT_BUFFER_TOO_SMALL);
    CHECK(written == sizeof want);
    CHECK_RC(meshplane_codec_heartbeat_reply(c, out, sizeof want - 1, &written), MESHPLANE_RESULT_BUFFER_TOO_SMALL);
    CHECK_RC(meshplane_codec_heartbeat_reply(c, out, sizeof out, &written), MESHPLANE_RESULT_OK);
    CHECK(written == sizeof want && memcmp(out, want, written) == 0);
    CHECK_RC(meshplane_codec_heartbeat_reply_to_buffer(c, &buf), MESHPLANE_RESULT_OK);
    CHECK(buf && meshplane_buffer_len(buf) == sizeof want && memcmp(meshplane_buffer_data(buf), want, sizeof want) == 0);
    meshplane_buffer_free(buf);
    /* heartbeats carry no attachments: a mutation is refused */
    {
        meshplane_kv kv[1];
        kv[0].key = "x"; kv[0].key_len = 1; kv[0].value = "y"; kv[0].value_len = 1;
        CHECK_RC(meshplane_codec_encode(c, hb, sizeof hb, kv, 1, out, sizeof out, &written), MESHPLANE_RESULT_CODEC_MUTATION_REFUSED);
    }
    meshplane_codec_free(c);
}

TEST(codec_dubbo_fixture) {
    size_t req_len = 0, resp_len = 0, consumed = 0, written = 0;
    uint8_t *req = read_file(FIXTURES "dubbo/dubbo_js_sayhello.request.bin", &req_len);
    uint8_t *resp = read_file(FIXTURES "dubbo/dubbo_js_sayhello.response.bin", &resp_len);
    meshplane_codec *c = new_codec("dubbo", MESHPLANE_DIRECTION_REQUEST);
    meshplane_codec *r = new_codec("dubbo", MESHPLANE_DIRECTION_RESPONSE);
    meshplane_message_info info;
    meshplane_typed_value tv;
    meshplane_str v;
    meshplane_buffer *buf = NULL;
    CHECK(req != NULL && resp != NULL && c != NULL && r != NULL);
    if (req && resp && c && r) {
        /* the capture: a sayHello request (274 bytes) then a heartbeat (17 bytes) */
        size_t first;
        CHECK(req_len == 274 + 17 && resp_len == 38 + 17);
        CHECK_RC(meshplane_codec_decode(c, req, req_len, &consumed, NULL), MESHPLANE_RESULT_OK);
        CHECK(consumed == 274);
        first = consumed;
        CHECK_RC(meshplane_codec_message_info(c, &info), MESHPLANE_RESULT_OK);
        CHECK(info.message_type == MESHPLANE_MESSAGE_TYPE_REQUEST && info.has_request_id && info.request_id == 1);
        CHECK(info.header_size == 16 && info.header_size + info.body_size == first);
        CHECK_RC(meshplane_codec_header_get(c, LIT("application"), &v), MESHPLANE_RESULT_OK);
        CHECK(STR_EQ(v, "dubbo-js"));
        CHECK_RC(meshplane_codec_header_get(c, LIT("group"), &v), MESHPLANE_RESULT_OK);
        CHECK(STR_EQ(v, "g1"));
        req_len = first; /* the request alone, for what follows */
        CHECK_RC(meshplane_codec_header_get(c, LIT("method"), &v), MESHPLANE_RESULT_OK);
        CHECK(STR_EQ(v, "sayHello"));
        CHECK_RC(meshplane_codec_header_get(c, LIT("interface"), &v), MESHPLANE_RESULT_OK);
        /* a mutation adds an attachment that decodes back */
        {
            meshplane_kv kv[1];
            meshplane_codec *again = new_codec("dubbo", MESHPLANE_DIRECTION_REQUEST);
            kv[0].key = "x-tenant"; kv[0].key_len = 8; kv[0].value = "blue"; kv[0].value_len = 4;
            CHECK_RC(meshplane_codec_encode_to_buffer(c, req, req_len, kv, 1, &buf), MESHPLANE_RESULT_OK);
            CHECK(buf && meshplane_buffer_len(buf) > req_len);
            if (buf && again) {
                CHECK_RC(meshplane_codec_decode(again, meshplane_buffer_data(buf), meshplane_buffer_len(buf), &consumed, NULL), MESHPLANE_RESULT_OK);
                CHECK(consumed == meshplane_buffer_len(buf));
                CHECK_RC(meshplane_codec_header_get(again, LIT("x-tenant"), &v), MESHPLANE_RESULT_OK);
                CHECK(STR_EQ(v, "blue"));
                CHECK_RC(meshplane_codec_header_get(again, LIT("method"), &v), MESHPLANE_RESULT_OK);
                CHECK(STR_EQ(v, "sayHello"));
            }
            meshplane_buffer_free(buf);
            meshplane_codec_free(again);
        }
        /* on_error: a Dubbo response with status 100 (over limit) for the same request id */
        {
            uint8_t out[256];
            CHECK_RC(meshplane_codec_on_error(c, MESHPLANE_LOCAL_ERROR_OVER_LIMIT, LIT("slow down"), out, sizeof out, &written), MESHPLANE_RESULT_OK);
            CHECK(written > 16 && out[0] == 0xda && out[1] == 0xbb && out[3] == 100);
            CHECK(memcmp(out + 4, req + 4, 8) == 0); /* request id */
            CHECK_RC(meshplane_codec_decode(r, out, written, &consumed, NULL), MESHPLANE_RESULT_OK);
            CHECK_RC(meshplane_codec_message_info(r, &info), MESHPLANE_RESULT_OK);
            CHECK(info.status == MESHPLANE_RESPONSE_STATUS_ERROR);
        }
        /* the captured response */
        CHECK_RC(meshplane_codec_decode(r, resp, resp_len, &consumed, NULL), MESHPLANE_RESULT_OK);
        CHECK(consumed == 38);
        resp_len = consumed;
        CHECK_RC(meshplane_codec_message_info(r, &info), MESHPLANE_RESULT_OK);
        CHECK(info.message_type == MESHPLANE_MESSAGE_TYPE_RESPONSE && info.status == MESHPLANE_RESPONSE_STATUS_OK);
        CHECK(info.has_request_id && info.request_id == 1);
        CHECK_RC(meshplane_codec_typed_get(r, LIT("status_code"), &tv), MESHPLANE_RESULT_OK);
        CHECK((tv.kind == MESHPLANE_TYPED_TEXT && STR_EQ(tv.text, "20")) ||
              (tv.kind == MESHPLANE_TYPED_UINT && tv.uint_value == 20) || (tv.kind == MESHPLANE_TYPED_INT && tv.int_value == 20));
        /* a truncated body, then a corrupted magic */
        CHECK_RC(meshplane_codec_decode(r, resp, resp_len - 1, &consumed, &written), MESHPLANE_RESULT_NEED_MORE_DATA);
        CHECK(written == resp_len);
        /* the heartbeat after the request, then a corrupted magic */
        CHECK_RC(meshplane_codec_decode(c, req + first, 17, &consumed, NULL), MESHPLANE_RESULT_OK);
        CHECK_RC(meshplane_codec_message_info(c, &info), MESHPLANE_RESULT_OK);
        CHECK(info.message_type == MESHPLANE_MESSAGE_TYPE_HEARTBEAT);
        req[0] = 0x00;
        CHECK_RC(meshplane_codec_decode(c, req, req_len, &consumed, NULL), MESHPLANE_RESULT_CODEC_MALFORMED);
        CHECK_RC(meshplane_codec_error_offset(c, &written), MESHPLANE_RESULT_OK);
        CHECK(written == 0);
    }
    free(req);
    free(resp);
    meshplane_codec_free(c);
    meshplane_codec_free(r);
}

TEST(codec_thrift) {
    /* framed binary call add(1, 2), seqid 0, as the Apache Python client sends it */
    static const uint8_t wire[] = {0, 0, 0, 0x1e, 0x80, 1, 0, 1, 0, 0, 0, 3, 'a', 'd', 'd', 0, 0, 0, 0,
                                   8, 0, 1, 0, 0, 0, 1, 8, 0, 2, 0, 0, 0, 2, 0};
    meshplane_codec *c = new_codec("thrift", MESHPLANE_DIRECTION_REQUEST);
    meshplane_codec *r = new_codec("thrift", MESHPLANE_DIRECTION_RESPONSE);
    meshplane_message_info info;
    meshplane_typed_value tv;
    meshplane_str v;
    meshplane_kv kv[1];
    uint8_t out[256];
    size_t consumed = 0, written = 0, i;
    if (!c || !r) { CHECK(0); meshplane_codec_free(c); meshplane_codec_free(r); return; }
    for (i = 0; i < sizeof wire; i++)
        CHECK_RC(meshplane_codec_decode(c, wire, i, &consumed, NULL), MESHPLANE_RESULT_NEED_MORE_DATA);
    CHECK_RC(meshplane_codec_decode(c, wire, sizeof wire, &consumed, NULL), MESHPLANE_RESULT_OK);
    CHECK(consumed == sizeof wire);
    CHECK_RC(meshplane_codec_message_info(c, &info), MESHPLANE_RESULT_OK);
    CHECK(info.message_type == MESHPLANE_MESSAGE_TYPE_REQUEST && info.has_request_id && info.request_id == 0);
    CHECK_RC(meshplane_codec_header_get(c, LIT("method"), &v), MESHPLANE_RESULT_OK);
    CHECK(STR_EQ(v, "add"));
    CHECK_RC(meshplane_codec_typed_get(c, LIT("transport"), &tv), MESHPLANE_RESULT_OK);
    CHECK(tv.kind == MESHPLANE_TYPED_TEXT && STR_EQ(tv.text, "framed"));
    CHECK_RC(meshplane_codec_typed_get(c, LIT("protocol"), &tv), MESHPLANE_RESULT_OK);
    CHECK(tv.kind == MESHPLANE_TYPED_TEXT && STR_EQ(tv.text, "binary"));
    /* only THeader carries a mutation: framed refuses it, with a message */
    kv[0].key = "k"; kv[0].key_len = 1; kv[0].value = "v"; kv[0].value_len = 1;
    CHECK_RC(meshplane_codec_encode(c, wire, sizeof wire, kv, 1, out, sizeof out, &written), MESHPLANE_RESULT_CODEC_MUTATION_REFUSED);
    CHECK_RC(meshplane_codec_error_message(c, &v), MESHPLANE_RESULT_OK);
    CHECK(v.len > 0);
    /* the local reply is a TApplicationException the response codec reads as an error */
    CHECK_RC(meshplane_codec_on_error(c, MESHPLANE_LOCAL_ERROR_OVER_LIMIT, LIT("slow down"), out, sizeof out, &written), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_codec_decode(r, out, written, &consumed, NULL), MESHPLANE_RESULT_OK);
    CHECK(consumed == written);
    CHECK_RC(meshplane_codec_message_info(r, &info), MESHPLANE_RESULT_OK);
    CHECK(info.message_type == MESHPLANE_MESSAGE_TYPE_RESPONSE && info.status == MESHPLANE_RESPONSE_STATUS_ERROR);
    CHECK(info.has_request_id && info.request_id == 0);
    /* a THeader capture accepts a mutation, which decodes back as an info header */
    {
        size_t len = 0;
        uint8_t *req = read_file(FIXTURES "thrift/header_binary.request.bin", &len);
        meshplane_buffer *buf = NULL;
        meshplane_codec *again = new_codec("thrift", MESHPLANE_DIRECTION_REQUEST);
        CHECK(req != NULL && again != NULL);
        if (req && again) {
            CHECK_RC(meshplane_codec_decode(c, req, len, &consumed, NULL), MESHPLANE_RESULT_OK);
            CHECK_RC(meshplane_codec_typed_get(c, LIT("transport"), &tv), MESHPLANE_RESULT_OK);
            CHECK(STR_EQ(tv.text, "header"));
            kv[0].key = "x-tenant"; kv[0].key_len = 8; kv[0].value = "blue"; kv[0].value_len = 4;
            CHECK_RC(meshplane_codec_encode_to_buffer(c, req, consumed, kv, 1, &buf), MESHPLANE_RESULT_OK);
            if (buf) {
                CHECK_RC(meshplane_codec_decode(again, meshplane_buffer_data(buf), meshplane_buffer_len(buf), &consumed, NULL), MESHPLANE_RESULT_OK);
                CHECK_RC(meshplane_codec_header_get(again, LIT("x-tenant"), &v), MESHPLANE_RESULT_OK);
                CHECK(STR_EQ(v, "blue"));
            }
            meshplane_buffer_free(buf);
        }
        free(req);
        meshplane_codec_free(again);
    }
    meshplane_codec_free(c);
    meshplane_codec_free(r);
}
