/* cli_main.c - `xnca`: the command-line front end. Dispatches to the commands listed in
 * host/cli_commands.def; handles the global --help and --version. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary; /* NULL: hidden */
} cli_command;

static const cli_command commands[] = {
#define CMD(name, fn, summary) {name, fn, summary},
#include "cli_commands.def"
#undef CMD
};

static void print_help(FILE *f)
{
    fprintf(f, "usage: xnca COMMAND [OPTIONS]     (xnca COMMAND --help for a command's options)\n"
               "       xnca --version | --help\n\n"
               "xnca runs binarized neural cellular automata that classify MNIST / Fashion-MNIST digits\n"
               "(docs/spec.md).\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (commands[i].summary) fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit status:\n"
               "  0  ok\n"
               "  1  usage error or bad input (arguments, model or data files)\n"
               "  2  device or link error\n"
               "  3  verification mismatch\n"
               "\nenvironment: XNCA_DATA (dataset folder, default ./data), XNCA_CPU=scalar|avx2|avx512\n");
}

static void print_version(void)
{
    xnca_cpu_path p = xnca_cpu_active();
    printf("xnca %s (git %s), model format %d\n", XNCA_VERSION, cli_git_hash(), XNCA_FORMAT_VERSION);
    printf("cpu path: %s (supported:", xnca_cpu_name(p));
    for (int q = XNCA_CPU_SCALAR; q <= XNCA_CPU_AVX512; q++)
        if (xnca_cpu_supported((xnca_cpu_path)q)) printf(" %s", xnca_cpu_name((xnca_cpu_path)q));
    printf(")\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return XNCA_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        print_help(stdout);
        return XNCA_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        print_version();
        return XNCA_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(name, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "xnca: unknown command '%s'\ntry 'xnca --help'\n", name);
    return XNCA_EXIT_USAGE;
}
