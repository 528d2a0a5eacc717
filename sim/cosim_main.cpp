// cosim_main.cpp - Verilator co-simulation of rtl/xnca_core.v against the C reference engine.
//
// Each case builds a random quant model (xnca_model_random) of the given precision, loads it
// through the core's LOAD stream, and for every image: INIT (0 steps), then S x RUN(1) with a
// STATE read after every step, compared bit for bit (every channel of every cell) with
// xnca_step; optionally a MUTATE at step T. RESULT records (votes, agreement, alive, step) are
// checked against xnca_votes. A timed pass (INIT(S) in one command) measures cycles.
// The corner cases the suite must reach are counted from a shadow forward pass (spec 3):
// a quantizer input exactly on a threshold, saturation at both rails, an argmax tie and a
// firing grid-border cell; each must occur at least once per run. A case beyond the core's
// INFO caps (a build with lower caps) passes only when LOAD refuses it naming a violated cap.
//
// Dataset mode (--model FILE --data-images IDX3 --data-labels IDX1): a model file (e.g. the
// shipped models/mnist.xnca) on real test pictures, picture i of the split as image_index i
// with the CLI's seed 0, checked the same way after every step; --mutate-at T puts in the
// spec 4.5 picture. --progress FILE appends one line per finished digit and skips the digits
// it already lists (resumable runs: make cosim-full).
//
// Exit: 0 all passed; 1 usage or missing data; 3 a mismatch (the first differing image/step/x/y/channel is
// printed) or a corner case not reached.
// Plusargs: +inject_fault=step,x,y,ch flips state bit 0 of that cell/channel inside the RTL
// (builds with FAULT_INJECT=1). --waves FILE writes an FST (builds with --trace-fst).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "Vxnca_core.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_fst_c.h"
#endif

extern "C" {
#include "xnca_model.h"
}

namespace {

// ------------------------------------------------------------------ the DUT driver
struct Dut {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vxnca_core> top;
#if VM_TRACE
    std::unique_ptr<VerilatedFstC> tfp;
#endif
    uint64_t cycle = 0;
    std::deque<uint8_t> in;      // bytes waiting for i_in
    std::vector<uint8_t> out;    // bytes of the record being received
    bool record_done = false;
    uint64_t step_pulses = 0;
    uint64_t last_step_cycle = 0;
    std::vector<uint64_t> step_cycles;   // cycles of each finished step (o_step pulses)

    void eval_half()
    {
        top->eval();
#if VM_TRACE
        if (tfp) tfp->dump(ctx->time());
#endif
        ctx->timeInc(1);
    }

    // one clock: drive inputs, sample handshakes before the edge, apply them after
    void tick()
    {
        top->i_in_valid = !in.empty();
        top->i_in_data = in.empty() ? 0 : in.front();
        top->i_out_ready = 1;
        top->clk = 0;
        eval_half();
        bool in_take = top->i_in_valid && top->o_in_ready;
        bool out_take = top->o_out_valid && top->i_out_ready;
        uint8_t out_byte = top->o_out_data;
        bool out_last = top->o_out_last;
        bool step_pulse = top->o_step_done;
        top->clk = 1;
        eval_half();
        cycle++;
        if (in_take) in.pop_front();
        if (out_take) {
            out.push_back(out_byte);
            if (out_last) record_done = true;
        }
        if (step_pulse) {
            step_cycles.push_back(cycle - last_step_cycle);
            last_step_cycle = cycle;
            step_pulses++;
        }
    }

    // issue a command and wait for its record; returns the record bytes
    std::vector<uint8_t> command(int op, int steps, uint32_t seed, uint32_t image, uint64_t limit = 400000000ULL)
    {
        top->i_cmd_valid = 1;
        top->i_cmd_op = op;
        top->i_cmd_steps = steps;
        top->i_cmd_seed = seed;
        top->i_cmd_image = image;
        uint64_t start = cycle;
        for (;;) {
            top->clk = 0;
            top->eval();
            bool accepted = top->o_cmd_ready;
            tick();
            if (accepted) break;
            if (cycle - start > 1000) fail_timeout("command not accepted");
        }
        top->i_cmd_valid = 0;
        last_step_cycle = cycle;
        out.clear();
        record_done = false;
        while (!record_done) {
            tick();
            if (cycle - start > limit) fail_timeout("no record");
        }
        return out;
    }

    [[noreturn]] void fail_timeout(const char *what)
    {
        std::printf("cosim: timeout at cycle %llu: %s\n", (unsigned long long)cycle, what);
        std::exit(XNCA_EXIT_MISMATCH);
    }
};

uint32_t rd16(const std::vector<uint8_t> &b, size_t o) { return b[o] | (b[o + 1] << 8); }
uint32_t rd32(const std::vector<uint8_t> &b, size_t o) { return rd16(b, o) | (rd16(b, o + 2) << 16); }

struct Info {
    int w, h, c, max_wbits, max_abits, max_p, max_m, units, syn, batch;
    uint32_t max_weight_bytes, build_id;
};

// ------------------------------------------------------------------ corner-case counters
struct Corners {
    long threshold = 0, sat_hi = 0, sat_lo = 0, tie = 0, border = 0;
};

int64_t floor_shift(int64_t v, int s) { return v >= 0 ? v >> s : ~((~v) >> s); }
int qlevel(const xnca_qparam &q, int64_t y, int k)
{
    int64_t v = floor_shift(y * q.mul + q.add, q.shift), top = (1 << k) - 1;
    return (int)(v < 0 ? 0 : v > top ? top : v);
}

// Shadow forward pass of one firing cell on the previous state `qs` (spec 3): counts exact
// threshold hits in perception/hidden quantizers and saturation of the residual update.
void shadow_cell(const xnca_model *m, const int8_t *qs, int W, int H, int x, int y, uint32_t seed,
                 uint32_t image, uint32_t step, Corners &cc)
{
    int C = m->channels, k = m->act_bits, amax = (1 << k) - 1;
    std::vector<int64_t> act(9 * C), next;
    for (int pos = 0; pos < 9; pos++) {
        int nx = x + pos % 3 - 1, ny = y + pos / 3 - 1;
        for (int c = 0; c < C; c++) {
            int v = 0;
            if (nx >= 0 && nx < W && ny >= 0 && ny < H) v = qs[((size_t)ny * W + nx) * C + c];
            act[pos * C + c] = 2 * qlevel(m->inq[c], v, k) - amax;
        }
    }
    for (int l = 0; l < m->n_layers; l++) {
        const xnca_layer &L = m->layer[l];
        bool last = l == m->n_layers - 1;
        next.assign(L.n_out, 0);
        for (int o = 0; o < L.n_out; o++) {
            int64_t sum = 0;
            for (int n = 0; n < L.n_in; n++) sum += (int64_t)xnca_weight(m, l, o, n) * act[n];
            const xnca_qparam &q = L.q[o];
            if (!last) {
                int lv = qlevel(q, sum, k);
                if (q.mul != 0 && lv != qlevel(q, sum - (q.mul > 0 ? 1 : -1), k)) cc.threshold++;
                next[o] = 2 * lv - amax;
            } else {
                int64_t ds = floor_shift(sum * q.mul + q.add, q.shift);
                int j = o;
                uint32_t r = (xnca_hash(seed, image, step, x, y, 1 + j / 4) >> (8 * (j % 4))) & 0xff;
                int nz = r < (uint32_t)m->noise_p ? -1 : (r >= 256u - m->noise_p ? 1 : 0);
                int64_t s = qs[((size_t)y * W + x) * C + j + 1];
                int64_t v = s + ds + nz, hi = (1 << (m->state_bits - 1)) - 1, lo = -(1 << (m->state_bits - 1));
                if (v > hi) cc.sat_hi++;
                if (v < lo) cc.sat_lo++;
            }
        }
        act = next;
    }
}

// ------------------------------------------------------------------ cases
struct CaseSpec {
    int wbits = 1, abits = 1, layers = 1, p = 80, mw = 80, sbits = 8, ibits = 1;
    bool hot = false;  // /H: residuals x8 and noise_p 60 (reaches saturation quickly)
};

bool parse_case(const char *s, CaseSpec &cs)
{
    // "W<m>A<k>[/L<l>][/P<p>][/M<m>][/S<s>][/B<b>]"
    if (std::sscanf(s, "W%dA%d", &cs.wbits, &cs.abits) != 2) return false;
    for (const char *p = std::strchr(s, '/'); p; p = std::strchr(p + 1, '/')) {
        int v;
        if (std::sscanf(p + 1, "L%d", &v) == 1) cs.layers = v;
        else if (std::sscanf(p + 1, "P%d", &v) == 1) cs.p = v;
        else if (std::sscanf(p + 1, "M%d", &v) == 1) cs.mw = v;
        else if (std::sscanf(p + 1, "S%d", &v) == 1) cs.sbits = v;
        else if (std::sscanf(p + 1, "B%d", &v) == 1) cs.ibits = v;
        else if (p[1] == 'H') cs.hot = true;
        else return false;
    }
    if (cs.layers == 0) cs.mw = 0;
    return true;
}

struct Options {
    std::vector<CaseSpec> cases;
    int images = 2, steps = 8, mutate_at = -1;
    uint32_t seed = 1;
    bool seed_set = false;
    bool fire_all = false, full_grid = false, require_corners = true, timed = true;
    int fault_step = -1, fault_x = 0, fault_y = 0, fault_ch = 1;
    const char *waves = nullptr;
    // dataset mode (--model): a model file on test-set pictures instead of random cases
    const char *model_path = nullptr, *data_images = nullptr, *data_labels = nullptr;
    const char *progress = nullptr;  // per-digit result lines, appended; digits already there are skipped
    int first = 0;                   // first picture index of the split
};

// random pixels: a few blobs of ink (alive >= 26) plus scattered pixels, touching the border
void make_image(std::vector<uint8_t> &px, int W, int H, uint32_t seed, bool full)
{
    uint32_t s = seed * 2654435761u + 12345u;
    auto rnd = [&s]() { s ^= s << 13; s ^= s >> 17; s ^= s << 5; return s; };
    px.assign((size_t)W * H, 0);
    if (full) {
        for (auto &p : px) p = 200 + rnd() % 56;
        return;
    }
    int blobs = 2 + rnd() % 3;
    for (int bI = 0; bI < blobs; bI++) {
        int cx = rnd() % W, cy = rnd() % H, r = 2 + rnd() % 4;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) px[(size_t)y * W + x] = 26 + rnd() % 230;
    }
    for (int i = 0; i < W * H / 12; i++) px[rnd() % (W * H)] = rnd() % 256;
}

struct Stats {
    uint64_t updates = 0, useful_ops = 0, image_cycles = 0, images = 0;
    // fit cycles(step) = a * firing + b
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    long n = 0;
    int fmax = 0;
    int rejected = -1;  // LOAD status when a case beyond the core's caps was (correctly) refused

    void fit(double &a, double &b) const
    {
        a = b = 0;
        if (n > 1) {
            double den = n * sxx - sx * sx;
            a = den != 0 ? (n * sxy - sx * sy) / den : 0;
            b = (sy - a * sx) / n;
        }
    }
};

// One picture through the checked pass.
struct ImageRun {
    int pred = 0, agree = 0, alive = 0, engine_pred = 0, steps = 0;
    uint64_t step_cycles = 0;    // sum of the steps' o_step_done intervals
    uint64_t intake_cycles = 0;  // INIT(0) and MUTATE(0) records: pixel intake + one readout each
};

// Push a model into the core: LOAD with the file's descriptor and payload. Returns the LOAD record.
std::vector<uint8_t> load_model(Dut &d, const xnca_model &m, uint32_t *payload_out)
{
    uint8_t *file = nullptr;
    size_t flen = xnca_model_serialize(&m, &file);
    if (!flen) return {};
    uint32_t payload = file[32] | file[33] << 8 | file[34] << 16 | (uint32_t)file[35] << 24;
    for (int i = 8; i < 24; i++) d.in.push_back(file[i]);
    for (int i = 32; i < 36; i++) d.in.push_back(file[i]);
    for (uint32_t i = 0; i < payload; i++) d.in.push_back(file[48 + i]);
    free(file);
    *payload_out = payload;
    return d.command(1, 0, 0, 0);
}

uint64_t record_cycles(const std::vector<uint8_t> &rec) { return rec.size() == 40 ? rd32(rec, 28) - rd32(rec, 32) : 0; }

// The checked pass of one picture: INIT (0 steps), then opt.steps x RUN(1) with a STATE read
// after every step compared bit for bit (every channel of every cell) with xnca_step, and the
// RESULT record compared with xnca_votes. px2 (may be null): the picture MUTATE puts in before
// step opt.mutate_at. `label` names the picture in messages (the image loop index, or the
// digit's index in its split). cc: corner counters (null: no shadow pass).
int check_image(Dut &d, const xnca_model &m, const Info &info, const Options &opt, uint32_t image, int label,
                const uint8_t *px, const uint8_t *px2, Corners *cc, Stats &st, ImageRun &ir)
{
    const int W = info.w, H = info.h, C = info.c;
    xnca_step_opts so = {XNCA_ORDER_RASTER, 0};
    xnca_grid g;
    if (xnca_grid_init(&m, &g, W, H, px) != 0) {
        std::printf("cosim: grid init failed\n");
        return XNCA_EXIT_USAGE;
    }
    int rc = 0;
    for (int i = 0; i < W * H; i++) d.in.push_back(px[i]);
    std::vector<uint8_t> rec = d.command(2, 0, opt.seed, image);
    ir.intake_cycles += record_cycles(rec);
    std::vector<int8_t> prev((size_t)W * H * C);
    for (int t = 0; t <= opt.steps && rc == 0; t++) {
        if (t > 0) {
            bool mut = px2 && t - 1 == opt.mutate_at;
            uint32_t step = (uint32_t)(t - 1);
            if (mut) {
                xnca_grid_mutate(&m, &g, px2);
                for (int i = 0; i < W * H; i++) d.in.push_back(px2[i]);
                rec = d.command(4, 0, opt.seed, image);
                ir.intake_cycles += record_cycles(rec);
            }
            std::memcpy(prev.data(), g.qs, prev.size());
            int firing = 0;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    if (!g.alive[y * W + x]) continue;
                    if (m.fire_t < 256 && (int)(xnca_hash(opt.seed, image, step, x, y, 0) & 0xff) >= m.fire_t) continue;
                    firing++;
                    if (!cc) continue;
                    if (x == 0 || y == 0 || x == W - 1 || y == H - 1) cc->border++;
                    shadow_cell(&m, prev.data(), W, H, x, y, opt.seed, image, step, *cc);
                }
            xnca_step(&m, &g, opt.seed, image, step, &so);
            d.step_cycles.clear();
            rec = d.command(3, 1, opt.seed, image);
            st.updates += firing;
            ir.steps++;
            if (!d.step_cycles.empty()) {
                double cy = (double)d.step_cycles[0];
                ir.step_cycles += d.step_cycles[0];
                st.sx += firing; st.sy += cy; st.sxx += (double)firing * firing; st.sxy += firing * cy; st.n++;
                if (firing > st.fmax) st.fmax = firing;
            }
        }
        if (cc)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    if (!g.alive[y * W + x]) continue;
                    const int8_t *s = g.qs + ((size_t)y * W + x) * C;
                    int best = s[C - 10], n_best = 1;
                    for (int c = C - 9; c < C; c++) {
                        if (s[c] > best) { best = s[c]; n_best = 1; }
                        else if (s[c] == best) n_best++;
                    }
                    if (n_best > 1 && best != 0) cc->tie++;  // not the all-zero start
                }
        // STATE vs the engine grid, every channel of every cell
        std::vector<uint8_t> strec = d.command(5, 0, 0, 0);
        if (strec.size() != 1 + (size_t)W * H * C || strec[0] != 'S') {
            std::printf("cosim: MISMATCH image %d step %d: STATE record of %zu bytes\n", label, t, strec.size());
            rc = XNCA_EXIT_MISMATCH;
            break;
        }
        for (int i = 0; i < W * H * C; i++) {
            int hw = (int8_t)strec[1 + i], sw = g.qs[i];
            if (i % C == 0) hw = strec[1 + i];
            if (hw != sw) {
                int cellI = i / C;
                std::printf("cosim: MISMATCH image %d step %d x %d y %d channel %d: rtl %d engine %d%s\n", label,
                            t - 1, cellI % W, cellI / W, i % C, hw, sw, t == 0 ? " (after INIT)" : "");
                rc = XNCA_EXIT_MISMATCH;
                break;
            }
        }
        if (rc) break;
        // RESULT vs xnca_votes
        int votes[10], agree = 0, alive = 0;
        int pred = xnca_votes(&m, &g, votes, &agree, &alive);
        bool ok = rec.size() == 40 && rec[0] == 'R' && rec[1] == 0 && (int)rd16(rec, 2) == t &&
                  (int)rd16(rec, 4) == alive && rec[6] == pred && rec[7] == agree;
        for (int v = 0; v < 10 && ok; v++) ok = (int)rd16(rec, 8 + 2 * v) == votes[v];
        if (!ok) {
            std::printf("cosim: MISMATCH image %d step %d: RESULT record (alive %u pred %u agree %u step %u) "
                        "!= engine (alive %d pred %d agree %d)\n",
                        label, t, rec.size() >= 6 ? rd16(rec, 4) : 0, rec.size() > 6 ? rec[6] : 0,
                        rec.size() > 7 ? rec[7] : 0, rec.size() >= 4 ? rd16(rec, 2) : 0, alive, pred, agree);
            rc = XNCA_EXIT_MISMATCH;
            break;
        }
        ir.pred = rec[6];
        ir.agree = rec[7];
        ir.alive = rd16(rec, 4);
        ir.engine_pred = pred;
    }
    xnca_grid_free(&g);
    return rc;
}

// The timed pass: the whole picture in one command (INIT with S steps [+ MUTATE]); its cycles.
uint64_t timed_image(Dut &d, const Info &info, const Options &opt, uint32_t image, const uint8_t *px,
                     const uint8_t *px2)
{
    const int n = info.w * info.h;
    for (int i = 0; i < n; i++) d.in.push_back(px[i]);
    int first = px2 && opt.mutate_at >= 0 && opt.mutate_at < opt.steps ? opt.mutate_at : opt.steps;
    uint64_t cyc = record_cycles(d.command(2, first, opt.seed, image));
    if (first < opt.steps) {
        for (int i = 0; i < n; i++) d.in.push_back(px2[i]);
        cyc += record_cycles(d.command(4, opt.steps - first, opt.seed, image));
    }
    return cyc;
}

// A case beyond the core's INFO caps must be refused by LOAD with one of these statuses.
std::vector<int> cap_violations(const Info &info, const CaseSpec &cs)
{
    std::vector<int> st;
    if (cs.layers > 2) st.push_back(4);
    if (cs.p > info.max_p) st.push_back(5);
    if (cs.mw > info.max_m) st.push_back(6);
    if (cs.wbits > info.max_wbits) st.push_back(7);
    if (cs.abits > info.max_abits) st.push_back(8);
    return st;
}

int run_case(Dut &d, const Info &info, const CaseSpec &cs, const Options &opt, int case_no, Corners &cc,
             Stats &st)
{
    char err[256];
    xnca_model m;
    std::memset(&m, 0, sizeof(m));
    m.variant = XNCA_QUANT;
    m.grid_w = info.w;
    m.grid_h = info.h;
    m.channels = info.c;
    m.hidden_channels = info.c - 11;
    m.classes = 10;
    m.hidden_layers = cs.layers;
    m.perception_width = cs.p;
    m.mlp_width = cs.mw;
    m.weight_bits = cs.wbits;
    m.act_bits = cs.abits;
    m.state_bits = cs.sbits;
    m.input_bits = cs.ibits;
    m.fire_t = 128;
    if (xnca_model_alloc(&m, err, sizeof err) != 0 || xnca_model_random(&m, opt.seed + 7919u * case_no, err, sizeof err) != 0) {
        std::printf("cosim: case %d: model: %s\n", case_no, err);
        return XNCA_EXIT_USAGE;
    }
    if (opt.fire_all) m.fire_t = 256;
    if (cs.hot) {
        xnca_layer &out = m.layer[m.n_layers - 1];
        for (int o = 0; o < out.n_out; o++) {
            out.q[o].shift = out.q[o].shift >= 3 ? out.q[o].shift - 3 : 0;
            if (o % 2 && out.q[o].mul > -128) {  // odd channels drift down, even ones up
                out.q[o].mul = (int8_t)-out.q[o].mul;
                out.q[o].add = -out.q[o].add;
            }
        }
        m.noise_p = 60;
    }
    uint32_t payload = 0;
    std::vector<uint8_t> rec = load_model(d, m, &payload);
    if (rec.empty() && !payload) {
        std::printf("cosim: case %d: serialize failed\n", case_no);
        xnca_model_free(&m);
        return XNCA_EXIT_USAGE;
    }
    std::vector<int> beyond = cap_violations(info, cs);
    if (!beyond.empty()) {
        // the core is built with lower caps: the only right answer is a refusal naming a violated cap
        bool ok = rec.size() == 8 && rec[0] == 'L';
        bool named = false;
        for (int s : beyond) named = named || (ok && rec[1] == s);
        xnca_model_free(&m);
        if (!named) {
            std::printf("cosim: case %d: beyond the core's caps but LOAD answered status %d\n", case_no,
                        rec.size() > 1 ? rec[1] : -1);
            return XNCA_EXIT_MISMATCH;
        }
        st.rejected = rec[1];
        return 0;
    }
    if (rec.size() != 8 || rec[0] != 'L' || rec[1] != 0) {
        std::printf("cosim: case %d: LOAD answered status %d (consumed %u of %u bytes)\n", case_no,
                    rec.size() > 1 ? rec[1] : -1, rec.size() >= 8 ? rd32(rec, 4) : 0, payload);
        xnca_model_free(&m);
        return XNCA_EXIT_MISMATCH;
    }

    const int W = info.w, H = info.h;
    int rc = 0;
    for (int img = 0; img < opt.images && rc == 0; img++) {
        uint32_t image = (uint32_t)(case_no * 100 + img);
        std::vector<uint8_t> px, px2;
        make_image(px, W, H, opt.seed * 31 + image, opt.full_grid);
        make_image(px2, W, H, opt.seed * 37 + image + 999, opt.full_grid);
        ImageRun ir;
        rc = check_image(d, m, info, opt, image, img, px.data(), px2.data(), &cc, st, ir);
        if (rc == 0 && opt.timed) {
            st.image_cycles += timed_image(d, info, opt, image, px.data(), px2.data());
            st.images++;
        }
    }
    xnca_model_free(&m);
    return rc;
}

// ------------------------------------------------------------------ dataset mode
// A model file on the pictures of an IDX split. Picture i of the split runs as image_index i
// with the run's seed (the engine's and the CLI's convention, spec 4.1); a mutation before step
// T puts in picture j = H(seed, i, T, 0, 0, 0xffff) mod N_split (spec 4.5, as xnca eval).

// The progress file: a signature line, a column line, then one line per finished digit.
// Reopening it with the same signature resumes: the digits it lists are skipped.
struct Progress {
    FILE *f = nullptr;
    std::vector<char> done;  // by split index
    int n_done = 0;
};

const char *kProgressColumns =
    "# index\tlabel\tfinal_label\tsteps\tpred_rtl\tpred_engine\tagree\talive\tmismatch\tstep_cycles\timage_cycles\twall_ms";

int open_progress(const char *path, const std::string &signature, int split_n, Progress &pg)
{
    pg.done.assign(split_n, 0);
    std::string text;
    if (FILE *r = std::fopen(path, "rb")) {
        char buf[65536];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, r)) > 0) text.append(buf, n);
        std::fclose(r);
    }
    // a line cut short by a kill is dropped: keep only up to the last newline
    size_t keep = text.rfind('\n');
    keep = keep == std::string::npos ? 0 : keep + 1;
    if (keep != text.size() && truncate(path, (off_t)keep) != 0) {
        std::printf("cosim: cannot truncate the partial last line of %s\n", path);
        return XNCA_EXIT_USAGE;
    }
    text.resize(keep);
    if (!text.empty()) {
        size_t eol = text.find('\n');
        if (text.compare(0, eol, signature) != 0) {
            std::printf("cosim: %s was written for other settings:\n  has:  %s\n  want: %s\n"
                        "cosim: remove it to start over\n",
                        path, text.substr(0, eol).c_str(), signature.c_str());
            return XNCA_EXIT_USAGE;
        }
        for (size_t pos = eol + 1; pos < text.size();) {
            size_t end = text.find('\n', pos);
            std::string line = text.substr(pos, end - pos);
            pos = end + 1;
            int idx;
            if (line.empty() || line[0] == '#' || std::sscanf(line.c_str(), "%d", &idx) != 1) continue;
            if (idx >= 0 && idx < split_n && !pg.done[idx]) {
                pg.done[idx] = 1;
                pg.n_done++;
            }
        }
    }
    pg.f = std::fopen(path, "ab");
    if (!pg.f) {
        std::printf("cosim: cannot open %s for appending\n", path);
        return XNCA_EXIT_USAGE;
    }
    if (text.empty()) {
        std::fprintf(pg.f, "%s\n%s\n", signature.c_str(), kProgressColumns);
        std::fflush(pg.f);
    }
    return 0;
}

std::string hms(double s)
{
    char b[32];
    long t = (long)(s + 0.5);
    std::snprintf(b, sizeof b, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
    return b;
}

int run_dataset(Dut &d, const Info &info, const Options &opt)
{
    char err[512];
    const char *name = std::strrchr(opt.model_path, '/') ? std::strrchr(opt.model_path, '/') + 1 : opt.model_path;
    char case_name[160];
    std::snprintf(case_name, sizeof case_name, "%s on test digits %d..%d, %d steps%s", name, opt.first,
                  opt.first + opt.images - 1, opt.steps, opt.mutate_at >= 0 ? ", mutated" : "");
    auto fail = [&](int rc) {
        std::printf("cosim: case %s: FAIL\n", case_name);
        std::printf("cosim: 0 passed, 1 failed\n");
        return rc;
    };
    xnca_dataset ds;
    std::memset(&ds, 0, sizeof ds);
    if (!opt.data_images || !opt.data_labels) {
        std::printf("cosim: --model needs --data-images FILE and --data-labels FILE\n");
        return fail(XNCA_EXIT_USAGE);
    }
    if (xnca_idx_load(opt.data_images, opt.data_labels, &ds, err, sizeof err) != 0) {
        std::printf("cosim: test set not readable: %s\ncosim: install it with `make data`\n", err);
        return fail(XNCA_EXIT_USAGE);
    }
    xnca_model m;
    std::memset(&m, 0, sizeof m);
    int rc = 0;
    if (xnca_model_load(opt.model_path, &m, err, sizeof err) != 0) {
        std::printf("cosim: model: %s\n", err);
        xnca_dataset_free(&ds);
        return fail(XNCA_EXIT_USAGE);
    }
    auto done = [&](int r) {
        xnca_model_free(&m);
        xnca_dataset_free(&ds);
        return r;
    };
    if (m.variant != XNCA_QUANT || m.grid_w != info.w || m.grid_h != info.h || m.channels != info.c ||
        ds.w != info.w || ds.h != info.h) {
        std::printf("cosim: %s (%s, %dx%d, C=%d) on %dx%d pictures does not fit this core (%dx%d, C=%d)\n", name,
                    xnca_variant_name(m.variant), m.grid_w, m.grid_h, m.channels, ds.w, ds.h, info.w, info.h, info.c);
        return done(fail(XNCA_EXIT_USAGE));
    }
    if (opt.first < 0 || opt.images < 1 || opt.first + opt.images > ds.n || opt.steps < 1) {
        std::printf("cosim: digits %d..%d are not in the %d-picture split (or --steps < 1)\n", opt.first,
                    opt.first + opt.images - 1, ds.n);
        return done(fail(XNCA_EXIT_USAGE));
    }
    uint32_t payload = 0;
    std::vector<uint8_t> rec = load_model(d, m, &payload);
    if (rec.size() != 8 || rec[0] != 'L' || rec[1] != 0) {
        std::printf("cosim: %s: LOAD answered status %d (W%dA%d P%d M%d; core caps m<=%d k<=%d P<=%d M<=%d)\n", name,
                    rec.size() > 1 ? rec[1] : -1, m.weight_bits, m.act_bits, m.perception_width, m.mlp_width,
                    info.max_wbits, info.max_abits, info.max_p, info.max_m);
        return done(fail(XNCA_EXIT_MISMATCH));
    }

    Progress pg;
    if (opt.progress) {
        uint8_t *file = nullptr;
        size_t flen = xnca_model_serialize(&m, &file);
        uint32_t crc = xnca_crc32(0, file, flen);
        free(file);
        char sig[512];
        std::snprintf(sig, sizeof sig,
                      "# xnca cosim: model %s crc32 %08x, seed %u, %d steps, mutate_at %d, core %dx%d C=%d units=%d "
                      "syn_bits=%d batch=%d",
                      name, crc, opt.seed, opt.steps, opt.mutate_at, info.w, info.h, info.c, info.units, info.syn,
                      info.batch);
        rc = open_progress(opt.progress, sig, ds.n, pg);
        if (rc) return done(fail(rc));
    } else {
        pg.done.assign(ds.n, 0);
    }

    int total = opt.images, already = 0;
    for (int i = opt.first; i < opt.first + opt.images; i++) already += pg.done[i];
    if (already)
        std::printf("cosim: resuming: %d of %d digits already in %s, skipped\n", already, total, opt.progress);
    Stats st;
    int run = 0, mismatches = 0, correct = 0;
    uint64_t step_cycles = 0, image_cycles = 0;
    long steps = 0;
    double timed_cycles = -1;
    int timed_digit = -1;
    const size_t px_n = (size_t)ds.w * ds.h;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = opt.first; i < opt.first + opt.images; i++) {
        if (pg.done[i]) continue;
        auto ti = std::chrono::steady_clock::now();
        const uint8_t *px = ds.images + px_n * i, *px2 = nullptr;
        int final_label = ds.labels[i];
        if (opt.mutate_at >= 0 && opt.mutate_at < opt.steps) {
            uint32_t j = xnca_hash(opt.seed, (uint32_t)i, (uint32_t)opt.mutate_at, 0, 0, 0xffff) % (uint32_t)ds.n;
            px2 = ds.images + px_n * j;
            final_label = ds.labels[j];
        }
        ImageRun ir;
        int r = check_image(d, m, info, opt, (uint32_t)i, i, px, px2, nullptr, st, ir);
        if (r != 0 && r != XNCA_EXIT_MISMATCH) return done(fail(r));
        bool mismatch = r != 0;
        if (!mismatch && opt.timed && timed_digit < 0) {
            timed_cycles = (double)timed_image(d, info, opt, (uint32_t)i, px, px2);
            timed_digit = i;
        }
        uint64_t img_cyc = ir.step_cycles + ir.intake_cycles;
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ti).count();
        run++;
        mismatches += mismatch;
        if (!mismatch) {
            correct += ir.pred == final_label;
            step_cycles += ir.step_cycles;
            steps += ir.steps;
            image_cycles += img_cyc;
        }
        if (pg.f) {
            std::fprintf(pg.f, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%llu\t%llu\t%.0f\n", i, ds.labels[i], final_label,
                         ir.steps, ir.pred, ir.engine_pred, ir.agree, ir.alive, mismatch ? 1 : 0,
                         (unsigned long long)ir.step_cycles, (unsigned long long)img_cyc, ms);
            std::fflush(pg.f);
        }
        double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        int left = total - already - run;
        std::printf("cosim: digit %d label %d%s: %s pred %d agree %d alive %d; %d steps, %.0f cycles/step, %llu "
                    "cycles/image; %.1f s; %d/%d digits, %.3f digits/s, ETA %s\n",
                    i, ds.labels[i], px2 ? (" -> " + std::to_string(final_label)).c_str() : "",
                    mismatch ? "MISMATCHED," : "bit-exact,", ir.pred, ir.agree, ir.alive, ir.steps,
                    ir.steps ? (double)ir.step_cycles / ir.steps : 0.0, (unsigned long long)img_cyc, ms / 1000,
                    already + run, total, run / el, hms(left * el / run).c_str());
        if (mismatch && !pg.f) break;  // without a progress file the first mismatch ends the case
    }
    if (pg.f) std::fclose(pg.f);
    int ok = run - mismatches;
    if (mismatches == 0 && run == 0) {
        std::printf("cosim: case %s: PASS  nothing left to run (%d digits already in %s)\n", case_name, already,
                    opt.progress);
        std::printf("cosim: 1 passed, 0 failed\n");
        return done(0);
    }
    if (mismatches == 0) {
        double a, b;
        st.fit(a, b);
        // array utilization over whole images (intake included), as for the random cases:
        // useful binary synapse ops (m x k per synapse of every cell update) / (units x syn_bits x cycles)
        double syn = 0;
        for (int l = 0; l < m.n_layers; l++) syn += (double)m.layer[l].n_in * m.layer[l].n_out;
        double useful = (double)st.updates * syn * m.weight_bits * m.act_bits;
        double util = image_cycles ? useful / ((double)info.units * info.syn * image_cycles) : 0;
        std::printf("cosim: case %s: PASS  %d digits bit-exact (%d skipped), %llu cell updates; cycles/step = %.0f "
                    "mean (%.1f x firing + %.1f); cycles/image = %.0f mean (%d steps, per-step intervals + "
                    "intake)%s; image accuracy at step %d %d/%d; utilization %.1f%%\n",
                    case_name, ok, already, (unsigned long long)st.updates, steps ? (double)step_cycles / steps : 0.0,
                    a, b, ok ? (double)image_cycles / ok : 0.0, opt.steps,
                    timed_digit >= 0 ? (", " + std::to_string((long long)timed_cycles) + " in one command (digit " +
                                        std::to_string(timed_digit) + ")").c_str()
                                     : "",
                    opt.steps, correct, ok, 100.0 * util);
        std::printf("cosim: 1 passed, 0 failed\n");
        return done(0);
    }
    std::printf("cosim: %d of %d digits mismatched\n", mismatches, run);
    return done(fail(XNCA_EXIT_MISMATCH));
}

}  // namespace

int main(int argc, char **argv)
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    // the plain C kernels are the reference (the SIMD paths are the engine's own business)
    xnca_cpu_force(XNCA_CPU_SCALAR);
    Options opt;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto need = [&](void) -> const char * {
            if (i + 1 >= argc) { std::fprintf(stderr, "cosim: %s needs a value\n", a.c_str()); std::exit(1); }
            return argv[++i];
        };
        if (a == "--case") {
            CaseSpec cs;
            const char *v = need();
            if (!parse_case(v, cs)) { std::fprintf(stderr, "cosim: bad case '%s'\n", v); return 1; }
            opt.cases.push_back(cs);
        } else if (a == "--images") opt.images = std::atoi(need());
        else if (a == "--steps") opt.steps = std::atoi(need());
        else if (a == "--mutate-at") opt.mutate_at = std::atoi(need());
        else if (a == "--seed") { opt.seed = (uint32_t)std::strtoul(need(), nullptr, 0); opt.seed_set = true; }
        else if (a == "--fire-all") opt.fire_all = true;
        else if (a == "--full-grid") opt.full_grid = true;
        else if (a == "--no-corners") opt.require_corners = false;
        else if (a == "--no-timed") opt.timed = false;
        else if (a == "--model") opt.model_path = need();
        else if (a == "--data-images") opt.data_images = need();
        else if (a == "--data-labels") opt.data_labels = need();
        else if (a == "--first") opt.first = std::atoi(need());
        else if (a == "--progress") opt.progress = need();
        else if (a == "--waves") opt.waves = need();
        else if (a.rfind("+inject_fault=", 0) == 0) {
            if (std::sscanf(a.c_str() + 14, "%d,%d,%d,%d", &opt.fault_step, &opt.fault_x, &opt.fault_y, &opt.fault_ch) != 4) {
                std::fprintf(stderr, "cosim: +inject_fault=step,x,y,ch\n");
                return 1;
            }
        } else if (a[0] == '+') {
            // other plusargs are Verilator's
        } else {
            std::fprintf(stderr,
                         "usage: %s [--case W<m>A<k>[/L<l>][/P<p>][/M<m>][/S<s>][/B<b>][/H]]... [--images N]\n"
                         "          [--steps S] [--mutate-at T] [--seed N] [--fire-all] [--full-grid] [--no-corners]\n"
                         "          [--no-timed] [--waves FILE.fst] [+inject_fault=step,x,y,ch]\n"
                         "       %s --model FILE.xnca --data-images IDX3 --data-labels IDX1 [--first I]\n"
                         "          [--images N] [--steps S] [--mutate-at T] [--seed N] [--progress FILE.tsv]\n"
                         "          [--no-timed]\n"
                         "Random cases: a random quant model per --case on random pictures. A case beyond the\n"
                         "core's caps passes when LOAD refuses it with the status of a violated cap.\n"
                         "--model: that model on pictures I..I+N-1 of the IDX split (image_index = split index,\n"
                         "seed default 0 as the CLI; a mutation puts in picture H(seed,i,T,0,0,0xffff) mod N_split,\n"
                         "spec 4.5); every channel of every cell compared after every step. --progress appends a\n"
                         "line per digit and skips the digits already listed (resumable); mismatches are recorded\n"
                         "and the run goes on. --no-timed: no single-command timing pass.\n"
                         "exit: 0 pass, 1 usage/missing data, 3 mismatch or corner case not reached\n",
                         argv[0], argv[0]);
            return 1;
        }
    }
    if (opt.model_path && !opt.seed_set) opt.seed = 0;  // the CLI's default seed
    if (opt.cases.empty()) {
        CaseSpec a, b;
        b.wbits = b.abits = 2;
        opt.cases.push_back(a);
        opt.cases.push_back(b);
    }

    Dut d;
    d.ctx = std::make_unique<VerilatedContext>();
    d.ctx->commandArgs(argc, argv);
    d.top = std::make_unique<Vxnca_core>(d.ctx.get());
    if (opt.waves) {
#if VM_TRACE
        d.ctx->traceEverOn(true);
        d.tfp = std::make_unique<VerilatedFstC>();
        d.top->trace(d.tfp.get(), 99);
        d.tfp->open(opt.waves);
#else
        std::fprintf(stderr, "cosim: --waves needs a build with tracing (make sim WAVES=1)\n");
        return 1;
#endif
    }
    d.top->i_fault_en = opt.fault_step >= 0;
    d.top->i_fault_step = opt.fault_step < 0 ? 0 : opt.fault_step;
    d.top->i_fault_x = opt.fault_x;
    d.top->i_fault_y = opt.fault_y;
    d.top->i_fault_ch = opt.fault_ch;
    d.top->rst = 1;
    for (int i = 0; i < 4; i++) d.tick();
    d.top->rst = 0;
    d.tick();

    std::vector<uint8_t> ir = d.command(0, 0, 0, 0);
    if (ir.size() != 32 || ir[0] != 'I') {
        std::printf("cosim: bad INFO record\n");
        return XNCA_EXIT_MISMATCH;
    }
    Info info{ir[2], ir[3], ir[4], ir[5], ir[6], (int)rd16(ir, 8), (int)rd16(ir, 10), (int)rd16(ir, 16),
              (int)rd16(ir, 18), (int)rd16(ir, 20), rd32(ir, 12), rd32(ir, 24)};
    std::printf("cosim: core %dx%d C=%d units=%d syn_bits=%d batch=%d caps m<=%d k<=%d P<=%d M<=%d "
                "weight_bytes<=%u build_id=%08x\n",
                info.w, info.h, info.c, info.units, info.syn, info.batch, info.max_wbits, info.max_abits, info.max_p,
                info.max_m, info.max_weight_bytes, info.build_id);

    if (opt.model_path) {
        int r = run_dataset(d, info, opt);
        d.top->final();
#if VM_TRACE
        if (d.tfp) d.tfp->close();
#endif
        return r;
    }

    Corners cc;
    int passed = 0, failed = 0, rc = 0;
    for (size_t ci = 0; ci < opt.cases.size(); ci++) {
        const CaseSpec &cs = opt.cases[ci];
        Stats st;
        int r = run_case(d, info, cs, opt, (int)ci, cc, st);
        char name[96];
        std::snprintf(name, sizeof name, "W%dA%d/L%d/P%d/M%d/S%d/B%d%s", cs.wbits, cs.abits, cs.layers, cs.p, cs.mw,
                      cs.sbits, cs.ibits, cs.hot ? "/H" : "");
        if (r == 0 && st.rejected >= 0) {
            passed++;
            std::printf("cosim: case %s: PASS  beyond the core's caps (m<=%d k<=%d P<=%d M<=%d): LOAD refused it "
                        "with status %d, as required\n",
                        name, info.max_wbits, info.max_abits, info.max_p, info.max_m, st.rejected);
        } else if (r == 0) {
            passed++;
            // efficiency: useful binary synapse ops / (units * syn_bits * cycles), whole images
            long syn = 9L * info.c * cs.p;
            if (cs.layers >= 1) syn += (long)cs.p * cs.mw;
            if (cs.layers >= 2) syn += (long)cs.mw * cs.mw;
            syn += (long)(cs.layers ? cs.mw : cs.p) * (info.c - 1);
            double useful = (double)st.updates * syn * cs.wbits * cs.abits;  // the timed pass runs the same steps
            double a, b;
            st.fit(a, b);
            double img_cyc = st.images ? (double)st.image_cycles / st.images : 0;
            double util = st.image_cycles ? useful / ((double)info.units * info.syn * st.image_cycles) : 0;
            std::printf("cosim: case %s: PASS  %llu cell updates; cycles/step = %.1f x firing + %.1f; "
                        "cycles/image = %.0f (%d steps); dense sweep would be %.0f cycles/step; utilization %.1f%%\n",
                        name, (unsigned long long)st.updates, a, b, img_cyc, opt.steps, a * info.w * info.h + b,
                        100.0 * util);
        } else {
            failed++;
            std::printf("cosim: case %s: FAIL\n", name);
            rc = r;
            break;
        }
    }
    if (rc == 0 && opt.require_corners) {
        std::printf("cosim: corner cases: threshold hits %ld, saturation high %ld low %ld, argmax ties %ld, "
                    "border cells %ld\n", cc.threshold, cc.sat_hi, cc.sat_lo, cc.tie, cc.border);
        if (!cc.threshold || !cc.sat_hi || !cc.sat_lo || !cc.tie || !cc.border) {
            std::printf("cosim: a required corner case was not reached\n");
            failed++;
            rc = XNCA_EXIT_MISMATCH;
        }
    }
    std::printf("cosim: %d passed, %d failed\n", passed, failed);
    d.top->final();
#if VM_TRACE
    if (d.tfp) d.tfp->close();
#endif
    return rc;
}
