// top_sim.cpp - the Verilated xnca device (rtl/xnca_top.v: UART, frame engine, adapter, core)
// as a shared object with a C interface, dlopen'ed by the `sim[:BOARD]` transport
// (host/xnca_transport_sim.c). One build per board configuration (mk/top.mk):
// build/sim/<board>/libxnca_simtop.so.
//
// The host's wire bytes are shifted into the RTL UART receiver bit by bit (8N1, start bit,
// 8 data bits LSB first, stop bit; XNCA_SIM_CPB clocks per bit, the board's real ratio), and
// the transmitter pin is decoded the same way (sampled mid-bit). Nothing bypasses the UART.
//
// Fault injection (the core's FAULT_INJECT port, always built in for simulation): the
// environment variable XNCA_SIM_FAULT="step,x,y,ch" flips state bit 0 of channel ch of cell
// (x, y) whenever it is written at step `step` (docs/core.md 5).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "Vxnca_top.h"
#include "verilated.h"

#ifndef XNCA_SIM_CPB
#error "XNCA_SIM_CPB (clocks per UART bit) must be defined by the build"
#endif

namespace {

struct SimTop {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vxnca_top> top;
    int cpb = XNCA_SIM_CPB;
    uint64_t cycles = 0;
    // host -> device: bytes waiting, the byte being shifted out
    std::deque<uint8_t> to_dev;
    int tx_bit = -1, tx_cnt = 0;
    uint8_t tx_byte = 0;
    // device -> host decoder
    std::vector<uint8_t> from_dev;
    int rx_bit = -1, rx_cnt = 0;
    uint8_t rx_byte = 0;
    uint64_t framing_errors = 0;

    int line_to_dev()
    {
        if (tx_bit < 0) {
            if (to_dev.empty())
                return 1;
            tx_byte = to_dev.front();
            to_dev.pop_front();
            tx_bit = 0;
            tx_cnt = 0;
        }
        int v = tx_bit == 0 ? 0 : tx_bit == 9 ? 1 : (tx_byte >> (tx_bit - 1)) & 1;
        if (++tx_cnt == cpb) {
            tx_cnt = 0;
            if (++tx_bit == 10)
                tx_bit = -1;
        }
        return v;
    }

    void decode(int line)
    {
        if (rx_bit < 0) {
            if (line == 0) {  // falling edge of a start bit
                rx_bit = 0;
                rx_cnt = 0;
                rx_byte = 0;
            }
            return;
        }
        rx_cnt++;
        // sample bit k at cpb/2 + k*cpb clocks after the falling edge
        if (rx_cnt == cpb / 2 + rx_bit * cpb) {
            if (rx_bit == 0 && line != 0) {
                rx_bit = -1;  // glitch, not a start bit
                return;
            }
            if (rx_bit >= 1 && rx_bit <= 8)
                rx_byte |= (uint8_t)(line << (rx_bit - 1));
            if (rx_bit == 9) {
                if (line == 1)
                    from_dev.push_back(rx_byte);
                else
                    framing_errors++;
                rx_bit = -1;
                return;
            }
            rx_bit++;
        }
    }

    void tick()
    {
        top->uart_rx_i = line_to_dev();
        top->clk_i = 0;
        top->eval();
        top->clk_i = 1;
        top->eval();
        cycles++;
        decode(top->uart_tx_o);
    }
};

}  // namespace

extern "C" {

void *xnca_simtop_new(char *err, size_t errlen)
{
    auto *s = new SimTop;
    s->ctx.reset(new VerilatedContext);
    const char *argv[] = {"xnca-sim", nullptr};
    s->ctx->commandArgs(1, argv);
    s->top.reset(new Vxnca_top{s->ctx.get()});
    s->top->fault_en_i = 0;
    if (const char *f = std::getenv("XNCA_SIM_FAULT")) {
        int step, x, y, ch;
        if (std::sscanf(f, "%d,%d,%d,%d", &step, &x, &y, &ch) != 4) {
            std::snprintf(err, errlen, "XNCA_SIM_FAULT must be step,x,y,ch (got '%s')", f);
            delete s;
            return nullptr;
        }
        s->top->fault_en_i = 1;
        s->top->fault_step_i = (uint16_t)step;
        s->top->fault_x_i = (uint8_t)x;
        s->top->fault_y_i = (uint8_t)y;
        s->top->fault_ch_i = (uint8_t)ch;
    }
    s->top->uart_rx_i = 1;
    s->top->rst_i = 1;
    for (int i = 0; i < 8; i++)
        s->tick();
    s->top->rst_i = 0;
    for (int i = 0; i < 4; i++)
        s->tick();
    return s;
}

void xnca_simtop_free(void *h)
{
    auto *s = static_cast<SimTop *>(h);
    if (s)
        s->top->final();
    delete s;
}

void xnca_simtop_write(void *h, const uint8_t *buf, size_t len)
{
    auto *s = static_cast<SimTop *>(h);
    s->to_dev.insert(s->to_dev.end(), buf, buf + len);
}

// Clock the device until it has sent bytes (then until its line has been idle for two byte
// times, or cap bytes) or timeout_ms of wall time passed; returns the bytes copied (0: timeout).
long xnca_simtop_read(void *h, uint8_t *buf, size_t cap, int timeout_ms)
{
    auto *s = static_cast<SimTop *>(h);
    auto t0 = std::chrono::steady_clock::now();
    uint64_t idle_limit = (uint64_t)s->cpb * 20;
    uint64_t idle = 0;
    size_t seen = s->from_dev.size();
    for (uint64_t n = 0;; n++) {
        if (!s->from_dev.empty()) {
            if (s->from_dev.size() != seen) {
                seen = s->from_dev.size();
                idle = 0;
            }
            if (s->from_dev.size() >= cap || (s->rx_bit < 0 && ++idle > idle_limit))
                break;
        }
        s->tick();
        if ((n & 0xffff) == 0xffff && s->from_dev.empty()) {
            long ms = (long)std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - t0).count();
            if (ms >= timeout_ms)
                return 0;
        }
    }
    size_t k = s->from_dev.size() < cap ? s->from_dev.size() : cap;
    std::memcpy(buf, s->from_dev.data(), k);
    s->from_dev.erase(s->from_dev.begin(), s->from_dev.begin() + (long)k);
    return (long)k;
}

uint64_t xnca_simtop_cycles(void *h) { return static_cast<SimTop *>(h)->cycles; }
int xnca_simtop_clks_per_bit(void *h) { return static_cast<SimTop *>(h)->cpb; }

}  // extern "C"
