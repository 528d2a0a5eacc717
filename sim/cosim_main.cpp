// cosim_main.cpp - Verilator co-simulation of rtl/xnca_core.v against the C reference engine.
//
// Each case builds a random quant model (xnca_model_random) of the given precision, loads it
// through the core's LOAD stream, and for every image: INIT (0 steps), then S x RUN(1) with a
// STATE read after every step, compared bit for bit (every channel of every cell) with
// xnca_step; optionally a MUTATE at step T. RESULT records (votes, agreement, alive, step) are
// checked against xnca_votes. A timed pass (INIT(S) in one command) measures cycles.
// The corner cases the suite must reach are counted from a shadow forward pass (spec 3):
// a quantizer input exactly on a threshold, saturation at both rails, an argmax tie and a
// firing grid-border cell; each must occur at least once per run.
//
// Exit: 0 all passed; 1 usage; 3 a mismatch (the first differing image/step/x/y/channel is
// printed) or a corner case not reached.
// Plusargs: +inject_fault=step,x,y,ch flips state bit 0 of that cell/channel inside the RTL
// (builds with FAULT_INJECT=1). --waves FILE writes an FST (builds with --trace-fst).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

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
    bool fire_all = false, full_grid = false, require_corners = true, timed = true;
    int fault_step = -1, fault_x = 0, fault_y = 0, fault_ch = 1;
    const char *waves = nullptr;
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
};

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
    uint8_t *file = nullptr;
    size_t flen = xnca_model_serialize(&m, &file);
    if (!flen) {
        std::printf("cosim: case %d: serialize failed\n", case_no);
        return XNCA_EXIT_USAGE;
    }
    uint32_t payload = file[32] | file[33] << 8 | file[34] << 16 | (uint32_t)file[35] << 24;
    for (int i = 8; i < 24; i++) d.in.push_back(file[i]);
    for (int i = 32; i < 36; i++) d.in.push_back(file[i]);
    for (uint32_t i = 0; i < payload; i++) d.in.push_back(file[48 + i]);
    free(file);
    std::vector<uint8_t> rec = d.command(1, 0, 0, 0);
    if (rec.size() != 8 || rec[0] != 'L' || rec[1] != 0) {
        std::printf("cosim: case %d: LOAD answered status %d (consumed %u of %u bytes)\n", case_no,
                    rec.size() > 1 ? rec[1] : -1, rec.size() >= 8 ? rd32(rec, 4) : 0, payload);
        xnca_model_free(&m);
        return XNCA_EXIT_MISMATCH;
    }

    const int W = info.w, H = info.h, C = info.c;
    xnca_step_opts so = {XNCA_ORDER_RASTER, 0};
    int rc = 0;
    for (int img = 0; img < opt.images && rc == 0; img++) {
        uint32_t image = (uint32_t)(case_no * 100 + img);
        std::vector<uint8_t> px, px2;
        make_image(px, W, H, opt.seed * 31 + image, opt.full_grid);
        make_image(px2, W, H, opt.seed * 37 + image + 999, opt.full_grid);
        xnca_grid g;
        if (xnca_grid_init(&m, &g, W, H, px.data()) != 0) {
            std::printf("cosim: grid init failed\n");
            rc = XNCA_EXIT_USAGE;
            break;
        }
        // ---- checked pass: one RUN(1) per step, STATE after each
        for (uint8_t p : px) d.in.push_back(p);
        rec = d.command(2, 0, opt.seed, image);
        std::vector<int8_t> prev((size_t)W * H * C);
        for (int t = 0; t <= opt.steps && rc == 0; t++) {
            if (t > 0) {
                bool mut = t - 1 == opt.mutate_at;
                uint32_t step = (uint32_t)(t - 1);
                if (mut) {
                    xnca_grid_mutate(&m, &g, px2.data());
                    for (uint8_t p : px2) d.in.push_back(p);
                    rec = d.command(4, 0, opt.seed, image);
                }
                std::memcpy(prev.data(), g.qs, prev.size());
                int firing = 0;
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        if (!g.alive[y * W + x]) continue;
                        if (m.fire_t < 256 && (int)(xnca_hash(opt.seed, image, step, x, y, 0) & 0xff) >= m.fire_t) continue;
                        firing++;
                        if (x == 0 || y == 0 || x == W - 1 || y == H - 1) cc.border++;
                        shadow_cell(&m, prev.data(), W, H, x, y, opt.seed, image, step, cc);
                    }
                xnca_step(&m, &g, opt.seed, image, step, &so);
                d.step_cycles.clear();
                rec = d.command(3, 1, opt.seed, image);
                st.updates += firing;
                if (!d.step_cycles.empty()) {
                    double cy = (double)d.step_cycles[0];
                    st.sx += firing; st.sy += cy; st.sxx += (double)firing * firing; st.sxy += firing * cy; st.n++;
                    if (firing > st.fmax) st.fmax = firing;
                }
            }
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    if (!g.alive[y * W + x]) continue;
                    const int8_t *s = g.qs + ((size_t)y * W + x) * C;
                    int best = s[C - 10], n_best = 1;
                    for (int c = C - 9; c < C; c++) {
                        if (s[c] > best) { best = s[c]; n_best = 1; }
                        else if (s[c] == best) n_best++;
                    }
                    if (n_best > 1 && best != 0) cc.tie++;  // not the all-zero start
                }
            // STATE vs the engine grid, every channel of every cell
            std::vector<uint8_t> strec = d.command(5, 0, 0, 0);
            if (strec.size() != 1 + (size_t)W * H * C || strec[0] != 'S') {
                std::printf("cosim: MISMATCH image %d step %d: STATE record of %zu bytes\n", img, t, strec.size());
                rc = XNCA_EXIT_MISMATCH;
                break;
            }
            for (int i = 0; i < W * H * C; i++) {
                int hw = (int8_t)strec[1 + i], sw = g.qs[i];
                if (i % C == 0) hw = strec[1 + i];
                if (hw != sw) {
                    int cellI = i / C;
                    std::printf("cosim: MISMATCH image %d step %d x %d y %d channel %d: rtl %d engine %d%s\n", img,
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
                            img, t, rec.size() >= 6 ? rd16(rec, 4) : 0, rec.size() > 6 ? rec[6] : 0,
                            rec.size() > 7 ? rec[7] : 0, rec.size() >= 4 ? rd16(rec, 2) : 0, alive, pred, agree);
                rc = XNCA_EXIT_MISMATCH;
                break;
            }
        }
        xnca_grid_free(&g);
        // ---- timed pass: the whole image in one command (INIT with S steps [+ MUTATE])
        if (rc == 0 && opt.timed) {
            for (uint8_t p : px) d.in.push_back(p);
            uint64_t cyc = 0;
            int first = opt.mutate_at >= 0 && opt.mutate_at < opt.steps ? opt.mutate_at + 1 : opt.steps;
            rec = d.command(2, first, opt.seed, image);
            cyc += rd32(rec, 28) - rd32(rec, 32);
            if (first < opt.steps) {
                for (uint8_t p : px2) d.in.push_back(p);
                rec = d.command(4, opt.steps - first, opt.seed, image);
                cyc += rd32(rec, 28) - rd32(rec, 32);
            }
            st.image_cycles += cyc;
            st.images++;
        }
    }
    xnca_model_free(&m);
    return rc;
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
        else if (a == "--seed") opt.seed = (uint32_t)std::strtoul(need(), nullptr, 0);
        else if (a == "--fire-all") opt.fire_all = true;
        else if (a == "--full-grid") opt.full_grid = true;
        else if (a == "--no-corners") opt.require_corners = false;
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
                         "usage: %s [--case W<m>A<k>[/L<l>][/P<p>][/M<m>][/S<s>][/B<b>]]... [--images N] [--steps S]\n"
                         "          [--mutate-at T] [--seed N] [--fire-all] [--full-grid] [--no-corners]\n"
                         "          [--waves FILE.fst] [+inject_fault=step,x,y,ch]\n"
                         "exit: 0 pass, 1 usage, 3 mismatch or corner case not reached\n",
                         argv[0]);
            return 1;
        }
    }
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

    Corners cc;
    int passed = 0, failed = 0, rc = 0;
    for (size_t ci = 0; ci < opt.cases.size(); ci++) {
        const CaseSpec &cs = opt.cases[ci];
        Stats st;
        int r = run_case(d, info, cs, opt, (int)ci, cc, st);
        char name[96];
        std::snprintf(name, sizeof name, "W%dA%d/L%d/P%d/M%d/S%d/B%d%s", cs.wbits, cs.abits, cs.layers, cs.p, cs.mw,
                      cs.sbits, cs.ibits, cs.hot ? "/H" : "");
        if (r == 0) {
            passed++;
            // efficiency: useful binary synapse ops / (units * syn_bits * cycles), whole images
            long syn = 9L * info.c * cs.p;
            if (cs.layers >= 1) syn += (long)cs.p * cs.mw;
            if (cs.layers >= 2) syn += (long)cs.mw * cs.mw;
            syn += (long)(cs.layers ? cs.mw : cs.p) * (info.c - 1);
            double useful = (double)st.updates * syn * cs.wbits * cs.abits;  // the timed pass runs the same steps
            double a = 0, b = 0;
            if (st.n > 1) {
                double den = st.n * st.sxx - st.sx * st.sx;
                a = den != 0 ? (st.n * st.sxy - st.sx * st.sy) / den : 0;
                b = (st.sy - a * st.sx) / st.n;
            }
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
