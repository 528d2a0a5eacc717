/* cli_sim.c - `xnca sim`: serve the simulated accelerator (the Verilated device top, RTL UART
 * included, in BOARD's array configuration) to other processes, on a Unix socket or a
 * pseudo-terminal, so that any host program reaches it as `sim:BOARD@SOCKET` or `tty:PTY`
 * (docs/protocol.md 5.1). One host at a time; the device (and a loaded model) outlives a
 * connection, as a board does. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli_device.h"
#include "xnca_serve.h"
#include "xnca_transport.h"

#define CMD_NAME "sim"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xnca sim [--board BOARD | --device D] [--socket PATH | --pty] [--once] [--verbose]\n\n"
            "Serves the simulated accelerator - the Verilated device top (rtl/xnca_top.v: UART, frame\n"
            "engine, core) configured as BOARD's array - to other processes. Hosts connect with\n"
            "  --device sim:BOARD@PATH   (or sim:BOARD@ for the default socket, unix:PATH for any device)\n"
            "  --device tty:PTY          with --pty\n"
            "One host at a time (others wait); the device and its loaded model stay between hosts.\n"
            "The device spec to connect with is printed on stdout once the server is ready.\n"
            "SIGINT / SIGTERM stop it cleanly (the socket file is removed).\n\n"
            "  --board BOARD   icebreaker (default), ulx3s-85f or ulx3s-25f (build/sim/BOARD/libxnca_simtop.so,\n"
            "                  `make sim-top SIM_BOARD=BOARD`)\n"
            "  --device D      serve another in-process device instead: sim[:BOARD] or cpu\n"
            "  --socket PATH   Unix socket to listen on (default $XNCA_SIM_SOCKET_DIR, $XDG_RUNTIME_DIR or\n"
            "                  /tmp, then /xnca-sim-BOARD.sock)\n"
            "  --pty           serve on a new pseudo-terminal instead of a socket\n"
            "  --once          exit after the first host disconnects\n"
            "  --verbose       log connections and frame counts on stderr\n"
            "  --help          this text\n\n"
            "exit status: 0 stopped cleanly, 1 bad arguments, 2 device or socket error\n");
}

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Bind and listen on path; a stale socket file (nobody accepting) is replaced, a live one is
 * an error. Returns the listening fd or -1. */
static int listen_on(const char *path)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) {
        cli_error(CMD_NAME, "socket path '%s' is too long (at most %zu bytes)", path, sizeof a.sun_path - 1);
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cli_error(CMD_NAME, "socket: %s", strerror(errno));
        return -1;
    }
    if (access(path, F_OK) == 0) {
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            cli_error(CMD_NAME, "%s is already being served by another process", path);
            close(fd);
            return -1;
        }
        close(fd);
        unlink(path); /* stale */
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0) {
        cli_error(CMD_NAME, "cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int serve_socket(xnca_transport *t, const char *path, int once, int verbose)
{
    int lfd = listen_on(path);
    if (lfd < 0)
        return XNCA_EXIT_DEVICE;
    printf("%s\n", path);
    fflush(stdout);
    int rc = XNCA_EXIT_OK;
    long conns = 0;
    while (!stop_flag) {
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        conns++;
        if (verbose)
            fprintf(stderr, "xnca sim: host %ld connected\n", conns);
        xnca_serve_stats st;
        char err[512] = "";
        int r = xnca_serve_conn(t, c, &stop_flag, &st, err, sizeof err);
        close(c);
        if (verbose)
            fprintf(stderr, "xnca sim: host %ld %s: %ld frames in, %ld out, %llu / %llu bytes\n", conns,
                    r == 1 ? "cut off (stopping)" : "disconnected", st.frames_in, st.frames_out,
                    (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out);
        if (r < 0) {
            cli_error(CMD_NAME, "%s", err);
            rc = XNCA_EXIT_DEVICE;
            break;
        }
        if (once)
            break;
    }
    close(lfd);
    unlink(path);
    fprintf(stderr, "xnca sim: stopped after %ld host%s; %s removed\n", conns, conns == 1 ? "" : "s", path);
    return rc;
}

/* A pty: the server keeps the slave open too, so a host closing it is no hang-up; the relay
 * runs until stopped. */
static int serve_pty(xnca_transport *t, int verbose)
{
    int master, slave;
    char name[256];
    if (openpty(&master, &slave, name, NULL, NULL) < 0) {
        cli_error(CMD_NAME, "openpty: %s", strerror(errno));
        return XNCA_EXIT_DEVICE;
    }
    struct termios tio;
    if (tcgetattr(slave, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(slave, TCSANOW, &tio);
    }
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    printf("tty:%s\n", name);
    fflush(stdout);
    xnca_serve_stats st;
    char err[512] = "";
    int r = xnca_serve_conn(t, master, &stop_flag, &st, err, sizeof err);
    if (verbose)
        fprintf(stderr, "xnca sim: %ld frames in, %ld out\n", st.frames_in, st.frames_out);
    close(master);
    close(slave);
    fprintf(stderr, "xnca sim: stopped (%s closed)\n", name);
    if (r < 0) {
        cli_error(CMD_NAME, "%s", err);
        return XNCA_EXIT_DEVICE;
    }
    return XNCA_EXIT_OK;
}

int cmd_sim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"board", required_argument, 0, 'b'}, {"device", required_argument, 0, 'd'},
        {"socket", required_argument, 0, 's'}, {"pty", no_argument, 0, 'p'},
        {"once", no_argument, 0, 'o'},         {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *board = NULL, *device = NULL, *sock = NULL;
    int pty = 0, once = 0, verbose = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hv", opts, NULL)) != -1) {
        switch (c) {
        case 'b': board = optarg; break;
        case 'd': device = optarg; break;
        case 's': sock = optarg; break;
        case 'p': pty = 1; break;
        case 'o': once = 1; break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error(CMD_NAME, "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error(CMD_NAME, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD_NAME, "unexpected argument '%s'", argv[optind]);
    if (board && device)
        return cli_usage_error(CMD_NAME, "give --board or --device, not both");
    if (pty && sock)
        return cli_usage_error(CMD_NAME, "give --socket or --pty, not both");
    char spec[64];
    if (device) {
        if (strcmp(device, "cpu") && strncmp(device, "sim", 3))
            return cli_usage_error(CMD_NAME, "--device serves an in-process device: sim[:BOARD] or cpu, not '%s'",
                                   device);
        if (strchr(device, '@'))
            return cli_usage_error(CMD_NAME, "--device %s is itself served; serve sim[:BOARD] or cpu", device);
        snprintf(spec, sizeof spec, "%s", device);
    } else {
        snprintf(spec, sizeof spec, "sim:%s", board ? board : "icebreaker");
    }
    const char *served_board = !strncmp(spec, "sim:", 4) ? spec + 4 : !strcmp(spec, "sim") ? "icebreaker" : spec;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    if (!pty) {
        if (!sock && xnca_sim_socket_path(served_board, path, sizeof path))
            return cli_usage_error(CMD_NAME, "the default socket path is too long; give --socket PATH");
        if (sock)
            snprintf(path, sizeof path, "%s", sock);
    }

    install_signals();
    xnca_dev *dev;
    char err[512];
    int rc = xnca_open(spec, NULL, &dev, err, sizeof err);
    if (rc) {
        fprintf(stderr, "xnca sim: device '%s': %s\n", spec, err);
        return rc == XNCA_RC_USAGE ? XNCA_EXIT_USAGE : XNCA_EXIT_DEVICE;
    }
    const xnca_device_info *in = xnca_info(dev);
    fprintf(stderr, "xnca sim: serving %s (board %s, build %08x, %.1f MHz, input buffer %u bytes) on %s%s\n", spec,
            in->board, in->build_id, in->clock_hz / 1e6, in->input_buffer_bytes, pty ? "a new pty" : path,
            pty ? "" : "; stop with Ctrl-C or SIGTERM");
    if (!pty && strcmp(spec, "cpu"))
        fprintf(stderr, "xnca sim: connect with --device sim:%s@%s\n", served_board, path);
    else if (!pty)
        fprintf(stderr, "xnca sim: connect with --device unix:%s\n", path);
    xnca_transport *t = xnca_dev_transport(dev);
    rc = pty ? serve_pty(t, verbose) : serve_socket(t, path, once, verbose);
    xnca_close(dev);
    return rc;
}
