// link_tb.cpp - Verilator harness for rtl/xnca_frame_link (suite link-rtl).
//
// Drives the UART rx pin bit by bit at CLKS_PER_BIT clocks per bit (bytes back to back, no
// idle time), decodes the tx pin with its own UART model, and checks the frame engine
// against a C model of docs/protocol.md built on host/xnca_frame.c:
//   1. HELLO, INFO (every field against the build parameters), unknown command, bad CRC,
//      bad length, wrong HELLO/INFO payload length: exact replies;
//   2. +bursts=N (default 10000) garbage bursts - random bytes containing 0x00, valid
//      headers with lengths up to max_payload + 1, bad CRCs, truncated frames, declared
//      lengths that disagree with the delimited length, good HELLO/INFO - each followed
//      immediately by a HELLO that must be answered correctly. Every reply is predicted
//      (op, tag, status, req_op, detail) and the credit returned per burst must equal the
//      bytes sent. A HELLO reply missing after +timeout cycles means the engine wedged.
//   3. Overrun: more bytes than the receive buffer without waiting gives a BUSY reply and
//      the link still answers HELLO afterwards.
// There is no inter-byte timeout in the RTL, so every check runs with none.
// Plusargs: +seed=S +bursts=N +cpb=CLKS_PER_BIT (must match the build) +verbose=1.
// Exit 0 when every check passed; prints "link-rtl: PASSED n FAILED m".
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "Vxnca_frame_link.h"
#include "verilated.h"

extern "C" {
#include "xnca_frame.h"
}

#ifndef LINK_MAX_PAYLOAD
#define LINK_MAX_PAYLOAD 1024
#endif
#ifndef LINK_FIFO_BYTES
#define LINK_FIFO_BYTES 2048
#endif

static const int kMaxPayload = LINK_MAX_PAYLOAD;
static const int kFifoBytes = LINK_FIFO_BYTES;
static int verbose = 0;

// ---------------------------------------------------------------- pin-level UART models
struct Sim {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vxnca_frame_link> top;
    int cpb;
    uint64_t cycles = 0;
    // host -> device driver
    std::deque<uint8_t> out;
    int drv_bit = -1;       // -1 idle, 0 start, 1..8 data, 9 stop
    int drv_count = 0;
    uint8_t drv_byte = 0;
    // device -> host monitor
    int mon_state = 0;      // 0 idle, 1 receiving
    int mon_count = 0, mon_bit = 0;
    uint8_t mon_byte = 0;
    int prev_tx = 1;
    std::vector<uint8_t> in;
    long framing_errors = 0;

    Sim(int clks_per_bit, int argc, char **argv) : ctx(new VerilatedContext), cpb(clks_per_bit)
    {
        ctx->commandArgs(argc, argv);
        top.reset(new Vxnca_frame_link(ctx.get()));
        top->uart_rx_i = 1;
        top->rst_i = 1;
        for (int i = 0; i < 8; i++) tick();
        top->rst_i = 0;
        for (int i = 0; i < 8; i++) tick();
    }

    int drive_pin()
    {
        if (drv_bit < 0) {
            if (out.empty()) return 1;
            drv_byte = out.front();
            out.pop_front();
            drv_bit = 0;
            drv_count = 0;
        }
        int level = drv_bit == 0 ? 0 : drv_bit == 9 ? 1 : (drv_byte >> (drv_bit - 1)) & 1;
        if (++drv_count == cpb) {
            drv_count = 0;
            if (++drv_bit == 10) drv_bit = -1;
        }
        return level;
    }

    void monitor(int tx)
    {
        if (mon_state == 0) {
            if (prev_tx == 1 && tx == 0) {
                mon_state = 1;
                mon_count = cpb / 2; // sample at the middle of each bit
                mon_bit = 0;
            }
        } else if (--mon_count == 0) {
            mon_count = cpb;
            if (mon_bit == 0) {
                if (tx != 0) mon_state = 0; // glitch
            } else if (mon_bit <= 8) {
                mon_byte = (uint8_t)(mon_byte >> 1 | (tx << 7));
            } else {
                if (tx != 1) framing_errors++;
                in.push_back(mon_byte);
                mon_state = 0;
            }
            mon_bit++;
        }
        prev_tx = tx;
    }

    void tick()
    {
        top->uart_rx_i = (uint8_t)drive_pin();
        top->clk_i = 0;
        top->eval();
        top->clk_i = 1;
        top->eval();
        monitor(top->uart_tx_o);
        cycles++;
    }
};

// ---------------------------------------------------------------- protocol model
struct Reply {
    uint8_t op, tag, status, req_op;
    uint16_t credit, detail;
    std::vector<uint8_t> extra; // payload after status and credit
};

struct Expect {
    uint8_t op, tag, status, req_op;
    uint16_t detail;
};

// What the frame engine (no core) must answer to one delimited frame (encoded bytes).
static Expect predict(const uint8_t *enc, size_t n)
{
    static uint8_t body[70000];
    xnca_frame f;
    int st = xnca_frame_parse(enc, n, kMaxPayload, body, sizeof body, &f);
    Expect e = {XNCA_OP_ERROR, f.tag, (uint8_t)st, f.op, 0};
    if (st != XNCA_ST_OK) return e;
    if (f.op == XNCA_OP_HELLO) {
        if (f.len == 4) return Expect{XNCA_OP_HELLO | 0x80, f.tag, 0, 0, 0};
        e.status = XNCA_ST_BAD_LENGTH;
        e.detail = 4;
        return e;
    }
    if (f.op == XNCA_OP_INFO) {
        if (f.len == 0) return Expect{XNCA_OP_INFO | 0x80, f.tag, 0, 0, 0};
        e.status = XNCA_ST_BAD_LENGTH;
        return e;
    }
    e.status = XNCA_ST_UNKNOWN_COMMAND;
    return e;
}

static std::vector<Expect> predict_stream(const std::vector<uint8_t> &wire)
{
    std::vector<Expect> v;
    xnca_deframer d;
    xnca_deframer_init(&d, 70000);
    size_t pos = 0;
    while (xnca_deframer_feed(&d, wire.data(), wire.size(), &pos)) {
        v.push_back(predict(d.buf, d.n));
        if (verbose > 1) {
            fprintf(stderr, "frame %zu:", v.size() - 1);
            for (size_t i = 0; i < d.n && i < 24; i++) fprintf(stderr, " %02x", d.buf[i]);
            fprintf(stderr, d.n > 24 ? " ... (%zu)\n" : " (%zu)\n", d.n);
        }
        xnca_deframer_next(&d);
    }
    xnca_deframer_free(&d);
    return v;
}

struct Host {
    Sim &sim;
    xnca_deframer d;
    size_t in_pos = 0;
    long bad_replies = 0;
    long sent = 0, credited = 0; // wire bytes sent, credit received
    explicit Host(Sim &s) : sim(s) { xnca_deframer_init(&d, 70000); }
    ~Host() { xnca_deframer_free(&d); }

    // Next reply frame from the device, or false after max_cycles.
    bool next_reply(Reply &r, uint64_t max_cycles)
    {
        static uint8_t body[70000];
        uint64_t end = sim.cycles + max_cycles;
        for (;;) {
            while (in_pos < sim.in.size()) {
                size_t p = 0;
                int got = xnca_deframer_feed(&d, &sim.in[in_pos], 1, &p);
                in_pos++;
                if (!got) continue;
                xnca_frame f;
                int st = xnca_frame_parse(d.buf, d.n, 65535, body, sizeof body, &f);
                xnca_deframer_next(&d);
                if (st != XNCA_ST_OK || f.len < 3) {
                    bad_replies++;
                    continue;
                }
                r.op = f.op;
                r.tag = f.tag;
                r.status = f.payload[0];
                r.credit = (uint16_t)xnca_get16(f.payload + 1);
                credited += r.credit;
                r.extra.assign(f.payload + 3, f.payload + f.len);
                r.req_op = f.op == XNCA_OP_ERROR && f.len >= 4 ? f.payload[3] : 0;
                r.detail = f.op == XNCA_OP_ERROR && f.len >= 6 ? (uint16_t)xnca_get16(f.payload + 4) : 0;
                return true;
            }
            if (sim.cycles >= end) return false;
            sim.tick();
        }
    }

    void send(const std::vector<uint8_t> &wire)
    {
        for (uint8_t b : wire) sim.out.push_back(b);
        sent += (long)wire.size();
    }
};

// ---------------------------------------------------------------- checks
static int passed = 0, failed = 0;

#define CHECK(cond, ...)                                                                                \
    do {                                                                                                \
        if (cond) {                                                                                     \
            passed++;                                                                                   \
        } else {                                                                                        \
            failed++;                                                                                   \
            if (failed <= 20) {                                                                         \
                fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                    \
                fprintf(stderr, __VA_ARGS__);                                                           \
                fputc('\n', stderr);                                                                    \
            }                                                                                           \
        }                                                                                               \
    } while (0)

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd()
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static std::vector<uint8_t> frame(uint8_t op, uint8_t tag, const std::vector<uint8_t> &payload)
{
    std::vector<uint8_t> w(xnca_frame_wire_max(payload.size()));
    size_t n = xnca_frame_build(op, tag, payload.data(), payload.size(), w.data());
    w.resize(n);
    return w;
}

// A body with a chosen declared length and real payload length, encoded, no delimiters.
static std::vector<uint8_t> raw_frame(uint8_t op, uint8_t tag, uint16_t declared, size_t real, bool good_crc)
{
    std::vector<uint8_t> body(real + 6), enc(xnca_cobs_max(real + 6));
    body[0] = op;
    body[1] = tag;
    xnca_put16(&body[2], declared);
    for (size_t i = 0; i < real; i++) body[4 + i] = (uint8_t)rnd();
    uint16_t crc = xnca_crc16(0xffff, body.data(), real + 4);
    if (!good_crc) crc ^= (uint16_t)(1u << (rnd() % 16));
    body[real + 4] = (uint8_t)(crc >> 8);
    body[real + 5] = (uint8_t)crc;
    enc.resize(xnca_cobs_encode(body.data(), body.size(), enc.data()));
    return enc;
}

static std::vector<uint8_t> hello(uint8_t tag, uint32_t nonce)
{
    std::vector<uint8_t> p(4);
    xnca_put32(p.data(), nonce);
    return frame(XNCA_OP_HELLO, tag, p);
}

// Send wire bytes, collect the predicted number of replies and compare them.
static void exchange(Host &h, const std::vector<uint8_t> &wire, const char *what)
{
    std::vector<Expect> want = predict_stream(wire);
    h.send(wire);
    for (size_t i = 0; i < want.size(); i++) {
        Reply r;
        bool ok = h.next_reply(r, 4000000);
        CHECK(ok, "%s: reply %zu of %zu missing (engine wedged?)", what, i + 1, want.size());
        if (!ok) return;
        const Expect &e = want[i];
        bool same = r.op == e.op && r.tag == e.tag && r.status == e.status &&
                    (e.op != XNCA_OP_ERROR || (r.req_op == e.req_op && r.detail == e.detail));
        CHECK(same, "%s: reply %zu: got op %02x tag %u status %u req_op %02x detail %u, want op %02x tag %u "
                    "status %u req_op %02x detail %u", what, i, r.op, r.tag, r.status, r.req_op, r.detail, e.op,
              e.tag, e.status, e.req_op, e.detail);
        if (r.op == (XNCA_OP_HELLO | 0x80)) {
            CHECK(r.extra.size() == 10 && !memcmp(r.extra.data(), "XNCA\x01\x00", 6), "%s: HELLO reply body",
                  what);
        }
    }
    if (want.empty()) { // nothing to answer: no reply may come, the credit waits for the next one
        Reply r;
        CHECK(!h.next_reply(r, 2000), "%s: unexpected reply", what);
        return;
    }
    // all bytes are taken before the last reply: the whole balance is back
    CHECK(h.credited == h.sent, "%s: credit %ld != %ld bytes sent", what, h.credited, h.sent);
}

static void basic_checks(Sim &sim, Host &h)
{
    // HELLO with the protocol example's bytes
    std::vector<uint8_t> w = hello(7, 0x04030201);
    exchange(h, w, "hello");
    // HELLO nonce echo
    h.send(hello(9, 0xa5005a11));
    Reply r;
    CHECK(h.next_reply(r, 1000000) && r.extra.size() == 10 && xnca_get32(&r.extra[6]) == 0xa5005a11u,
          "hello nonce echo");
    // INFO fields against the build parameters of the Verilated model (sim/link.mk)
    h.send(frame(XNCA_OP_INFO, 1, {}));
    bool ok = h.next_reply(r, 1000000);
    CHECK(ok && r.op == 0x82 && r.extra.size() == XNCA_INFO_BYTES, "INFO reply");
    if (ok && r.extra.size() == XNCA_INFO_BYTES) {
        xnca_info_msg info;
        xnca_info_unpack(r.extra.data(), &info);
        CHECK(info.protocol_version == 1, "INFO protocol_version %u", info.protocol_version);
        CHECK(!strcmp(info.board, "sim"), "INFO board '%s'", info.board);
        CHECK(info.build_id == 0x1234abcd, "INFO build_id %08x", info.build_id);
        CHECK(info.clock_hz == 48000000, "INFO clock_hz %u", info.clock_hz);
        CHECK(info.grid_w == 28 && info.grid_h == 28, "INFO grid %ux%u", info.grid_w, info.grid_h);
        CHECK(info.channels == 20 && info.hidden_channels == 9, "INFO channels %u/%u", info.channels,
              info.hidden_channels);
        CHECK(info.perception_width == 80 && info.mlp_width == 80, "INFO widths");
        CHECK(info.units == 1 && info.synapse_bits_per_unit == 180, "INFO units");
        CHECK(info.max_weight_bits == 4 && info.max_act_bits == 4, "INFO bits");
        CHECK(info.max_weight_bytes == 16384, "INFO max_weight_bytes %u", info.max_weight_bytes);
        CHECK(info.input_buffer_bytes == (uint32_t)kFifoBytes, "INFO input_buffer_bytes %u",
              info.input_buffer_bytes);
        CHECK(info.max_payload == kMaxPayload, "INFO max_payload %u", info.max_payload);
        CHECK(info.max_hidden_layers == 2 && info.max_state_bits == 8 && info.max_report == 16, "INFO caps");
    }
    // single error cases, each predicted exactly
    std::vector<uint8_t> x;
    auto delim = [](std::vector<uint8_t> v) { v.insert(v.begin(), 0); v.push_back(0); return v; };
    exchange(h, delim(raw_frame(XNCA_OP_HELLO, 3, 4, 4, false)), "bad crc");
    exchange(h, delim(raw_frame(XNCA_OP_HELLO, 4, 5, 4, true)), "declared > delimited");
    exchange(h, delim(raw_frame(XNCA_OP_HELLO, 5, 3, 4, true)), "declared < delimited");
    exchange(h, delim(raw_frame(0x55, 6, 0, 0, true)), "unknown command");
    exchange(h, delim(raw_frame(XNCA_OP_CLASSIFY, 6, 0, 0, true)), "core command without core");
    exchange(h, delim(raw_frame(XNCA_OP_HELLO, 8, 3, 3, true)), "hello short payload");
    exchange(h, delim(raw_frame(XNCA_OP_INFO, 8, 1, 1, true)), "info with payload");
    exchange(h, delim(raw_frame(XNCA_OP_INFO, 9, kMaxPayload + 1, kMaxPayload + 1, true)), "max+1 payload");
    exchange(h, delim(raw_frame(XNCA_OP_INFO, 9, kMaxPayload, kMaxPayload, true)), "max payload (INFO: bad len)");
    exchange(h, {0, 0x05, 0x01, 0x02, 0}, "broken cobs");
    exchange(h, {0, 0x13, 0}, "one byte frame");
    exchange(h, {0, 0, 0, 0}, "empty frames only");
    (void)sim;
}

// One random burst of trouble (at most `room` bytes).
static std::vector<uint8_t> burst(size_t room)
{
    std::vector<uint8_t> w;
    int parts = 1 + (int)(rnd() % 3);
    for (int p = 0; p < parts; p++) {
        std::vector<uint8_t> piece;
        switch (rnd() % 7) {
        case 0: { // random bytes, sync byte included
            size_t n = 1 + rnd() % 120;
            for (size_t i = 0; i < n; i++) piece.push_back(rnd() % 8 == 0 ? 0 : (uint8_t)rnd());
            break;
        }
        case 1: { // a valid header with a length up to max + 1, CRC right
            size_t len = rnd() % 10 == 0 ? kMaxPayload - 2 + rnd() % 4 : rnd() % 64;
            uint8_t ops[] = {XNCA_OP_HELLO, XNCA_OP_INFO, XNCA_OP_CLASSIFY, 0x7e, 0x00, 0xff};
            piece = raw_frame(ops[rnd() % 6], (uint8_t)rnd(), (uint16_t)len, len, true);
            piece.insert(piece.begin(), 0);
            if (rnd() % 2) piece.push_back(0);
            break;
        }
        case 2: { // bad CRC
            size_t len = rnd() % 40;
            piece = raw_frame(XNCA_OP_HELLO, (uint8_t)rnd(), (uint16_t)len, len, false);
            piece.insert(piece.begin(), 0);
            piece.push_back(0);
            break;
        }
        case 3: { // truncated frame: no closing delimiter, the next byte of anything ends it
            size_t len = rnd() % 80;
            piece = raw_frame((uint8_t)(1 + rnd() % 8), (uint8_t)rnd(), (uint16_t)len, len, true);
            piece.resize(1 + rnd() % piece.size());
            piece.insert(piece.begin(), 0);
            break;
        }
        case 4: { // declared length != delimited length
            size_t len = rnd() % 40;
            uint16_t declared = (uint16_t)(rnd() % 2 ? len + 1 + rnd() % 2000 : (len ? rnd() % len : 1));
            piece = raw_frame(XNCA_OP_HELLO, (uint8_t)rnd(), declared, len, true);
            piece.insert(piece.begin(), 0);
            piece.push_back(0);
            break;
        }
        case 5: { // good requests in between
            piece = rnd() % 2 ? hello((uint8_t)rnd(), rnd()) : frame(XNCA_OP_INFO, (uint8_t)rnd(), {});
            break;
        }
        default: { // a header-looking start without any delimiter, max+1 length
            piece = raw_frame(XNCA_OP_HELLO, (uint8_t)rnd(), (uint16_t)(kMaxPayload + 1), rnd() % 16, true);
            break;
        }
        }
        if (w.size() + piece.size() > room) break;
        w.insert(w.end(), piece.begin(), piece.end());
    }
    return w;
}

static void garbage_bursts(Host &h, int n)
{
    int wedged = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < n && !wedged; i++) {
        std::vector<uint8_t> w = burst(kFifoBytes - 16);
        uint8_t tag = (uint8_t)rnd();
        uint32_t nonce = rnd();
        std::vector<uint8_t> hw = hello(tag, nonce);
        w.insert(w.end(), hw.begin(), hw.end());
        bytes += w.size();
        std::vector<Expect> want = predict_stream(w);
        h.send(w);
        size_t k = 0;
        int before = failed;
        for (; k < want.size(); k++) {
            Reply r;
            if (!h.next_reply(r, 4000000)) {
                CHECK(false, "burst %d: reply %zu of %zu missing: engine wedged", i, k + 1, want.size());
                wedged = 1;
                break;
            }
            const Expect &e = want[k];
            bool same = r.op == e.op && r.tag == e.tag && r.status == e.status &&
                        (e.op != XNCA_OP_ERROR || (r.req_op == e.req_op && r.detail == e.detail));
            if (!same) {
                CHECK(false, "burst %d reply %zu: got op %02x tag %u status %u req_op %02x detail %u; want op %02x "
                             "tag %u status %u req_op %02x detail %u", i, k, r.op, r.tag, r.status, r.req_op,
                      r.detail, e.op, e.tag, e.status, e.req_op, e.detail);
                break;
            }
            if (k + 1 == want.size()) { // the HELLO that follows the burst
                bool hello_ok = r.op == 0x81 && r.tag == tag && r.extra.size() == 10 &&
                                xnca_get32(&r.extra[6]) == nonce;
                CHECK(hello_ok, "burst %d: HELLO after the burst not answered correctly", i);
            }
        }
        if (wedged) break;
        if (failed == before) {
            CHECK(h.credited == h.sent, "burst %d: credit %ld != %ld bytes sent", i, h.credited, h.sent);
        } else {
            break; // the reply streams are out of step; stop here
        }
        if (verbose && i % 1000 == 0) fprintf(stderr, "burst %d, %llu bytes, %llu cycles\n", i,
                                              (unsigned long long)bytes, (unsigned long long)h.sim.cycles);
    }
    printf("link-rtl: %d bursts, %llu bytes sent, %llu cycles\n", n, (unsigned long long)bytes,
           (unsigned long long)h.sim.cycles);
}

static void overrun(Host &h)
{
    // Ignore the credit: twice the buffer of INFO requests in one go (each reply is ~8x longer
    // than its request, so the device falls behind). The device must report BUSY at least
    // once, never wedge, and answer a HELLO once the host waits for it.
    std::vector<uint8_t> w;
    while (w.size() < (size_t)kFifoBytes * 2) {
        std::vector<uint8_t> f = frame(XNCA_OP_INFO, 1, {});
        w.insert(w.end(), f.begin(), f.end());
    }
    h.send(w);
    int busy = 0, replies = 0;
    Reply r;
    while (h.next_reply(r, 200000)) {
        replies++;
        if (r.op == XNCA_OP_ERROR && r.status == XNCA_ST_BUSY) busy++;
    }
    CHECK(busy >= 1, "overrun: no BUSY reply (%d replies)", replies);
    h.send(hello(0x42, 0xfeedf00d));
    bool ok = false;
    while (h.next_reply(r, 2000000)) {
        if (r.op == 0x81 && r.tag == 0x42 && r.extra.size() == 10 && xnca_get32(&r.extra[6]) == 0xfeedf00du) {
            ok = true;
            break;
        }
    }
    CHECK(ok, "overrun: HELLO afterwards not answered");
}

int main(int argc, char **argv)
{
    int bursts = 10000, cpb = 4;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "+bursts=", 8)) bursts = atoi(argv[i] + 8);
        else if (!strncmp(argv[i], "+cpb=", 5)) cpb = atoi(argv[i] + 5);
        else if (!strncmp(argv[i], "+seed=", 6)) seed = strtoull(argv[i] + 6, NULL, 0);
        else if (!strncmp(argv[i], "+verbose=", 9)) verbose = atoi(argv[i] + 9);
    }
    rng ^= seed * 0x9e3779b97f4a7c15ull;
    Sim sim(cpb, argc, argv);
    Host host(sim);
    basic_checks(sim, host);
    garbage_bursts(host, bursts);
    overrun(host);
    CHECK(host.bad_replies == 0, "%ld replies failed to parse", host.bad_replies);
    CHECK(sim.framing_errors == 0, "%ld framing errors on tx", sim.framing_errors);
    sim.top->final();
    printf("link-rtl: PASSED %d FAILED %d (cpb %d, seed %llu)\n", passed, failed, cpb, (unsigned long long)seed);
    return failed ? 1 : 0;
}
