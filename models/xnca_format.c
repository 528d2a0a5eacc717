/* xnca_format.c - the .xnca model file (spec 10): load, save, serialize, envelope check (spec 9).
 *
 * The loader treats its input as hostile: every length is checked before it is used, all
 * arithmetic on header values is done in 64 bits, and nothing is read outside [buf, buf+len)
 * (the load_mem path is a fuzzing target). Every rejection names the offending field.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_model.h"
#include "xnca_err.h"

#define TRAILER_BYTES 4               /* CRC-32 */
#define RUN_PARAM_BYTES 8             /* spec 10, payload item 3 */
#define QREC_BYTES 6                  /* quantizer record */
#define MAX_FILE_BYTES (64u << 20)    /* a model file is at most a few hundred KiB */
#define ADD_LIMIT (1 << 23)           /* |add| < 2^23 */

/* ------------------------------------------------------------------------------------------
 * CRC-32 (IEEE 802.3, reflected, as zlib's crc32: crc32(0, buf, len)).
 * ---------------------------------------------------------------------------------------- */
static uint32_t crc_table[256];
static int crc_table_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    __atomic_store_n(&crc_table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t xnca_crc32(uint32_t crc, const void *buf, size_t len)
{
    if (!__atomic_load_n(&crc_table_ready, __ATOMIC_ACQUIRE))
        crc_init(); /* idempotent: concurrent first calls write identical values */
    const uint8_t *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------------------------------------
 * Dimensions and the envelope (spec 9)
 * ---------------------------------------------------------------------------------------- */
const char *xnca_variant_name(xnca_variant v)
{
    switch (v) {
    case XNCA_FLOAT: return "float";
    case XNCA_BWN: return "bwn";
    case XNCA_BAN: return "ban";
    case XNCA_QUANT: return "quant";
    }
    return "unknown";
}

/* Check the scalar header fields of *m against spec 9 and 10. */
static int check_dims(const xnca_model *m, char *err, size_t errlen)
{
    if (m->variant != XNCA_FLOAT && m->variant != XNCA_BWN && m->variant != XNCA_BAN && m->variant != XNCA_QUANT)
        return xnca_errf(err, errlen, "variant %d is unknown (0 float, 1 bwn, 2 ban, 3 quant)", (int)m->variant);
    if (m->grid_w < 8 || m->grid_w > 64)
        return xnca_errf(err, errlen, "grid_w %d is outside the envelope 8..64", m->grid_w);
    if (m->grid_h < 8 || m->grid_h > 64)
        return xnca_errf(err, errlen, "grid_h %d is outside the envelope 8..64", m->grid_h);
    if (m->channels < 12 || m->channels > 32)
        return xnca_errf(err, errlen, "channels %d is outside the envelope 12..32", m->channels);
    if (m->hidden_channels != m->channels - 11)
        return xnca_errf(err, errlen, "hidden_channels %d must equal channels - 11 = %d", m->hidden_channels,
                    m->channels - 11);
    if (m->classes != XNCA_CLASSES)
        return xnca_errf(err, errlen, "classes %d must be 10", m->classes);
    if (m->hidden_layers < 0 || m->hidden_layers > 2)
        return xnca_errf(err, errlen, "hidden_layers %d is outside the envelope 0..2", m->hidden_layers);
    if (m->perception_width < 8 || m->perception_width > 256)
        return xnca_errf(err, errlen, "perception_width %d is outside the envelope 8..256", m->perception_width);
    if (m->hidden_layers == 0 && m->mlp_width != 0)
        return xnca_errf(err, errlen, "mlp_width %d must be 0 when hidden_layers = 0", m->mlp_width);
    if (m->hidden_layers > 0 && m->mlp_width == 0)
        return xnca_errf(err, errlen, "mlp_width 0 is inconsistent with hidden_layers %d", m->hidden_layers);
    if (m->hidden_layers > 0 && (m->mlp_width < 8 || m->mlp_width > 256))
        return xnca_errf(err, errlen, "mlp_width %d is outside the envelope 8..256", m->mlp_width);
    if (m->fire_t < 0 || m->fire_t > 256)
        return xnca_errf(err, errlen, "fire_t %d is outside 0..256", m->fire_t);
    if (m->variant == XNCA_QUANT) {
        if (m->weight_bits < 1 || m->weight_bits > 8)
            return xnca_errf(err, errlen, "weight_bits %d is outside the envelope 1..8", m->weight_bits);
        if (m->act_bits < 1 || m->act_bits > 8)
            return xnca_errf(err, errlen, "act_bits %d is outside the envelope 1..8", m->act_bits);
        if (m->state_bits < 2 || m->state_bits > 8)
            return xnca_errf(err, errlen, "state_bits %d is outside the envelope 2..8", m->state_bits);
        if (m->input_bits < 1 || m->input_bits > 4)
            return xnca_errf(err, errlen, "input_bits %d is outside the envelope 1..4", m->input_bits);
        if (m->noise_p < 0 || m->noise_p > 127)
            return xnca_errf(err, errlen, "noise_p %d is outside 0..127", m->noise_p);
        if (m->noise_sigma != 0.0f)
            return xnca_errf(err, errlen, "noise_sigma must be 0 for a quant model");
    } else {
        if (m->weight_bits != 32)
            return xnca_errf(err, errlen, "weight_bits %d must be 32 for a %s model", m->weight_bits,
                        xnca_variant_name(m->variant));
        if (m->act_bits != 32)
            return xnca_errf(err, errlen, "act_bits %d must be 32 for a %s model", m->act_bits,
                        xnca_variant_name(m->variant));
        if (m->state_bits != 32)
            return xnca_errf(err, errlen, "state_bits %d must be 32 for a %s model", m->state_bits,
                        xnca_variant_name(m->variant));
        if (m->input_bits != 8)
            return xnca_errf(err, errlen, "input_bits %d must be 8 for a %s model", m->input_bits,
                        xnca_variant_name(m->variant));
        if (m->noise_p != 0)
            return xnca_errf(err, errlen, "noise_p %d must be 0 for a %s model", m->noise_p,
                        xnca_variant_name(m->variant));
        if (!isfinite(m->noise_sigma) || m->noise_sigma < 0.0f)
            return xnca_errf(err, errlen, "noise_sigma must be finite and >= 0");
    }
    return 0;
}

/* Layer l's input and output counts for the dimensions in *m (spec 3.1). */
static void layer_shape(const xnca_model *m, int l, int *n_in, int *n_out)
{
    int L = m->hidden_layers;
    if (l == 0) {
        *n_in = 9 * m->channels;
        *n_out = m->perception_width;
    } else if (l <= L) {
        *n_in = l == 1 ? m->perception_width : m->mlp_width;
        *n_out = m->mlp_width;
    } else {
        *n_in = L == 0 ? m->perception_width : m->mlp_width;
        *n_out = m->channels - 1;
    }
}

/* Payload bytes implied by the (already checked) dimensions. */
static size_t payload_bytes_for(const xnca_model *m)
{
    size_t total = 0;
    int n_layers = m->hidden_layers + 2;
    if (m->variant == XNCA_QUANT) {
        total = (size_t)QREC_BYTES * m->channels + RUN_PARAM_BYTES;
        for (int l = 0; l < n_layers; l++) {
            int n_in, n_out;
            layer_shape(m, l, &n_in, &n_out);
            total += (size_t)n_out * ((size_t)m->weight_bits * ((n_in + 7) / 8) + QREC_BYTES);
        }
    } else {
        for (int l = 0; l < n_layers; l++) {
            int n_in, n_out;
            layer_shape(m, l, &n_in, &n_out);
            total += 4 * (size_t)n_out * ((size_t)n_in + 1);
        }
    }
    return total;
}

size_t xnca_model_weight_bytes(const xnca_model *m)
{
    if (check_dims(m, NULL, 0) != 0)
        return 0;
    return payload_bytes_for(m);
}

long xnca_model_params(const xnca_model *m)
{
    /* Weights plus one per-output parameter (a quantizer record or a bias) per layer output;
     * quant models add their C input quantizers. */
    if (check_dims(m, NULL, 0) != 0)
        return 0;
    long total = m->variant == XNCA_QUANT ? m->channels : 0;
    for (int l = 0; l < m->hidden_layers + 2; l++) {
        int n_in, n_out;
        layer_shape(m, l, &n_in, &n_out);
        total += (long)n_out * n_in + n_out;
    }
    return total;
}

/* ------------------------------------------------------------------------------------------
 * Allocation
 * ---------------------------------------------------------------------------------------- */
void xnca_model_free(xnca_model *m)
{
    if (!m)
        return;
    free(m->inq);
    m->inq = NULL;
    for (int l = 0; l < XNCA_MAX_LAYERS; l++) {
        xnca_layer *L = &m->layer[l];
        free(L->planes);
        free(L->q);
        free(L->w);
        free(L->b);
        memset(L, 0, sizeof(*L));
    }
    free(m->meta);
    m->meta = NULL;
}

int xnca_model_alloc(xnca_model *m, char *err, size_t errlen)
{
    if (check_dims(m, err, errlen) != 0)
        return -1;
    m->inq = NULL;
    m->meta = NULL;
    memset(m->layer, 0, sizeof(m->layer));
    m->n_layers = m->hidden_layers + 2;
    int quant = m->variant == XNCA_QUANT;
    if (quant) {
        m->inq = calloc((size_t)m->channels, sizeof(xnca_qparam));
        if (!m->inq)
            goto out_nomem;
    }
    for (int l = 0; l < m->n_layers; l++) {
        xnca_layer *L = &m->layer[l];
        layer_shape(m, l, &L->n_in, &L->n_out);
        if (quant) {
            L->row_bytes = (L->n_in + 7) / 8;
            L->planes = calloc((size_t)L->n_out * m->weight_bits * L->row_bytes, 1);
            L->q = calloc((size_t)L->n_out, sizeof(xnca_qparam));
            if (!L->planes || !L->q)
                goto out_nomem;
        } else {
            L->w = calloc((size_t)L->n_out * L->n_in, sizeof(float));
            L->b = calloc((size_t)L->n_out, sizeof(float));
            if (!L->w || !L->b)
                goto out_nomem;
        }
    }
    return 0;
out_nomem:
    xnca_model_free(m);
    return xnca_errf(err, errlen, "out of memory allocating the model");
}

/* ------------------------------------------------------------------------------------------
 * Consistency check of a model in memory
 * ---------------------------------------------------------------------------------------- */
static int check_qparam(const xnca_qparam *q, const char *what, int index, char *err, size_t errlen)
{
    if (q->shift > 31)
        return xnca_errf(err, errlen, "%s quantizer %d: shift %d > 31", what, index, q->shift);
    if (q->add >= ADD_LIMIT || q->add <= -ADD_LIMIT)
        return xnca_errf(err, errlen, "%s quantizer %d: |add| = %ld >= 2^23", what, index, labs((long)q->add));
    return 0;
}

static int check_padding_bits(const xnca_model *m, int l, char *err, size_t errlen)
{
    const xnca_layer *L = &m->layer[l];
    int tail = L->n_in % 8;
    if (tail == 0)
        return 0;
    uint8_t pad_mask = (uint8_t)(0xff << tail);
    for (long r = 0; r < (long)L->n_out * m->weight_bits; r++)
        if (L->planes[r * L->row_bytes + L->row_bytes - 1] & pad_mask)
            return xnca_errf(err, errlen, "layer %d weight planes: padding bits of row %ld plane %ld are not 0", l,
                        r / m->weight_bits, r % m->weight_bits);
    return 0;
}

int xnca_model_check(const xnca_model *m, char *err, size_t errlen)
{
    if (!m)
        return xnca_errf(err, errlen, "no model");
    if (check_dims(m, err, errlen) != 0)
        return -1;
    if (m->n_layers != m->hidden_layers + 2)
        return xnca_errf(err, errlen, "n_layers %d must equal hidden_layers + 2 = %d", m->n_layers,
                    m->hidden_layers + 2);
    int quant = m->variant == XNCA_QUANT;
    if (quant) {
        if (!m->inq)
            return xnca_errf(err, errlen, "input quantizers missing");
        for (int c = 0; c < m->channels; c++)
            if (check_qparam(&m->inq[c], "input", c, err, errlen) != 0)
                return -1;
    }
    for (int l = 0; l < m->n_layers; l++) {
        const xnca_layer *L = &m->layer[l];
        int n_in, n_out;
        layer_shape(m, l, &n_in, &n_out);
        if (L->n_in != n_in || L->n_out != n_out)
            return xnca_errf(err, errlen, "layer %d is %d -> %d, the dimensions say %d -> %d", l, L->n_in, L->n_out,
                        n_in, n_out);
        if (quant) {
            if (L->row_bytes != (n_in + 7) / 8)
                return xnca_errf(err, errlen, "layer %d row_bytes %d must be %d", l, L->row_bytes, (n_in + 7) / 8);
            if (!L->planes || !L->q)
                return xnca_errf(err, errlen, "layer %d weights missing", l);
            char what[32];
            snprintf(what, sizeof(what), "layer %d", l);
            for (int o = 0; o < n_out; o++)
                if (check_qparam(&L->q[o], what, o, err, errlen) != 0)
                    return -1;
            if (check_padding_bits(m, l, err, errlen) != 0)
                return -1;
        } else {
            if (!L->w || !L->b)
                return xnca_errf(err, errlen, "layer %d weights missing", l);
            for (long i = 0; i < (long)n_out * n_in; i++)
                if (!isfinite(L->w[i]))
                    return xnca_errf(err, errlen, "layer %d weight %ld is not finite", l, i);
            for (int o = 0; o < n_out; o++)
                if (!isfinite(L->b[o]))
                    return xnca_errf(err, errlen, "layer %d bias %d is not finite", l, o);
        }
    }
    return 0;
}

int xnca_weight(const xnca_model *m, int l, int o, int n)
{
    if (!m || m->variant != XNCA_QUANT || l < 0 || l >= m->n_layers)
        return 0;
    const xnca_layer *L = &m->layer[l];
    if (o < 0 || o >= L->n_out || n < 0 || n >= L->n_in)
        return 0;
    int u = 0;
    for (int i = 0; i < m->weight_bits; i++) {
        uint8_t byte = L->planes[((size_t)o * m->weight_bits + i) * L->row_bytes + n / 8];
        u |= ((byte >> (n % 8)) & 1) << i;
    }
    return 2 * u - ((1 << m->weight_bits) - 1);
}

/* ------------------------------------------------------------------------------------------
 * Little-endian byte helpers
 * ---------------------------------------------------------------------------------------- */
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr16(uint8_t *p, unsigned v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = (v >> 24) & 0xff;
}
static float rdf32(const uint8_t *p)
{
    uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static void wrf32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    wr32(p, u);
}

static void rd_qparam(const uint8_t *p, xnca_qparam *q)
{
    q->mul = (int8_t)p[0];
    q->shift = p[1];
    q->add = (int32_t)rd32(p + 2);
}
static void wr_qparam(uint8_t *p, const xnca_qparam *q)
{
    p[0] = (uint8_t)q->mul;
    p[1] = q->shift;
    wr32(p + 2, (uint32_t)q->add);
}

/* ------------------------------------------------------------------------------------------
 * Serialize
 * ---------------------------------------------------------------------------------------- */
static void write_header(const xnca_model *m, uint8_t *h, uint32_t payload, uint32_t meta)
{
    memset(h, 0, XNCA_HEADER_BYTES);
    memcpy(h, "XNCA", 4);
    wr16(h + 4, XNCA_FORMAT_VERSION);
    h[6] = (uint8_t)m->variant;
    wr16(h + 8, (unsigned)m->grid_w);
    wr16(h + 10, (unsigned)m->grid_h);
    h[12] = (uint8_t)m->channels;
    h[13] = (uint8_t)m->hidden_channels;
    h[14] = (uint8_t)m->classes;
    h[15] = (uint8_t)m->hidden_layers;
    wr16(h + 16, (unsigned)m->perception_width);
    wr16(h + 18, (unsigned)m->mlp_width);
    h[20] = (uint8_t)m->weight_bits;
    h[21] = (uint8_t)m->act_bits;
    h[22] = (uint8_t)m->state_bits;
    h[23] = (uint8_t)m->input_bits;
    wr16(h + 24, (unsigned)m->fire_t);
    h[26] = (uint8_t)m->noise_p;
    wrf32(h + 28, m->noise_sigma);
    wr32(h + 32, payload);
    wr32(h + 36, meta);
}

static uint8_t *write_payload(const xnca_model *m, uint8_t *p)
{
    if (m->variant == XNCA_QUANT) {
        for (int c = 0; c < m->channels; c++, p += QREC_BYTES)
            wr_qparam(p, &m->inq[c]);
        for (int l = 0; l < m->n_layers; l++) {
            const xnca_layer *L = &m->layer[l];
            size_t nb = (size_t)L->n_out * m->weight_bits * L->row_bytes;
            memcpy(p, L->planes, nb);
            p += nb;
            for (int o = 0; o < L->n_out; o++, p += QREC_BYTES)
                wr_qparam(p, &L->q[o]);
        }
        wr16(p, (unsigned)m->fire_t);
        p[2] = (uint8_t)m->noise_p;
        p[3] = (uint8_t)m->weight_bits;
        p[4] = (uint8_t)m->act_bits;
        p[5] = (uint8_t)m->state_bits;
        p[6] = (uint8_t)m->input_bits;
        p[7] = 0;
        p += RUN_PARAM_BYTES;
    } else {
        for (int l = 0; l < m->n_layers; l++) {
            const xnca_layer *L = &m->layer[l];
            for (long i = 0; i < (long)L->n_out * L->n_in; i++, p += 4)
                wrf32(p, L->w[i]);
            for (int o = 0; o < L->n_out; o++, p += 4)
                wrf32(p, L->b[o]);
        }
    }
    return p;
}

size_t xnca_model_serialize(const xnca_model *m, uint8_t **out)
{
    *out = NULL;
    if (xnca_model_check(m, NULL, 0) != 0)
        return 0;
    size_t payload = payload_bytes_for(m);
    size_t meta = m->meta ? strlen(m->meta) : 0;
    if (meta > MAX_FILE_BYTES)
        return 0;
    size_t total = XNCA_HEADER_BYTES + payload + meta + TRAILER_BYTES;
    uint8_t *buf = malloc(total);
    if (!buf)
        return 0;
    write_header(m, buf, (uint32_t)payload, (uint32_t)meta);
    uint8_t *p = write_payload(m, buf + XNCA_HEADER_BYTES);
    if (meta)
        memcpy(p, m->meta, meta);
    p += meta;
    wr32(p, xnca_crc32(0, buf, total - TRAILER_BYTES));
    *out = buf;
    return total;
}

int xnca_model_save(const char *path, const xnca_model *m, char *err, size_t errlen)
{
    if (xnca_model_check(m, err, errlen) != 0)
        return -1;
    uint8_t *buf;
    size_t n = xnca_model_serialize(m, &buf);
    if (n == 0)
        return xnca_errf(err, errlen, "cannot serialize the model (out of memory)");
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return xnca_errf(err, errlen, "cannot create %s", path);
    }
    size_t w = fwrite(buf, 1, n, f);
    int closed = fclose(f);
    free(buf);
    if (w != n || closed != 0)
        return xnca_errf(err, errlen, "cannot write %s", path);
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Load
 * ---------------------------------------------------------------------------------------- */
static void read_header_fields(const uint8_t *h, xnca_model *m)
{
    m->variant = (xnca_variant)h[6];
    m->grid_w = rd16(h + 8);
    m->grid_h = rd16(h + 10);
    m->channels = h[12];
    m->hidden_channels = h[13];
    m->classes = h[14];
    m->hidden_layers = h[15];
    m->perception_width = rd16(h + 16);
    m->mlp_width = rd16(h + 18);
    m->weight_bits = h[20];
    m->act_bits = h[21];
    m->state_bits = h[22];
    m->input_bits = h[23];
    m->fire_t = rd16(h + 24);
    m->noise_p = h[26];
    m->noise_sigma = rdf32(h + 28);
}

static int parse_quant_payload(xnca_model *m, const uint8_t *p, char *err, size_t errlen)
{
    for (int c = 0; c < m->channels; c++, p += QREC_BYTES) {
        rd_qparam(p, &m->inq[c]);
        if (check_qparam(&m->inq[c], "input", c, err, errlen) != 0)
            return -1;
    }
    for (int l = 0; l < m->n_layers; l++) {
        xnca_layer *L = &m->layer[l];
        size_t nb = (size_t)L->n_out * m->weight_bits * L->row_bytes;
        memcpy(L->planes, p, nb);
        p += nb;
        if (check_padding_bits(m, l, err, errlen) != 0)
            return -1;
        char what[32];
        snprintf(what, sizeof(what), "layer %d", l);
        for (int o = 0; o < L->n_out; o++, p += QREC_BYTES) {
            rd_qparam(p, &L->q[o]);
            if (check_qparam(&L->q[o], what, o, err, errlen) != 0)
                return -1;
        }
    }
    static const char *names[] = {"fire_t", "noise_p", "weight_bits", "act_bits", "state_bits", "input_bits"};
    int got[6] = {rd16(p), p[2], p[3], p[4], p[5], p[6]};
    int want[6] = {m->fire_t, m->noise_p, m->weight_bits, m->act_bits, m->state_bits, m->input_bits};
    for (int i = 0; i < 6; i++)
        if (got[i] != want[i])
            return xnca_errf(err, errlen, "run-parameter block: %s %d disagrees with the header (%d)", names[i], got[i],
                        want[i]);
    if (p[7] != 0)
        return xnca_errf(err, errlen, "run-parameter block: reserved byte is %d, must be 0", p[7]);
    return 0;
}

/* bwn (spec 8): each weight row becomes sign(w) * mean(|w|), sign(0) = +1. A row whose mean
 * underflows to 0 (negative denormals) becomes +0.0 throughout, never -0.0: a zero has no sign,
 * and saving the loaded model must write the same bytes every time. */
static void bwn_transform(xnca_model *m)
{
    for (int l = 0; l < m->n_layers; l++) {
        xnca_layer *L = &m->layer[l];
        for (int o = 0; o < L->n_out; o++) {
            float *w = L->w + (size_t)o * L->n_in;
            double sum = 0;
            for (int n = 0; n < L->n_in; n++)
                sum += fabsf(w[n]);
            float mean = (float)(sum / L->n_in);
            for (int n = 0; n < L->n_in; n++)
                w[n] = w[n] < 0 && mean != 0.0f ? -mean : mean;
        }
    }
}

static int parse_float_payload(xnca_model *m, const uint8_t *p, char *err, size_t errlen)
{
    for (int l = 0; l < m->n_layers; l++) {
        xnca_layer *L = &m->layer[l];
        for (long i = 0; i < (long)L->n_out * L->n_in; i++, p += 4) {
            L->w[i] = rdf32(p);
            if (!isfinite(L->w[i]))
                return xnca_errf(err, errlen, "layer %d weight %ld is not finite", l, i);
        }
        for (int o = 0; o < L->n_out; o++, p += 4) {
            L->b[o] = rdf32(p);
            if (!isfinite(L->b[o]))
                return xnca_errf(err, errlen, "layer %d bias %d is not finite", l, o);
        }
    }
    if (m->variant == XNCA_BWN)
        bwn_transform(m);
    return 0;
}

int xnca_model_load_mem(const uint8_t *buf, size_t len, xnca_model *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (!buf || len < XNCA_HEADER_BYTES + TRAILER_BYTES)
        return xnca_errf(err, errlen, "short file: %zu bytes, a model needs at least %d (header and CRC)", buf ? len : 0,
                    XNCA_HEADER_BYTES + TRAILER_BYTES);
    if (memcmp(buf, "XNCA", 4) != 0)
        return xnca_errf(err, errlen, "bad magic: not an xnca model file (expected \"XNCA\")");
    unsigned version = rd16(buf + 4);
    if (version != XNCA_FORMAT_VERSION)
        return xnca_errf(err, errlen, "format version %u is not supported (expected %d)", version, XNCA_FORMAT_VERSION);
    if (buf[6] > XNCA_QUANT)
        return xnca_errf(err, errlen, "variant %d is unknown (0 float, 1 bwn, 2 ban, 3 quant)", buf[6]);
    if (buf[7] != 0)
        return xnca_errf(err, errlen, "reserved byte at offset 7 is %d, must be 0", buf[7]);
    if (buf[27] != 0)
        return xnca_errf(err, errlen, "reserved byte at offset 27 is %d, must be 0", buf[27]);
    for (int i = 40; i < 48; i++)
        if (buf[i] != 0)
            return xnca_errf(err, errlen, "reserved bytes at offset 40..47 must be 0");
    read_header_fields(buf, m);
    if (check_dims(m, err, errlen) != 0)
        return -1;
    uint64_t payload = rd32(buf + 32), meta = rd32(buf + 36);
    uint64_t expected = payload_bytes_for(m);
    if (payload != expected)
        return xnca_errf(err, errlen, "payload_bytes %llu disagrees with the dimensions (expected %llu)",
                    (unsigned long long)payload, (unsigned long long)expected);
    uint64_t total = XNCA_HEADER_BYTES + payload + meta + TRAILER_BYTES;
    if (total != len)
        return xnca_errf(err, errlen, "file length %zu disagrees with the header (48 + payload_bytes %llu + meta_bytes %llu "
                    "+ 4 = %llu)", len, (unsigned long long)payload, (unsigned long long)meta,
                    (unsigned long long)total);
    uint32_t crc_file = rd32(buf + len - TRAILER_BYTES);
    uint32_t crc_calc = xnca_crc32(0, buf, len - TRAILER_BYTES);
    if (crc_file != crc_calc)
        return xnca_errf(err, errlen, "CRC mismatch: file says %08x, content gives %08x", crc_file, crc_calc);
    const uint8_t *meta_p = buf + XNCA_HEADER_BYTES + payload;
    if (memchr(meta_p, 0, (size_t)meta))
        return xnca_errf(err, errlen, "metadata contains a NUL byte");

    if (xnca_model_alloc(m, err, errlen) != 0)
        return -1;
    int rc = m->variant == XNCA_QUANT ? parse_quant_payload(m, buf + XNCA_HEADER_BYTES, err, errlen)
                                      : parse_float_payload(m, buf + XNCA_HEADER_BYTES, err, errlen);
    if (rc != 0)
        goto out_free;
    if (meta) {
        m->meta = malloc((size_t)meta + 1);
        if (!m->meta) {
            xnca_errf(err, errlen, "out of memory");
            goto out_free;
        }
        memcpy(m->meta, meta_p, (size_t)meta);
        m->meta[meta] = 0;
    }
    return 0;
out_free:
    xnca_model_free(m);
    return -1;
}

int xnca_model_load(const char *path, xnca_model *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    FILE *f = fopen(path, "rb");
    if (!f)
        return xnca_errf(err, errlen, "cannot open %s", path);
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = -1;
    if (!buf) {
        xnca_errf(err, errlen, "out of memory");
        goto out_close;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE_BYTES) {
                xnca_errf(err, errlen, "%s: file too large for a model (over %u bytes)", path, MAX_FILE_BYTES);
                goto out_free;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                xnca_errf(err, errlen, "out of memory");
                goto out_free;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        xnca_errf(err, errlen, "cannot read %s", path);
        goto out_free;
    }
    char inner[256];
    rc = xnca_model_load_mem(buf, len, m, inner, sizeof(inner));
    if (rc != 0)
        xnca_errf(err, errlen, "%s: %s", path, inner);
out_free:
    free(buf);
out_close:
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Metadata
 * ---------------------------------------------------------------------------------------- */
const char *xnca_model_meta(const xnca_model *m, const char *key)
{
    static __thread char value[1024];
    if (!m || !m->meta || !key)
        return NULL;
    size_t klen = strlen(key);
    for (const char *line = m->meta; *line;) {
        const char *end = strchr(line, '\n');
        size_t llen = end ? (size_t)(end - line) : strlen(line);
        if (llen > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            size_t vlen = llen - klen - 1;
            if (vlen && line[klen + 1 + vlen - 1] == '\r')
                vlen--;
            if (vlen >= sizeof(value))
                vlen = sizeof(value) - 1;
            memcpy(value, line + klen + 1, vlen);
            value[vlen] = 0;
            return value;
        }
        if (!end)
            break;
        line = end + 1;
    }
    return NULL;
}
