/* cli_prog.c - `xnca prog`: program a board with openFPGALoader (the command lines of docs/boards.md
 * and mk/boards.mk's `prog`), then check that the board answers with the bitstream's build id. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_device.h"

#define CMD_NAME "prog"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xnca prog --board icebreaker|ulx3s-85f|ulx3s-25f [--flash] [--dry-run] [OPTIONS]\n\n"
            "Programs the board with openFPGALoader, then opens its UART (which also resets the ULX3S's\n"
            "FT231X from JTAG bit-bang back to UART mode) and checks that HELLO and INFO answer with the\n"
            "build id recorded next to the bitstream. The bitstream is bitstreams/<board>.bin|.bit\n"
            "(prebuilt) when it exists, else build/<board>/xnca.bin|.bit (make bitstream BOARD=...).\n"
            "Command lines (docs/boards.md):\n"
            "  icebreaker  openFPGALoader -b ice40_generic -f FILE   (SPI flash)\n"
            "  ulx3s-*     openFPGALoader -b ulx3s FILE              (SRAM; --flash: -b ulx3s -f FILE)\n\n"
            "  --board NAME        icebreaker, ulx3s-85f or ulx3s-25f (required)\n"
            "  --flash             ULX3S: write the SPI flash (kept at power-off) instead of SRAM\n"
            "  --dry-run           print the command line only\n"
            "  --bitstream FILE    program FILE instead (its build id: FILE's .build_id sibling)\n"
            "  --no-check          do not open the board afterwards\n"
            "  --help              this text\n\n"
            "environment: OPENFPGALOADER (the programmer's path, default openFPGALoader)\n"
            "exit status: 0 ok, 1 bad arguments or no bitstream, 2 programming or device error (e.g. no\n"
            "board: openFPGALoader's message is shown), 3 the board answers with another build id\n");
}

typedef struct {
    const char *name, *ext, *usb;
    int ecp5;
} board_row;

static const board_row BOARDS[] = {
    {"icebreaker", "bin", "usb:0403:6010", 0},
    {"ulx3s-85f", "bit", "usb:0403:6015", 1},
    {"ulx3s-25f", "bit", "usb:0403:6015", 1},
};

static int exists(const char *p) { return access(p, R_OK) == 0; }

/* Build id file for a bitstream: bitstreams/<board>.build_id next to a prebuilt one,
 * build/<board>/build_id next to a built one, else FILE with its extension replaced. */
static void build_id_path(const char *bit, const char *board, char *out, size_t n)
{
    char prebuilt[512];
    snprintf(prebuilt, sizeof prebuilt, "bitstreams/%s.", board);
    const char *slash = strrchr(bit, '/');
    if (!strncmp(bit, prebuilt, strlen(prebuilt))) {
        snprintf(out, n, "bitstreams/%s.build_id", board);
    } else if (slash && (!strcmp(slash, "/xnca.bin") || !strcmp(slash, "/xnca.bit"))) {
        snprintf(out, n, "%.*s/build_id", (int)(slash - bit), bit);
    } else {
        const char *dot = strrchr(bit, '.');
        int keep = dot && (!slash || dot > slash) ? (int)(dot - bit) : (int)strlen(bit);
        snprintf(out, n, "%.*s.build_id", keep, bit);
    }
}

/* Run argv, wait; returns its exit status, or -1 if it could not start (errno kept). */
static int run(char *const *argv)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Open the board's UART and compare its build id (retrying while the FPGA configures). */
static int check_board(const board_row *b, const char *id_path)
{
    uint32_t want = 0;
    int have = cli_read_build_id(id_path, &want);
    xnca_dev *dev = NULL;
    char err[512] = "";
    for (int attempt = 0; attempt < 10; attempt++) {
        if (!xnca_open(b->usb, NULL, &dev, err, sizeof err))
            break;
        struct timespec ts = {0, 300000000L};
        nanosleep(&ts, NULL);
    }
    if (!dev) {
        fprintf(stderr, "xnca %s: programmed, but the board does not answer on %s: %s\n", CMD_NAME, b->usb, err);
        return XNCA_EXIT_DEVICE;
    }
    uint32_t got = xnca_info(dev)->build_id;
    printf("board answers: %s, build %08x\n", xnca_info(dev)->board, got);
    xnca_close(dev);
    if (have == -1) {
        printf("(no %s recorded: build id not checked)\n", id_path);
        return XNCA_EXIT_OK;
    }
    if (have < 0) {
        fprintf(stderr, "xnca %s: %s does not hold an 8-hex-digit build id\n", CMD_NAME, id_path);
        return XNCA_EXIT_USAGE;
    }
    if (got != want) {
        fprintf(stderr, "xnca %s: the board reports build %08x, %s records %08x\n", CMD_NAME, got, id_path, want);
        return XNCA_EXIT_MISMATCH;
    }
    printf("build id %08x matches %s\n", got, id_path);
    return XNCA_EXIT_OK;
}

int cmd_prog(int argc, char **argv)
{
    static const struct option opts[] = {
        {"board", required_argument, 0, 'b'}, {"flash", no_argument, 0, 'f'},
        {"dry-run", no_argument, 0, 'n'},     {"bitstream", required_argument, 0, 'B'},
        {"no-check", no_argument, 0, 'N'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *board = NULL, *bitfile = NULL;
    int flash = 0, dry = 0, check = 1, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': board = optarg; break;
        case 'f': flash = 1; break;
        case 'n': dry = 1; break;
        case 'B': bitfile = optarg; break;
        case 'N': check = 0; break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error(CMD_NAME, "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error(CMD_NAME, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error(CMD_NAME, "unexpected argument '%s'", argv[optind]);
    if (!board) return cli_usage_error(CMD_NAME, "--board icebreaker|ulx3s-85f|ulx3s-25f is required");
    const board_row *b = NULL;
    for (size_t i = 0; i < sizeof BOARDS / sizeof BOARDS[0]; i++)
        if (!strcmp(board, BOARDS[i].name)) b = &BOARDS[i];
    if (!b) return cli_usage_error(CMD_NAME, "unknown board '%s' (icebreaker, ulx3s-85f or ulx3s-25f)", board);

    char prebuilt[512], built[512], id_path[1024];
    snprintf(prebuilt, sizeof prebuilt, "bitstreams/%s.%s", b->name, b->ext);
    snprintf(built, sizeof built, "build/%s/xnca.%s", b->name, b->ext);
    if (!bitfile) bitfile = exists(prebuilt) ? prebuilt : built;
    build_id_path(bitfile, b->name, id_path, sizeof id_path);

    const char *loader = getenv("OPENFPGALOADER");
    if (!loader || !*loader) loader = "openFPGALoader";
    char *args[8];
    int k = 0;
    args[k++] = (char *)loader;
    args[k++] = "-b";
    args[k++] = b->ecp5 ? "ulx3s" : "ice40_generic";
    if (!b->ecp5 || flash) args[k++] = "-f"; /* iCEBreaker: flash always (openFPGALoader 0.10) */
    args[k++] = (char *)bitfile;
    args[k] = NULL;
    for (int i = 0; i < k; i++) printf("%s%s", i ? " " : "", args[i]);
    printf("\n");
    if (dry) return XNCA_EXIT_OK;
    if (!exists(bitfile))
        return cli_error(CMD_NAME, "%s missing: run 'make bitstream BOARD=%s' (or give --bitstream FILE)", bitfile,
                         b->name);
    int st = run(args);
    if (st < 0 || st == 127) {
        fprintf(stderr, "xnca %s: cannot run %s%s%s\n", CMD_NAME, loader, st < 0 ? ": " : " (not installed?)",
                st < 0 ? strerror(errno) : "");
        return XNCA_EXIT_DEVICE;
    }
    if (st) {
        fprintf(stderr, "xnca %s: %s failed (exit %d; its message is above)\n", CMD_NAME, loader, st);
        return XNCA_EXIT_DEVICE;
    }
    if (!check) return XNCA_EXIT_OK;
    return check_board(b, id_path);
}
