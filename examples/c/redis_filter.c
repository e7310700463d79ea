/* A Redis filter in C over libmeshplane: reads a captured Redis request stream, feeds it to the
 * codec in small chunks (as a proxy gets them from the socket), and for each command reads its
 * metadata, applies the Envoy local rate limiter with a wildcard descriptor (one token bucket
 * per Redis key: 1 command per key per minute), then forwards the command or answers with a
 * Redis error reply written by the codec.
 *
 *   redis_filter REQUESTS.bin [CHUNK_SIZE]
 */
#include <meshplane.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char LIMITS[] =
    "{\"stat_prefix\": \"redis_example\","
    " \"descriptors\": [{\"entries\": [{\"key\": \"redis_key\"}],"
    "                   \"token_bucket\": {\"max_tokens\": 1, \"tokens_per_fill\": 1, \"fill_interval\": \"60s\"}}]}";

static int fail(const char *what, meshplane_result rc) {
    meshplane_str t = meshplane_result_text(rc);
    fprintf(stderr, "redis_filter: %s: %.*s\n", what, (int)t.len, t.data);
    return 1;
}

/* Handles the message just decoded (its bytes are msg[0..len)). */
static int on_request(meshplane_codec *codec, meshplane_rate_limiter *rl, const uint8_t *msg, size_t len,
                      size_t *forwarded, size_t *replied) {
    meshplane_message_info info;
    meshplane_str command = {NULL, 0}, key;
    meshplane_result rc;
    uint8_t reply[256];
    size_t written = 0;

    if ((rc = meshplane_codec_message_info(codec, &info)) != MESHPLANE_RESULT_OK) return fail("message_info", rc);
    meshplane_codec_header_get(codec, "command", 7, &command);
    printf("#%llu %.*s", (unsigned long long)info.request_id, (int)command.len, command.data);

    rc = meshplane_codec_header_get(codec, "key", 3, &key);
    if (rc == MESHPLANE_RESULT_OK) {
        meshplane_kv entry;
        meshplane_descriptor descriptor;
        meshplane_rate_limit_decision d;
        entry.key = "redis_key";
        entry.key_len = 9;
        entry.value = key.data;
        entry.value_len = key.len;
        descriptor.entries = &entry;
        descriptor.entries_len = 1;
        printf(" key=%.*s", (int)key.len, key.data);
        if ((rc = meshplane_rate_limiter_check(rl, &descriptor, 1, &d)) != MESHPLANE_RESULT_OK)
            return fail("rate_limiter_check", rc);
        if (!d.allowed) {
            rc = meshplane_codec_on_error(codec, MESHPLANE_LOCAL_ERROR_OVER_LIMIT, "key rate limited", 16,
                                          reply, sizeof reply, &written);
            if (rc != MESHPLANE_RESULT_OK) return fail("on_error", rc);
            printf(" -> limited, replied %.*s\n", (int)(written - 2), (const char *)reply);
            (*replied)++;
            return 0;
        }
    } else if (rc != MESHPLANE_RESULT_NOT_FOUND) {
        return fail("header_get", rc);
    }
    {
        meshplane_buffer *out = NULL;
        rc = meshplane_codec_encode_to_buffer(codec, msg, len, NULL, 0, &out);
        if (rc != MESHPLANE_RESULT_OK) return fail("encode", rc);
        printf(" -> forwarded %zu bytes\n", meshplane_buffer_len(out));
        meshplane_buffer_free(out);
        (*forwarded)++;
    }
    return 0;
}

int main(int argc, char **argv) {
    FILE *f;
    uint8_t *input, *pending;
    long size;
    size_t chunk, fed = 0, have = 0, forwarded = 0, replied = 0;
    meshplane_codec *codec = NULL;
    meshplane_rate_limiter *rl = NULL;
    meshplane_error *err = NULL;
    meshplane_clock *clock = NULL;
    meshplane_result rc;
    int status = 0;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s REQUESTS.bin [CHUNK_SIZE]\n", argv[0]);
        return 2;
    }
    chunk = argc == 3 ? (size_t)strtoul(argv[2], NULL, 10) : 5;
    if (chunk == 0) chunk = 1;
    f = fopen(argv[1], "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "redis_filter: cannot read %s\n", argv[1]);
        return 2;
    }
    input = (uint8_t *)malloc((size_t)size + 1);
    pending = (uint8_t *)malloc((size_t)size + 1);
    if (!input || !pending || fread(input, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "redis_filter: cannot read %s\n", argv[1]);
        return 2;
    }
    fclose(f);

    if ((rc = meshplane_codec_new("redis", 5, MESHPLANE_DIRECTION_REQUEST, NULL, &codec)) != MESHPLANE_RESULT_OK)
        return fail("codec_new", rc);
    if ((rc = meshplane_clock_new_manual(&clock)) != MESHPLANE_RESULT_OK) return fail("clock", rc);
    rc = meshplane_rate_limiter_new(LIMITS, sizeof LIMITS - 1, clock, &rl, &err);
    if (rc != MESHPLANE_RESULT_OK) {
        meshplane_str t = {NULL, 0};
        meshplane_error_text(err, &t);
        fprintf(stderr, "redis_filter: limits: %.*s\n", (int)t.len, t.data);
        meshplane_error_free(err);
        return 1;
    }
    printf("meshplane %.*s, %s in %zu-byte chunks\n", (int)meshplane_version().len, meshplane_version().data,
           strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1], chunk);

    /* The proxy loop: append a chunk, cut out every whole message. */
    while (fed < (size_t)size && status == 0) {
        size_t n = (size_t)size - fed < chunk ? (size_t)size - fed : chunk;
        memcpy(pending + have, input + fed, n);
        have += n;
        fed += n;
        while (have > 0 && status == 0) {
            size_t consumed = 0;
            rc = meshplane_codec_decode(codec, pending, have, &consumed, NULL);
            if (rc == MESHPLANE_RESULT_NEED_MORE_DATA) break;
            if (rc != MESHPLANE_RESULT_OK) {
                size_t off = 0;
                meshplane_str msg = {NULL, 0};
                meshplane_codec_error_offset(codec, &off);
                meshplane_codec_error_message(codec, &msg);
                printf("stream error at offset %zu: %.*s\n", fed - have + off, (int)msg.len, msg.data);
                status = 1;
                break;
            }
            status = on_request(codec, rl, pending, consumed, &forwarded, &replied);
            memmove(pending, pending + consumed, have - consumed);
            have -= consumed;
        }
        meshplane_clock_advance(clock, 1000000); /* 1 ms per chunk */
    }
    if (have > 0) printf("%zu bytes of an incomplete command left\n", have);
    printf("%zu forwarded, %zu answered locally\n", forwarded, replied);

    meshplane_rate_limiter_free(rl);
    meshplane_clock_free(clock);
    meshplane_codec_free(codec);
    free(input);
    free(pending);
    return status;
}
