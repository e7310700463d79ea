/* Tests of meshplane_smart_quota (rates changed in place). Included by test_main.c. */

static const char SQ_10[] =
    "{\"statPrefix\":\"p\",\"descriptors\":[{\"entries\":[{\"key\":\"generic_key\",\"value\":\"Service[a.default]-Id[1]\"}],"
    "\"tokenBucket\":{\"maxTokens\":10,\"tokensPerFill\":10,\"fillInterval\":\"60s\"}}]}";
static const char SQ_30[] =
    "{\"statPrefix\":\"p\",\"descriptors\":[{\"entries\":[{\"key\":\"generic_key\",\"value\":\"Service[a.default]-Id[2]\"}],"
    "\"tokenBucket\":{\"maxTokens\":30,\"tokensPerFill\":30,\"fillInterval\":\"60s\"}}]}";
static const char SQ_TWO[] =
    "{\"statPrefix\":\"p\",\"descriptors\":["
    "{\"entries\":[{\"key\":\"k\",\"value\":\"1\"}],\"tokenBucket\":{\"maxTokens\":1,\"fillInterval\":\"1s\"}},"
    "{\"entries\":[{\"key\":\"k\",\"value\":\"2\"}],\"tokenBucket\":{\"maxTokens\":1,\"fillInterval\":\"1s\"}}]}";

/* Requests admitted from descriptor 0 when one is offered every 100 ms for 60 s. */
static int sq_admitted_per_minute(meshplane_smart_quota *q, meshplane_clock *clock) {
    int i, n = 0;
    bool ok;
    for (i = 0; i < 600; i++) {
        meshplane_clock_advance(clock, 100000000ull);
        if (meshplane_smart_quota_acquire(q, MESHPLANE_BUCKET_DESCRIPTOR, 0, 1, &ok) == MESHPLANE_RESULT_OK && ok) n++;
    }
    return n;
}

static int sq_drain(meshplane_smart_quota *q) {
    int n = 0;
    bool ok = true;
    while (meshplane_smart_quota_acquire(q, MESHPLANE_BUCKET_DESCRIPTOR, 0, 1, &ok) == MESHPLANE_RESULT_OK && ok) n++;
    return n;
}

TEST(smart_quota_rates_change_in_place) {
    meshplane_clock *clock = NULL;
    meshplane_smart_quota *q = NULL;
    meshplane_error *err = NULL;
    size_t changed = 99;
    double tokens = -1;
    bool ok = true;
    CHECK_RC(meshplane_clock_new_manual(&clock), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_smart_quota_new(LIT(SQ_10), clock, &q, &err), MESHPLANE_RESULT_OK);
    if (!q) { CHECK(0); meshplane_clock_free(clock); return; }
    CHECK(err == NULL);
    CHECK(sq_drain(q) == 10);
    CHECK(sq_admitted_per_minute(q, clock) == 10);
    CHECK_RC(meshplane_smart_quota_tokens(q, MESHPLANE_BUCKET_DESCRIPTOR, 0, &tokens), MESHPLANE_RESULT_OK);
    CHECK(tokens < 1.0);
    /* quota 10 -> 30 per minute: the tokens in hand stay, nothing is refilled for free */
    CHECK_RC(meshplane_smart_quota_update(q, LIT(SQ_30), &changed, &err), MESHPLANE_RESULT_OK);
    CHECK(changed == 1);
    CHECK(sq_drain(q) == 0);
    CHECK(sq_admitted_per_minute(q, clock) == 30);
    /* the same rate again: nothing changed */
    CHECK_RC(meshplane_smart_quota_update(q, LIT(SQ_30), &changed, NULL), MESHPLANE_RESULT_OK);
    CHECK(changed == 0);
    /* another shape is refused with the reason, and the out-param is left alone */
    changed = 77;
    CHECK_RC(meshplane_smart_quota_update(q, LIT(SQ_TWO), &changed, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK(changed == 77);
    CHECK(err != NULL);
    if (err) {
        meshplane_str t = {0, 0};
        CHECK_RC(meshplane_error_text(err, &t), MESHPLANE_RESULT_OK);
        CHECK(str_contains(t.data, t.len, "build a new SmartQuota"));
        meshplane_error_free(err);
        err = NULL;
    }
    /* no default bucket in this config; index past the end; unknown bucket kind */
    CHECK_RC(meshplane_smart_quota_acquire(q, MESHPLANE_BUCKET_DEFAULT, 0, 1, &ok), MESHPLANE_RESULT_NOT_FOUND);
    CHECK_RC(meshplane_smart_quota_tokens(q, MESHPLANE_BUCKET_DESCRIPTOR, 1, &tokens), MESHPLANE_RESULT_NOT_FOUND);
    CHECK_RC(meshplane_smart_quota_acquire(q, 9, 0, 1, &ok), MESHPLANE_RESULT_INVALID_PARAMETER);
    meshplane_smart_quota_free(q);
    meshplane_clock_free(clock);
}

TEST(smart_quota_errors_and_handles) {
    meshplane_smart_quota *q = NULL;
    meshplane_error *err = NULL;
    bool ok;
    double tokens;
    CHECK_RC(meshplane_smart_quota_new(LIT(SQ_10), NULL, NULL, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_smart_quota_new(NULL, 5, NULL, &q, &err), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_smart_quota_new(LIT("{\"statPrefix\":\"\xff\"}"), NULL, &q, &err), MESHPLANE_RESULT_INVALID_UTF8);
    CHECK_RC(meshplane_smart_quota_new(LIT(SQ_10), GARBAGE(meshplane_clock), &q, &err), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK_RC(meshplane_smart_quota_new(LIT("[1]"), NULL, &q, &err), MESHPLANE_RESULT_LIMITER_INVALID_CONFIG);
    CHECK(q == NULL); /* out-params are written only on success */
    CHECK(err != NULL);
    meshplane_error_free(err);
    CHECK_RC(meshplane_smart_quota_acquire(NULL, MESHPLANE_BUCKET_DESCRIPTOR, 0, 1, &ok), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_smart_quota_acquire(GARBAGE(meshplane_smart_quota), MESHPLANE_BUCKET_DESCRIPTOR, 0, 1, &ok), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK_RC(meshplane_smart_quota_tokens(GARBAGE(meshplane_smart_quota), MESHPLANE_BUCKET_DESCRIPTOR, 0, &tokens), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK_RC(meshplane_smart_quota_update(GARBAGE(meshplane_smart_quota), LIT(SQ_10), NULL, NULL), MESHPLANE_RESULT_INVALID_HANDLE);
    /* with the system clock (NULL): the 10 tokens pass */
    CHECK_RC(meshplane_smart_quota_new(LIT(SQ_10), NULL, &q, NULL), MESHPLANE_RESULT_OK);
    CHECK_RC(meshplane_smart_quota_acquire(q, MESHPLANE_BUCKET_DESCRIPTOR, 0, 1, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK(sq_drain(q) == 10);
    meshplane_smart_quota_free(q);
    meshplane_smart_quota_free(NULL);
    meshplane_smart_quota_free(GARBAGE(meshplane_smart_quota));
}
