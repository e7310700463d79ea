/* Tests of the limiter part of the C API (clocks, the Envoy local rate limiter, the adaptive
 * concurrency limiters, meshplane_error). Included by test_main.c. */

static const char RL_JSON[] =
    "{\"statPrefix\":\"http_local_rate_limiter\","
    "\"tokenBucket\":{\"maxTokens\":100000,\"tokensPerFill\":100000,\"fillInterval\":\"1s\"},"
    "\"enableXRatelimitHeaders\":\"DRAFT_VERSION_03\","
    "\"descriptors\":[{\"entries\":[{\"key\":\"generic_key\",\"value\":\"Service[a.default]-Id[1]\"}],"
    "\"tokenBucket\":{\"maxTokens\":2,\"tokensPerFill\":2,\"fillInterval\":\"60s\"}}]}";

static meshplane_kv kv(const char *k, const char *v) {
    meshplane_kv e;
    e.key = k; e.key_len = strlen(k); e.value = v; e.value_len = strlen(v);
    return e;
}

TEST(clock_manual) {
    meshplane_clock *c = NULL;
    uint64_t now = 7;
    CHECK_RC(meshplane_clock_new_manual(NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_clock_new_manual(&c), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_clock_now(c, &now), MESHPLANE_RESULT_OK);
    CHECK(now == 0);
    CHECK_RC(meshplane_clock_advance(c, 1500), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_clock_now(c, &now), MESHPLANE_RESULT_OK);
    CHECK(now == 1500);
    CHECK_RC(meshplane_clock_advance(c, UINT64_MAX), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_clock_now(c, &now), MESHPLANE_RESULT_OK);
    CHECK(now == 1500); /* unchanged by the refused advance */
    CHECK_RC(meshplane_clock_now(c, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_clock_now(NULL, &now), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_clock_advance(NULL, 1), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_clock_now(GARBAGE(meshplane_clock), &now), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK_RC(meshplane_clock_advance(GARBAGE(meshplane_clock), 1), MESHPLANE_RESULT_INVALID_HANDLE);
    meshplane_clock_free(c);
    meshplane_clock_free(NULL);
    meshplane_clock_free(GARBAGE(meshplane_clock));
}

TEST(error_handle_null_and_garbage) {
    meshplane_problem p;
    meshplane_str s;
    CHECK(meshplane_error_count(NULL) == 0);
    CHECK(meshplane_error_count(GARBAGE(meshplane_error)) == 0);
    CHECK_RC(meshplane_error_at(NULL, 0, &p), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_error_at(GARBAGE(meshplane_error), 0, &p), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK_RC(meshplane_error_text(NULL, &s), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_error_text(GARBAGE(meshplane_error), &s), MESHPLANE_RESULT_INVALID_HANDLE);
    meshplane_error_free(NULL);
    meshplane_error_free(GARBAGE(meshplane_error));
}

TEST(rate_limiter_config_errors) {
    meshplane_rate_limiter *rl = NULL;
    meshplane_error *err = NULL;
    meshplane_problem p;
    meshplane_str text;
    static const char short_interval[] =
        "{\"stat_prefix\":\"p\",\"descriptors\":[{\"entries\":[{\"key\":\"k\",\"value\":\"v\"}],"
        "\"token_bucket\":{\"max_tokens\":1,\"fill_interval\":\"0.010s\"}}]}";
    CHECK_RC(meshplane_rate_limiter_new(LIT(RL_JSON), NULL, NULL, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_rate_limiter_new(NULL, 5, NULL, &rl, &err), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_rate_limiter_new(LIT("{\"statPrefix\":\"\xff\"}"), NULL, &rl, &err), MESHPLANE_RESULT_INVALID_UTF8);
    CHECK_RC(meshplane_rate_limiter_new(LIT(RL_JSON), GARBAGE(meshplane_clock), &rl, &err), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK(rl == NULL && err == NULL);
    /* not JSON: one problem, no path */
    CHECK_RC(meshplane_rate_limiter_new(LIT("{nope"), NULL, &rl, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK(rl == NULL && err != NULL);
    CHECK(meshplane_error_count(err) == 1);
    CHECK_RC(meshplane_error_text(err, &text), MESHPLANE_RESULT_OK);
    CHECK(text.len > 0);
    meshplane_error_free(err);
    err = NULL;
    /* unknown field */
    CHECK_RC(meshplane_rate_limiter_new(LIT("{\"statPrefix\":\"p\",\"bogus\":1}"), NULL, &rl, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    meshplane_error_free(err);
    err = NULL;
    /* a config Envoy rejects: the problem carries the field path */
    CHECK_RC(meshplane_rate_limiter_new(LIT(short_interval), NULL, &rl, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK(meshplane_error_count(err) == 1);
    CHECK_RC(meshplane_error_at(err, 0, &p), MESHPLANE_RESULT_OK);
    CHECK(STR_EQ(p.path, "descriptors[0].token_bucket.fill_interval"));
    CHECK(p.object.len == 0);
    CHECK(p.message.len > 0 && STR_CONTAINS(p.message, "50ms"));
    CHECK_RC(meshplane_error_at(err, 1, &p), MESHPLANE_RESULT_NOT_FOUND);
    CHECK_RC(meshplane_error_at(err, 0, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_error_text(err, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_error_text(err, &text), MESHPLANE_RESULT_OK);
    CHECK(text.len > 12 && memcmp(text.data, "descriptors[0]", 14) == 0);
    meshplane_error_free(err);
    /* error_out is optional */
    CHECK_RC(meshplane_rate_limiter_new(LIT(short_interval), NULL, &rl, NULL), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK(rl == NULL);
}

TEST(rate_limiter_check) {
    meshplane_clock *clock = NULL;
    meshplane_rate_limiter *rl = NULL;
    meshplane_rate_limit_decision d;
    meshplane_kv e[2];
    meshplane_descriptor desc[2];
    int i;
    CHECK_RC(meshplane_clock_new_manual(&clock), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_rate_limiter_new(LIT(RL_JSON), clock, &rl, NULL), MESHPLANE_RESULT_OK);
    meshplane_clock_free(clock); /* the limiter keeps the time source alive */
    clock = NULL;
    if (!rl) { CHECK(0); return; }
    e[0] = kv("generic_key", "Service[a.default]-Id[1]");
    desc[0].entries = e; desc[0].entries_len = 1;
    for (i = 0; i < 2; i++) {
        CHECK_RC(meshplane_rate_limiter_check(rl, desc, 1, &d), MESHPLANE_RESULT_OK);
        CHECK(d.allowed && d.bucket == MESHPLANE_BUCKET_DESCRIPTOR && d.descriptor_index == 0);
        CHECK(d.x_ratelimit_headers && d.limit == 2 && d.remaining == (uint32_t)(1 - i));
    }
    CHECK_RC(meshplane_rate_limiter_check(rl, desc, 1, &d), MESHPLANE_RESULT_OK);
    CHECK(!d.allowed && d.bucket == MESHPLANE_BUCKET_DESCRIPTOR && d.limit == 2 && d.remaining == 0);
    CHECK(d.reset_seconds > 0 && d.reset_seconds <= 60);
    /* another value: only the default bucket */
    e[1] = kv("generic_key", "other");
    desc[1].entries = &e[1]; desc[1].entries_len = 1;
    CHECK_RC(meshplane_rate_limiter_check(rl, &desc[1], 1, &d), MESHPLANE_RESULT_OK);
    CHECK(d.allowed && d.bucket == MESHPLANE_BUCKET_DEFAULT && d.limit == 100000);
    /* no descriptors at all */
    CHECK_RC(meshplane_rate_limiter_check(rl, NULL, 0, &d), MESHPLANE_RESULT_OK);
    CHECK(d.allowed && d.bucket == MESHPLANE_BUCKET_DEFAULT);
    /* both descriptors: the limited one denies */
    CHECK_RC(meshplane_rate_limiter_check(rl, desc, 2, &d), MESHPLANE_RESULT_OK);
    CHECK(!d.allowed && d.bucket == MESHPLANE_BUCKET_DESCRIPTOR && d.descriptor_index == 0);
    /* bad arguments; the decision is not written */
    d.limit = 4242;
    CHECK_RC(meshplane_rate_limiter_check(rl, NULL, 1, &d), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_rate_limiter_check(rl, desc, (size_t)-1 / 2, &d), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_rate_limiter_check(rl, desc, 1, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_rate_limiter_check(NULL, desc, 1, &d), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_rate_limiter_check(GARBAGE(meshplane_rate_limiter), desc, 1, &d), MESHPLANE_RESULT_INVALID_HANDLE);
    desc[1].entries = NULL; desc[1].entries_len = 1;
    CHECK_RC(meshplane_rate_limiter_check(rl, &desc[1], 1, &d), MESHPLANE_RESULT_NULL_PARAMETER);
    e[1] = kv("generic_key", "\xc0\xaf");
    desc[1].entries = &e[1];
    CHECK_RC(meshplane_rate_limiter_check(rl, &desc[1], 1, &d), MESHPLANE_RESULT_INVALID_UTF8);
    e[1].value = NULL; e[1].value_len = 2;
    CHECK_RC(meshplane_rate_limiter_check(rl, &desc[1], 1, &d), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK(d.limit == 4242);
    meshplane_rate_limiter_free(rl);
    meshplane_rate_limiter_free(NULL);
    meshplane_rate_limiter_free(GARBAGE(meshplane_rate_limiter));
}

TEST(rate_limiter_refills_with_the_manual_clock) {
    meshplane_clock *clock = NULL;
    meshplane_rate_limiter *rl = NULL;
    meshplane_rate_limit_decision d;
    meshplane_kv e = kv("generic_key", "Service[a.default]-Id[1]");
    meshplane_descriptor desc;
    desc.entries = &e; desc.entries_len = 1;
    CHECK_RC(meshplane_clock_new_manual(&clock), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_rate_limiter_new(LIT(RL_JSON), clock, &rl, NULL), MESHPLANE_RESULT_OK);
    if (!rl) { CHECK(0); meshplane_clock_free(clock); return; }
    CHECK_RC(meshplane_rate_limiter_check(rl, &desc, 1, &d), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_rate_limiter_check(rl, &desc, 1, &d), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_rate_limiter_check(rl, &desc, 1, &d), MESHPLANE_RESULT_OK);
    CHECK(!d.allowed);
    /* 2 tokens per 60 s, refilled continuously: one token after 30 s */
    CHECK_RC(meshplane_clock_advance(clock, 30ull * 1000000000ull), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_rate_limiter_check(rl, &desc, 1, &d), MESHPLANE_RESULT_OK);
    CHECK(d.allowed);
    CHECK_RC(meshplane_rate_limiter_check(rl, &desc, 1, &d), MESHPLANE_RESULT_OK);
    CHECK(!d.allowed);
    /* the wrong handle type */
    CHECK_RC(meshplane_rate_limiter_check((const meshplane_rate_limiter *)(void *)clock, &desc, 1, &d), MESHPLANE_RESULT_INVALID_HANDLE);
    meshplane_rate_limiter_free(rl);
    meshplane_clock_free(clock);
}

struct rl_thread_arg {
    meshplane_rate_limiter *rl;
    int allowed;
    int errors;
};

static void *rl_thread(void *p) {
    struct rl_thread_arg *a = (struct rl_thread_arg *)p;
    meshplane_kv e = kv("generic_key", "Service[a.default]-Id[1]");
    meshplane_descriptor desc;
    meshplane_rate_limit_decision d;
    int i;
    desc.entries = &e; desc.entries_len = 1;
    for (i = 0; i < 500; i++) {
        if (meshplane_rate_limiter_check(a->rl, &desc, 1, &d) != MESHPLANE_RESULT_OK) a->errors++;
        else if (d.allowed) a->allowed++;
    }
    return NULL;
}

TEST(rate_limiter_is_thread_safe) {
    /* 4 threads share one limiter; time stands still: exactly max_tokens requests pass */
    static const char json[] =
        "{\"statPrefix\":\"p\",\"descriptors\":[{\"entries\":[{\"key\":\"generic_key\",\"value\":\"Service[a.default]-Id[1]\"}],"
        "\"tokenBucket\":{\"maxTokens\":300,\"tokensPerFill\":300,\"fillInterval\":\"60s\"}}]}";
    meshplane_clock *clock = NULL;
    meshplane_rate_limiter *rl = NULL;
    pthread_t t[4];
    struct rl_thread_arg a[4];
    int i, allowed = 0, errors = 0;
    CHECK_RC(meshplane_clock_new_manual(&clock), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_rate_limiter_new(LIT(json), clock, &rl, NULL), MESHPLANE_RESULT_OK);
    if (!rl) { CHECK(0); meshplane_clock_free(clock); return; }
    for (i = 0; i < 4; i++) {
        a[i].rl = rl; a[i].allowed = 0; a[i].errors = 0;
        CHECK(pthread_create(&t[i], NULL, rl_thread, &a[i]) == 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        allowed += a[i].allowed;
        errors += a[i].errors;
    }
    CHECK(errors == 0);
    CHECK(allowed == 300);
    meshplane_rate_limiter_free(rl);
    meshplane_clock_free(clock);
}

static meshplane_concurrency_limiter *new_conc(const char *algo, const char *cfg, const meshplane_clock *clock) {
    meshplane_concurrency_limiter *l = NULL;
    meshplane_error *err = NULL;
    meshplane_result rc = meshplane_concurrency_limiter_new(algo, strlen(algo), cfg, strlen(cfg), clock, &l, &err);
    if (rc != MESHPLANE_RESULT_OK) {
        meshplane_str t = {0, 0};
        meshplane_error_text(err, &t);
        fprintf(stderr, "  concurrency limiter %s %s: %u %.*s\n", algo, cfg, (unsigned)rc, (int)t.len, t.data);
        meshplane_error_free(err);
    }
    return l;
}

TEST(concurrency_limiter_config_errors) {
    meshplane_concurrency_limiter *l = NULL;
    meshplane_error *err = NULL;
    meshplane_problem p;
    static const char *const algos[] = {"gradient", "gradient2", "vegas", "aimd"};
    size_t i;
    /* every algorithm with its defaults, as "" and as {} */
    for (i = 0; i < 4; i++) {
        l = new_conc(algos[i], "", NULL);
        CHECK(l != NULL);
        meshplane_concurrency_limiter_free(l);
        l = new_conc(algos[i], "{}", NULL);
        CHECK(l != NULL);
        meshplane_concurrency_limiter_free(l);
    }
    l = NULL;
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("fixed"), LIT("{\"limit\":1}"), NULL, NULL, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_new(NULL, 3, LIT("{}"), NULL, &l, &err), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("aimd"), NULL, 2, NULL, &l, &err), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("aimd\xff"), LIT("{}"), NULL, &l, &err), MESHPLANE_RESULT_INVALID_UTF8);
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("aimd"), LIT("{}"), GARBAGE(meshplane_clock), &l, &err), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK(l == NULL && err == NULL);
    /* unknown algorithm */
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("bbr9000"), LIT("{}"), NULL, &l, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK(l == NULL && meshplane_error_count(err) == 1);
    meshplane_error_free(err); err = NULL;
    /* fixed needs a limit */
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("fixed"), LIT("{}"), NULL, &l, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK_RC(meshplane_error_at(err, 0, &p), MESHPLANE_RESULT_OK);
    CHECK(STR_EQ(p.path, "limit") && STR_EQ(p.message, "required"));
    meshplane_error_free(err); err = NULL;
    /* every bad field is reported, with its name as the path */
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("aimd"), LIT("{\"initial_limit\":-1,\"timeout\":\"5\",\"colour\":\"red\",\"backoff_ratio\":\"x\"}"), NULL, &l, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK(meshplane_error_count(err) == 4);
    {
        int seen = 0;
        for (i = 0; i < meshplane_error_count(err); i++) {
            CHECK_RC(meshplane_error_at(err, i, &p), MESHPLANE_RESULT_OK);
            seen |= STR_EQ(p.path, "initial_limit") << 0 | STR_EQ(p.path, "timeout") << 1 |
                    STR_EQ(p.path, "colour") << 2 | STR_EQ(p.path, "backoff_ratio") << 3;
        }
        CHECK(seen == 15);
    }
    meshplane_error_free(err); err = NULL;
    /* Envoy's own validation: a percentile over 100 */
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("gradient"), LIT("{\"sample_aggregate_percentile\":150}"), NULL, &l, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK(meshplane_error_count(err) == 1);
    meshplane_error_free(err); err = NULL;
    /* not JSON, not an object */
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("vegas"), LIT("{"), NULL, &l, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    meshplane_error_free(err); err = NULL;
    CHECK_RC(meshplane_concurrency_limiter_new(LIT("vegas"), LIT("[1]"), NULL, &l, NULL), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK(l == NULL);
}

TEST(concurrency_limiter_acquire_release) {
    meshplane_concurrency_limiter *l = new_conc("fixed", "{\"limit\": 2}", NULL);
    bool admitted = false;
    uint64_t p1 = 0, p2 = 0, p3 = 777;
    uint32_t n = 0;
    if (!l) { CHECK(0); return; }
    CHECK_RC(meshplane_concurrency_limiter_acquire(l, &admitted, &p1), MESHPLANE_RESULT_OK);
    CHECK(admitted);
    CHECK_RC(meshplane_concurrency_limiter_acquire(l, &admitted, &p2), MESHPLANE_RESULT_OK);
    CHECK(admitted && p2 != p1);
    CHECK_RC(meshplane_concurrency_limiter_acquire(l, &admitted, &p3), MESHPLANE_RESULT_OK);
    CHECK(!admitted && p3 == 777); /* rejected: no permit written */
    CHECK_RC(meshplane_concurrency_limiter_in_flight(l, &n), MESHPLANE_RESULT_OK);
    CHECK(n == 2);
    CHECK_RC(meshplane_concurrency_limiter_limit(l, &n), MESHPLANE_RESULT_OK);
    CHECK(n == 2);
    CHECK_RC(meshplane_concurrency_limiter_release(l, p1, 3, 1000), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_release(l, p1, MESHPLANE_OUTCOME_SUCCESS, 1000), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_concurrency_limiter_release(l, p1, MESHPLANE_OUTCOME_SUCCESS, 1000), MESHPLANE_RESULT_LIMITER_UNKNOWN_PERMIT);
    CHECK_RC(meshplane_concurrency_limiter_release(l, 0, MESHPLANE_OUTCOME_SUCCESS, 1000), MESHPLANE_RESULT_LIMITER_UNKNOWN_PERMIT);
    CHECK_RC(meshplane_concurrency_limiter_release(l, p2, MESHPLANE_OUTCOME_IGNORED, 0), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_concurrency_limiter_in_flight(l, &n), MESHPLANE_RESULT_OK);
    CHECK(n == 0);
    /* one permit left outstanding: freed with the limiter (no leak) */
    CHECK_RC(meshplane_concurrency_limiter_acquire(l, &admitted, &p3), MESHPLANE_RESULT_OK);
    /* NULL and garbage */
    CHECK_RC(meshplane_concurrency_limiter_acquire(l, NULL, &p3), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_acquire(l, &admitted, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_acquire(NULL, &admitted, &p3), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_acquire(GARBAGE(meshplane_concurrency_limiter), &admitted, &p3), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK_RC(meshplane_concurrency_limiter_release(NULL, 1, 0, 0), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_release(GARBAGE(meshplane_concurrency_limiter), 1, 0, 0), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK_RC(meshplane_concurrency_limiter_limit(l, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_limit(NULL, &n), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_limit(GARBAGE(meshplane_concurrency_limiter), &n), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK_RC(meshplane_concurrency_limiter_in_flight(l, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_in_flight(NULL, &n), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_concurrency_limiter_in_flight(GARBAGE(meshplane_concurrency_limiter), &n), MESHPLANE_RESULT_INVALID_HANDLE);
    meshplane_concurrency_limiter_free(l);
    meshplane_concurrency_limiter_free(NULL);
    meshplane_concurrency_limiter_free(GARBAGE(meshplane_concurrency_limiter));
}

TEST(concurrency_limiter_aimd_backs_off) {
    /* AIMD: a drop multiplies the limit by backoff_ratio; successes at high use add one */
    meshplane_clock *clock = NULL;
    meshplane_concurrency_limiter *l;
    bool admitted;
    uint64_t p;
    uint32_t limit = 0;
    CHECK_RC(meshplane_clock_new_manual(&clock), MESHPLANE_RESULT_OK);
    l = new_conc("aimd", "{\"initial_limit\":10,\"min_limit\":1,\"max_limit\":100,\"backoff_ratio\":0.5,\"timeout\":\"1s\"}", clock);
    if (!l) { CHECK(0); meshplane_clock_free(clock); return; }
    CHECK_RC(meshplane_concurrency_limiter_limit(l, &limit), MESHPLANE_RESULT_OK);
    CHECK(limit == 10);
    CHECK_RC(meshplane_concurrency_limiter_acquire(l, &admitted, &p), MESHPLANE_RESULT_OK);
    CHECK(admitted);
    CHECK_RC(meshplane_clock_advance(clock, 5000000), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_concurrency_limiter_release(l, p, MESHPLANE_OUTCOME_DROPPED, 5000000), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_concurrency_limiter_limit(l, &limit), MESHPLANE_RESULT_OK);
    CHECK(limit == 5);
    /* an RTT above the timeout counts as a drop too */
    CHECK_RC(meshplane_concurrency_limiter_acquire(l, &admitted, &p), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_concurrency_limiter_release(l, p, MESHPLANE_OUTCOME_SUCCESS, 2000000000ull), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_concurrency_limiter_limit(l, &limit), MESHPLANE_RESULT_OK);
    CHECK(limit == 2);
    meshplane_concurrency_limiter_free(l);
    meshplane_clock_free(clock);
}

struct cl_thread_arg {
    meshplane_concurrency_limiter *l;
    int admitted;
    int errors;
};

static void *cl_thread(void *p) {
    struct cl_thread_arg *a = (struct cl_thread_arg *)p;
    int i;
    for (i = 0; i < 500; i++) {
        bool ok = false;
        uint64_t permit = 0;
        if (meshplane_concurrency_limiter_acquire(a->l, &ok, &permit) != MESHPLANE_RESULT_OK) { a->errors++; continue; }
        if (!ok) continue;
        a->admitted++;
        if (meshplane_concurrency_limiter_release(a->l, permit, MESHPLANE_OUTCOME_SUCCESS, 1000000) != MESHPLANE_RESULT_OK)
            a->errors++;
    }
    return NULL;
}

TEST(concurrency_limiter_is_thread_safe) {
    meshplane_concurrency_limiter *l = new_conc("fixed", "{\"limit\":3}", NULL);
    pthread_t t[4];
    struct cl_thread_arg a[4];
    uint32_t n = 99;
    int i, admitted = 0, errors = 0;
    if (!l) { CHECK(0); return; }
    for (i = 0; i < 4; i++) {
        a[i].l = l; a[i].admitted = 0; a[i].errors = 0;
        CHECK(pthread_create(&t[i], NULL, cl_thread, &a[i]) == 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        admitted += a[i].admitted;
        errors += a[i].errors;
    }
    CHECK(errors == 0 && admitted > 0);
    CHECK_RC(meshplane_concurrency_limiter_in_flight(l, &n), MESHPLANE_RESULT_OK);
    CHECK(n == 0);
    meshplane_concurrency_limiter_free(l);
}
