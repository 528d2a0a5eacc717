/* xnca_distill.c - import the Distill "Self-classifying MNIST Digits" TF.js weights.
 *
 * The published demo model (distillpub/post--selforg-mnist, public/model.json,
 * CC-BY-4.0) is a TF.js graph model whose weights are inline in Const nodes as
 * base64 little-endian float32 `tensorContent`. A small JSON parser (no
 * dependencies; depth- and size-limited so hostile input fails cleanly) reads
 * the node list; the three conv kernels and biases become a spec 10 float model.
 *
 * Layout conversion: TF kernels are HWIO, k[ky][kx][c][o], applied as a
 * cross-correlation, so the neighbour (x + kx - 1, y + ky - 1) has spec position
 * pos = ky * 3 + kx and w[o][pos * C + c] = k[ky][kx][c][o]. 1x1 kernels
 * k[0][0][n][o] become w[o][n].
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_distill.h"

#define JSON_MAX_DEPTH 64

/* ---------------------------------------------------------------- JSON values */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype type;
    double num;
    char *str;          /* J_STR: unescaped, NUL-terminated (may hold embedded NULs from \u0000) */
    size_t len;         /* J_STR length; J_ARR / J_OBJ item count */
    struct jval *items; /* J_ARR / J_OBJ */
    char **keys;        /* J_OBJ */
} jval;

typedef struct {
    const char *start, *p, *end;
    char *err;
    size_t errlen;
    int failed;
} jparser;

static void jfail(jparser *ps, const char *fmt, ...)
{
    if (ps->failed) return;
    ps->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err, ps->errlen, fmt, ap);
    va_end(ap);
}

static void jfree(jval *v)
{
    if (v->type == J_STR) free(v->str);
    if (v->type == J_ARR || v->type == J_OBJ) {
        for (size_t i = 0; i < v->len; i++) {
            jfree(&v->items[i]);
            if (v->keys) free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
    memset(v, 0, sizeof(*v));
}

static void skip_ws(jparser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parse a string at ps->p (which points at the opening quote). */
static char *parse_string(jparser *ps, size_t *out_len)
{
    ps->p++; /* opening quote */
    const char *start = ps->p;
    size_t cap = 16;
    while (ps->p < ps->end && *ps->p != '"') { /* size guess: raw length */
        if (*ps->p == '\\' && ps->p + 1 < ps->end) ps->p++;
        ps->p++;
    }
    if (ps->p >= ps->end) {
        jfail(ps, "unterminated string");
        return NULL;
    }
    cap += (size_t)(ps->p - start);
    char *s = malloc(cap);
    if (!s) {
        jfail(ps, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (const char *q = start; q < ps->p; q++) {
        if (*q != '\\') {
            s[n++] = *q;
            continue;
        }
        q++;
        switch (*q) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u': {
            if (ps->p - q < 5) {
                jfail(ps, "bad \\u escape");
                free(s);
                return NULL;
            }
            unsigned cp = 0;
            for (int i = 1; i <= 4; i++) {
                int h = hexval(q[i]);
                if (h < 0) {
                    jfail(ps, "bad \\u escape");
                    free(s);
                    return NULL;
                }
                cp = cp * 16 + (unsigned)h;
            }
            q += 4;
            /* UTF-8 encode the BMP code point (surrogates pass through unpaired: names only). */
            if (cp < 0x80) {
                s[n++] = (char)cp;
            } else if (cp < 0x800) {
                s[n++] = (char)(0xc0 | (cp >> 6));
                s[n++] = (char)(0x80 | (cp & 0x3f));
            } else {
                s[n++] = (char)(0xe0 | (cp >> 12));
                s[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                s[n++] = (char)(0x80 | (cp & 0x3f));
            }
            break;
        }
        default:
            jfail(ps, "bad escape \\%c", *q);
            free(s);
            return NULL;
        }
    }
    s[n] = 0;
    ps->p++; /* closing quote */
    *out_len = n;
    return s;
}

static void parse_value(jparser *ps, jval *v, int depth);

static void parse_container(jparser *ps, jval *v, int depth, int is_obj)
{
    char close = is_obj ? '}' : ']';
    size_t cap = 0;
    v->type = is_obj ? J_OBJ : J_ARR;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return;
    }
    for (;;) {
        if (v->len == cap) {
            cap = cap ? cap * 2 : 8;
            jval *ni = realloc(v->items, cap * sizeof(jval));
            if (!ni) {
                jfail(ps, "out of memory");
                return;
            }
            v->items = ni;
            if (is_obj) {
                char **nk = realloc(v->keys, cap * sizeof(char *));
                if (!nk) {
                    jfail(ps, "out of memory");
                    return;
                }
                v->keys = nk;
            }
        }
        jval *item = &v->items[v->len];
        memset(item, 0, sizeof(*item));
        if (is_obj) {
            v->keys[v->len] = NULL;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') {
                jfail(ps, "expected an object key at byte %ld", (long)(ps->p - ps->start));
                return;
            }
            size_t kl;
            char *key = parse_string(ps, &kl);
            if (!key) return;
            v->keys[v->len] = key;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                v->len++;
                jfail(ps, "expected ':' after key \"%s\"", key);
                return;
            }
            ps->p++;
        }
        v->len++;
        parse_value(ps, item, depth + 1);
        if (ps->failed) return;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return;
        }
        jfail(ps, "expected ',' or '%c'", close);
        return;
    }
}

static void parse_value(jparser *ps, jval *v, int depth)
{
    memset(v, 0, sizeof(*v));
    if (depth > JSON_MAX_DEPTH) {
        jfail(ps, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
        return;
    }
    skip_ws(ps);
    if (ps->p >= ps->end) {
        jfail(ps, "unexpected end of JSON");
        return;
    }
    char c = *ps->p;
    if (c == '{' || c == '[') {
        parse_container(ps, v, depth, c == '{');
    } else if (c == '"') {
        v->str = parse_string(ps, &v->len);
        if (v->str) v->type = J_STR;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t n = 0;
        while (ps->p < ps->end && n < sizeof(buf) - 1 && strchr("+-0123456789.eE", *ps->p)) buf[n++] = *ps->p++;
        buf[n] = 0;
        char *endp;
        v->num = strtod(buf, &endp);
        v->type = J_NUM;
        if (*endp) jfail(ps, "bad number '%s'", buf);
    } else if (ps->end - ps->p >= 4 && !memcmp(ps->p, "true", 4)) {
        v->type = J_BOOL;
        v->num = 1;
        ps->p += 4;
    } else if (ps->end - ps->p >= 5 && !memcmp(ps->p, "false", 5)) {
        v->type = J_BOOL;
        ps->p += 5;
    } else if (ps->end - ps->p >= 4 && !memcmp(ps->p, "null", 4)) {
        v->type = J_NULL;
        ps->p += 4;
    } else {
        jfail(ps, "unexpected character '%c' in JSON", c);
    }
}

static const jval *jget(const jval *obj, const char *key)
{
    if (!obj || obj->type != J_OBJ) return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (obj->keys[i] && !strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

/* ---------------------------------------------------------------- base64 */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decode standard (or URL-safe) base64 with optional '=' padding; returns bytes, or -1. */
static long b64decode(const char *s, size_t len, unsigned char *out, size_t cap)
{
    while (len > 0 && s[len - 1] == '=') len--;
    if (len % 4 == 1) return -1;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap) return -1;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)n;
}

/* ---------------------------------------------------------------- tensors */

typedef struct {
    int rank;
    long dim[4];
    long count;
    float *data;
} tensor;

/* Find the Const node `name` and decode its float32 tensor. */
static int read_tensor(const jval *nodes, const char *name, tensor *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    const jval *node = NULL;
    for (size_t i = 0; i < nodes->len && !node; i++) {
        const jval *nm = jget(&nodes->items[i], "name");
        if (nm && nm->type == J_STR && !strcmp(nm->str, name)) node = &nodes->items[i];
    }
    if (!node) {
        snprintf(err, errlen, "no node named \"%s\"", name);
        return -1;
    }
    const jval *op = jget(node, "op");
    const jval *tensor_v = jget(jget(jget(node, "attr"), "value"), "tensor");
    if (!op || op->type != J_STR || strcmp(op->str, "Const") || !tensor_v) {
        snprintf(err, errlen, "node \"%s\" is not a Const tensor", name);
        return -1;
    }
    const jval *dtype = jget(tensor_v, "dtype");
    if (!dtype || dtype->type != J_STR || strcmp(dtype->str, "DT_FLOAT")) {
        snprintf(err, errlen, "node \"%s\": dtype is not DT_FLOAT", name);
        return -1;
    }
    const jval *dims = jget(jget(tensor_v, "tensorShape"), "dim");
    if (!dims || dims->type != J_ARR || dims->len < 1 || dims->len > 4) {
        snprintf(err, errlen, "node \"%s\": missing or unsupported tensorShape", name);
        return -1;
    }
    t->rank = (int)dims->len;
    t->count = 1;
    for (int d = 0; d < t->rank; d++) {
        const jval *sz = jget(&dims->items[d], "size");
        long v = -1;
        if (sz && sz->type == J_STR) {
            char *endp;
            errno = 0;
            v = strtol(sz->str, &endp, 10);
            if (*endp || errno) v = -1;
        } else if (sz && sz->type == J_NUM) {
            v = (long)sz->num;
        }
        if (v < 1 || v > 4096) {
            snprintf(err, errlen, "node \"%s\": bad dimension %d", name, d);
            return -1;
        }
        t->dim[d] = v;
        t->count *= v;
    }
    const jval *content = jget(tensor_v, "tensorContent");
    if (!content || content->type != J_STR) {
        snprintf(err, errlen, "node \"%s\": no tensorContent (only inline base64 weights are supported)", name);
        return -1;
    }
    size_t bytes = (size_t)t->count * 4;
    unsigned char *raw = malloc(bytes + 4);
    t->data = malloc(bytes);
    if (!raw || !t->data) {
        free(raw);
        free(t->data);
        t->data = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    long got = b64decode(content->str, content->len, raw, bytes + 4);
    if (got != (long)bytes) {
        free(raw);
        free(t->data);
        t->data = NULL;
        snprintf(err, errlen, "node \"%s\": tensorContent decodes to %ld bytes, shape needs %zu", name, got, bytes);
        return -1;
    }
    for (long i = 0; i < t->count; i++) { /* little-endian float32, independent of host order */
        uint32_t u = (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 | (uint32_t)raw[4 * i + 2] << 16 |
                     (uint32_t)raw[4 * i + 3] << 24;
        memcpy(&t->data[i], &u, 4);
    }
    free(raw);
    return 0;
}

static int expect_shape(const tensor *t, const char *name, int rank, const long *dims, char *err, size_t errlen)
{
    int ok = t->rank == rank;
    for (int d = 0; ok && d < rank; d++) ok = t->dim[d] == dims[d];
    if (!ok) {
        char got[96] = "", want[96] = "";
        for (int d = 0; d < t->rank; d++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%ld", d ? "," : "", t->dim[d]);
        for (int d = 0; d < rank; d++)
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%ld", d ? "," : "", dims[d]);
        snprintf(err, errlen, "node \"%s\": shape [%s], expected [%s]", name, got, want);
    }
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------------- import */

#define K0 "sequential/conv2d/Conv2D/ReadVariableOp/resource"
#define B0 "sequential/conv2d/BiasAdd/ReadVariableOp/resource"
#define K1 "sequential_1/conv2d_1/Conv2D/ReadVariableOp/resource"
#define B1 "sequential_1/conv2d_1/BiasAdd/ReadVariableOp/resource"
#define K2 "sequential_1/conv2d_2/Conv2D/ReadVariableOp/resource"
#define B2 "sequential_1/conv2d_2/BiasAdd/ReadVariableOp/resource"

static const char DISTILL_META[] =
    "source=Distill \"Self-classifying MNIST Digits\" (Randazzo, Mordvintsev, Niklasson, Levin, Greydanus, "
    "2020, https://distill.pub/2020/selforg/mnist/, doi:10.23915/distill.00027.002), published demo weights "
    "distillpub/post--selforg-mnist public/model.json, imported by xnca import-distill\n"
    "license=CC-BY-4.0 (weights by the Distill article's authors; see models/third_party/distill/LICENSE)\n"
    "dataset=mnist\n";

static int build_model(const jval *nodes, xnca_model *m, char *err, size_t errlen)
{
    tensor t[6];
    const char *names[6] = {K0, B0, K1, B1, K2, B2};
    int rc = -1;
    memset(t, 0, sizeof(t));
    for (int i = 0; i < 6; i++)
        if (read_tensor(nodes, names[i], &t[i], err, errlen)) goto out_free_tensors;

    /* Dimensions from the perception kernel [3,3,C,P] and the hidden kernel [1,1,P,M]. */
    if (t[0].rank != 4 || t[0].dim[0] != 3 || t[0].dim[1] != 3) {
        snprintf(err, errlen, "node \"%s\": expected a 3x3 kernel [3,3,C,P]", K0);
        goto out_free_tensors;
    }
    const long C = t[0].dim[2], P = t[0].dim[3];
    const long M = t[2].rank == 4 ? t[2].dim[3] : -1;
    long s1[1] = {P}, s2[4] = {1, 1, P, M}, s3[1] = {M}, s4[4] = {1, 1, M, C - 1}, s5[1] = {C - 1};
    if (expect_shape(&t[1], B0, 1, s1, err, errlen) || expect_shape(&t[2], K1, 4, s2, err, errlen) ||
        expect_shape(&t[3], B1, 1, s3, err, errlen) || expect_shape(&t[4], K2, 4, s4, err, errlen) ||
        expect_shape(&t[5], B2, 1, s5, err, errlen))
        goto out_free_tensors;

    memset(m, 0, sizeof(*m));
    m->variant = XNCA_FLOAT;
    m->grid_w = m->grid_h = 28;
    m->channels = (int)C;
    m->hidden_channels = (int)C - 11;
    m->classes = XNCA_CLASSES;
    m->hidden_layers = 1;
    m->perception_width = (int)P;
    m->mlp_width = (int)M;
    m->weight_bits = m->act_bits = m->state_bits = 32;
    m->input_bits = 8;
    m->fire_t = 128;      /* Distill's fire rate 0.5 */
    m->noise_p = 0;
    m->noise_sigma = 0.02f; /* Distill's N(0, 0.02) update noise */
    m->n_layers = 3;
    if (xnca_model_alloc(m, err, errlen)) goto out_free_tensors; /* checks the dimensions too */

    xnca_layer *L0 = &m->layer[0], *L1 = &m->layer[1], *L2 = &m->layer[2];
    for (long ky = 0; ky < 3; ky++)
        for (long kx = 0; kx < 3; kx++)
            for (long c = 0; c < C; c++)
                for (long o = 0; o < P; o++)
                    L0->w[o * 9 * C + (ky * 3 + kx) * C + c] = t[0].data[((ky * 3 + kx) * C + c) * P + o];
    memcpy(L0->b, t[1].data, sizeof(float) * (size_t)P);
    for (long n = 0; n < P; n++)
        for (long o = 0; o < M; o++) L1->w[o * P + n] = t[2].data[n * M + o];
    memcpy(L1->b, t[3].data, sizeof(float) * (size_t)M);
    for (long n = 0; n < M; n++)
        for (long o = 0; o < C - 1; o++) L2->w[o * M + n] = t[4].data[n * (C - 1) + o];
    memcpy(L2->b, t[5].data, sizeof(float) * (size_t)(C - 1));

    m->meta = strdup(DISTILL_META);
    if (!m->meta) {
        snprintf(err, errlen, "out of memory");
        xnca_model_free(m);
        goto out_free_tensors;
    }
    if (xnca_model_check(m, err, errlen)) {
        xnca_model_free(m);
        goto out_free_tensors;
    }
    rc = 0;
out_free_tensors:
    for (int i = 0; i < 6; i++) free(t[i].data);
    return rc;
}

int xnca_distill_import_mem(const char *json, size_t len, xnca_model *m, char *err, size_t errlen)
{
    jparser ps = {json, json, json + len, err, errlen, 0};
    jval root;
    parse_value(&ps, &root, 0);
    if (!ps.failed) {
        skip_ws(&ps);
        if (ps.p != ps.end) jfail(&ps, "trailing bytes after the JSON value");
    }
    if (ps.failed) {
        char msg[200];
        snprintf(msg, sizeof(msg), "%s", err);
        snprintf(err, errlen, "not valid JSON: %s", msg);
        jfree(&root);
        return -1;
    }
    const jval *fmt = jget(&root, "format");
    const jval *nodes = jget(jget(&root, "modelTopology"), "node");
    int rc = -1;
    if (!fmt || fmt->type != J_STR || strcmp(fmt->str, "graph-model"))
        snprintf(err, errlen, "not a TF.js graph model (\"format\" is not \"graph-model\")");
    else if (!nodes || nodes->type != J_ARR)
        snprintf(err, errlen, "no modelTopology.node list");
    else
        rc = build_model(nodes, m, err, errlen);
    jfree(&root);
    return rc;
}

int xnca_distill_import(const char *json_path, xnca_model *m, char *err, size_t errlen)
{
    FILE *f = fopen(json_path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", json_path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 17;
            if (cap > (64u << 20)) {
                snprintf(err, errlen, "%s: larger than 64 MiB, not a Distill model", json_path);
                free(buf);
                fclose(f);
                return -1;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        snprintf(err, errlen, "%s: read error", json_path);
        free(buf);
        return -1;
    }
    char inner[256];
    int rc = xnca_distill_import_mem(buf, len, m, inner, sizeof(inner));
    if (rc) snprintf(err, errlen, "%s: %s", json_path, inner);
    free(buf);
    return rc;
}
