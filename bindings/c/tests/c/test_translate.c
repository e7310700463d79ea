/* Tests of the translation part of the C API. Included by test_main.c. */

static const char CRDS[] =
    "apiVersion: microservice.slime.io/v1alpha2\n"
    "kind: SmartLimiter\n"
    "metadata: {name: reviews, namespace: default}\n"
    "spec:\n"
    "  sets:\n"
    "    _base:\n"
    "      descriptor:\n"
    "      - action: {quota: \"QUOTA\", fill_interval: {seconds: 60}, strategy: single}\n"
    "        condition: \"true\"\n"
    "        target: {port: 9080}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: reviews, namespace: default}\n"
    "spec: {selector: {app: reviews}}\n";

/* CRDS with QUOTA replaced by `quota`, in a static buffer. */
static const char *crds_with(const char *quota, size_t *len) {
    static char buf[1024];
    const char *at = strstr(CRDS, "QUOTA");
    size_t head = (size_t)(at - CRDS), q = strlen(quota);
    memcpy(buf, CRDS, head);
    memcpy(buf + head, quota, q);
    strcpy(buf + head + q, at + 5);
    *len = strlen(buf);
    return buf;
}

TEST(translate_renders_envoyfilters) {
    meshplane_translation *t = NULL;
    meshplane_error *err = NULL;
    meshplane_str yaml, w;
    size_t len;
    const char *in = crds_with("5", &len);
    CHECK_RC(meshplane_translate(in, len, NULL, 0, 0, &t, &err), MESHPLANE_RESULT_OK);
    CHECK(t != NULL && err == NULL);
    if (!t) return;
    CHECK_RC(meshplane_translation_yaml(t, &yaml), MESHPLANE_RESULT_OK);
    CHECK(STR_CONTAINS(yaml, "kind: EnvoyFilter"));
    CHECK(STR_CONTAINS(yaml, "name: reviews.default.ratelimit"));
    CHECK(STR_CONTAINS(yaml, "maxTokens: 5"));
    CHECK(meshplane_translation_warning_count(t) == 0);
    CHECK_RC(meshplane_translation_warning_at(t, 0, &w), MESHPLANE_RESULT_NOT_FOUND);
    CHECK_RC(meshplane_translation_yaml(t, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_translation_warning_at(t, 0, NULL), MESHPLANE_RESULT_NULL_PARAMETER);
    meshplane_translation_free(t);

    /* the status flag adds the SmartLimiter with its status */
    t = NULL;
    CHECK_RC(meshplane_translate(in, len, NULL, 0, MESHPLANE_TRANSLATE_INCLUDE_STATUS, &t, NULL), MESHPLANE_RESULT_OK);
    if (t) {
        CHECK_RC(meshplane_translation_yaml(t, &yaml), MESHPLANE_RESULT_OK);
        CHECK(STR_CONTAINS(yaml, "kind: SmartLimiter") && STR_CONTAINS(yaml, "status:"));
        meshplane_translation_free(t);
    }
}

TEST(translate_warnings) {
    /* Slime's calculator groups right: 10-2-3 is 11, and the translation says so */
    meshplane_translation *t = NULL;
    meshplane_str yaml, w;
    size_t len;
    const char *in = crds_with("10-2-3", &len);
    CHECK_RC(meshplane_translate(in, len, NULL, 0, 0, &t, NULL), MESHPLANE_RESULT_OK);
    if (!t) return;
    CHECK_RC(meshplane_translation_yaml(t, &yaml), MESHPLANE_RESULT_OK);
    CHECK(STR_CONTAINS(yaml, "maxTokens: 11"));
    CHECK(meshplane_translation_warning_count(t) == 1);
    CHECK_RC(meshplane_translation_warning_at(t, 0, &w), MESHPLANE_RESULT_OK);
    CHECK(STR_CONTAINS(w, "default/reviews: spec.sets._base.descriptor[0].action.quota"));
    CHECK(STR_CONTAINS(w, "10-2-3"));
    CHECK_RC(meshplane_translation_warning_at(t, 1, &w), MESHPLANE_RESULT_NOT_FOUND);
    meshplane_translation_free(t);
}

TEST(translate_with_metrics) {
    static const char metrics[] = "{\"_base.pod\": 4}";
    meshplane_translation *t = NULL;
    meshplane_error *err = NULL;
    meshplane_problem p;
    meshplane_str yaml;
    size_t len;
    const char *in = crds_with("100/{{._base.pod}}", &len);
    CHECK_RC(meshplane_translate(in, len, LIT(metrics), 0, &t, &err), MESHPLANE_RESULT_OK);
    if (t) {
        CHECK_RC(meshplane_translation_yaml(t, &yaml), MESHPLANE_RESULT_OK);
        CHECK(STR_CONTAINS(yaml, "maxTokens: 25"));
        meshplane_translation_free(t);
    }
    t = NULL;
    /* the metric is missing: an error at the quota's path */
    CHECK_RC(meshplane_translate(in, len, NULL, 0, 0, &t, &err), MESHPLANE_RESULT_TRANSLATION_FAILED);
    CHECK(t == NULL && meshplane_error_count(err) >= 1);
    CHECK_RC(meshplane_error_at(err, 0, &p), MESHPLANE_RESULT_OK);
    CHECK(STR_EQ(p.object, "default/reviews"));
    CHECK(STR_EQ(p.path, "spec.sets._base.descriptor[0].action.quota"));
    meshplane_error_free(err);
    err = NULL;
    /* bad metrics text */
    CHECK_RC(meshplane_translate(in, len, LIT("[1, 2"), 0, &t, &err), MESHPLANE_RESULT_TRANSLATION_FAILED);
    CHECK(meshplane_error_count(err) >= 1);
    CHECK_RC(meshplane_error_at(err, 0, &p), MESHPLANE_RESULT_OK);
    CHECK(STR_EQ(p.object, "metrics"));
    meshplane_error_free(err);
}

TEST(translate_errors) {
    meshplane_translation *t = NULL;
    meshplane_error *err = NULL;
    meshplane_problem p;
    meshplane_str s;
    size_t len;
    const char *in = crds_with("0", &len);
    /* every problem, with object and path */
    CHECK_RC(meshplane_translate(in, len, NULL, 0, 0, &t, &err), MESHPLANE_RESULT_TRANSLATION_FAILED);
    CHECK(t == NULL && meshplane_error_count(err) == 1);
    CHECK_RC(meshplane_error_at(err, 0, &p), MESHPLANE_RESULT_OK);
    CHECK(STR_EQ(p.object, "default/reviews"));
    CHECK(STR_EQ(p.path, "spec.sets._base.descriptor[0].action.quota"));
    CHECK(p.message.len > 0);
    CHECK_RC(meshplane_error_text(err, &s), MESHPLANE_RESULT_OK);
    CHECK(s.len > 44 && memcmp(s.data, "default/reviews: spec.sets._base.descriptor[0].action.quota: ", 61) == 0);
    meshplane_error_free(err);
    err = NULL;
    /* an unknown field is an error (a typo is usually behind it), unless allowed */
    {
        const char *typo = crds_with("5\", colour: \"red", &len); /* action: {quota: "5", colour: "red", ...} */
        CHECK_RC(meshplane_translate(typo, len, NULL, 0, 0, &t, &err), MESHPLANE_RESULT_TRANSLATION_FAILED);
        CHECK(meshplane_error_count(err) == 1);
        CHECK_RC(meshplane_error_at(err, 0, &p), MESHPLANE_RESULT_OK);
        CHECK(STR_CONTAINS(p.path, "colour") || STR_CONTAINS(p.message, "colour"));
        meshplane_error_free(err);
        err = NULL;
        CHECK_RC(meshplane_translate(typo, len, NULL, 0, MESHPLANE_TRANSLATE_ALLOW_UNKNOWN_FIELDS, &t, &err), MESHPLANE_RESULT_OK);
        CHECK(err == NULL);
        meshplane_translation_free(t);
        t = NULL;
        in = crds_with("0", &len);
    }
    /* not YAML */
    CHECK_RC(meshplane_translate(LIT("a: [1, 2\n"), NULL, 0, 0, &t, &err), MESHPLANE_RESULT_TRANSLATION_FAILED);
    CHECK(meshplane_error_count(err) >= 1);
    meshplane_error_free(err);
    err = NULL;
    /* argument errors write nothing */
    CHECK_RC(meshplane_translate(in, len, NULL, 0, 4, &t, &err), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_translate(in, len, NULL, 0, 0xffffffffu, &t, &err), MESHPLANE_RESULT_INVALID_PARAMETER);
    CHECK_RC(meshplane_translate(NULL, 3, NULL, 0, 0, &t, &err), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_translate(in, len, NULL, 2, 0, &t, &err), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_translate(LIT("kind: \xff"), NULL, 0, 0, &t, &err), MESHPLANE_RESULT_INVALID_UTF8);
    CHECK_RC(meshplane_translate(in, len, LIT("\xff"), 0, &t, &err), MESHPLANE_RESULT_INVALID_UTF8);
    CHECK_RC(meshplane_translate(in, len, NULL, 0, 0, NULL, &err), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK(t == NULL && err == NULL);
    /* NULL and garbage handles */
    CHECK_RC(meshplane_translation_yaml(NULL, &s), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_translation_yaml(GARBAGE(meshplane_translation), &s), MESHPLANE_RESULT_INVALID_HANDLE);
    CHECK(meshplane_translation_warning_count(NULL) == 0);
    CHECK(meshplane_translation_warning_count(GARBAGE(meshplane_translation)) == 0);
    CHECK_RC(meshplane_translation_warning_at(NULL, 0, &s), MESHPLANE_RESULT_NULL_PARAMETER);
    CHECK_RC(meshplane_translation_warning_at(GARBAGE(meshplane_translation), 0, &s), MESHPLANE_RESULT_INVALID_HANDLE);
    meshplane_translation_free(NULL);
    meshplane_translation_free(GARBAGE(meshplane_translation));
}
