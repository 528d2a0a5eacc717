/* cli_info.c - `xnca info`: a model file's dimensions, sizes, run parameters and metadata. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xnca info --model FILE [--json] [--device cpu]\n\n"
               "Prints the model's variant, dimensions, bit widths, parameter count, device payload size\n"
               "(weight_bytes, spec 9) and metadata.\n\n"
               "  --model FILE   .xnca model file (required)\n"
               "  --json         one JSON object instead of text\n"
               "  --device NAME  target device; only 'cpu' exists in this build\n"
               "  --help         this text\n");
}

/* Metadata lines "key=value" as a JSON object. */
static void print_meta_json(const char *meta)
{
    printf("{");
    int first = 1;
    const char *p = meta ? meta : "";
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq && eq > p) {
            char *key = strndup(p, (size_t)(eq - p));
            char *val = strndup(eq + 1, len - (size_t)(eq - p) - 1);
            if (key && val) {
                printf("%s", first ? "" : ", ");
                cli_json_string(stdout, key);
                printf(": ");
                cli_json_string(stdout, val);
                first = 0;
            }
            free(key);
            free(val);
        }
        p += len + (eol ? 1 : 0);
    }
    printf("}");
}

static void print_json(const xnca_model *m, const char *path)
{
    int is_float = m->variant != XNCA_QUANT;
    printf("{\"file\": ");
    cli_json_string(stdout, path);
    printf(", \"variant\": \"%s\", \"weight_bits\": %d, \"act_bits\": %d, \"state_bits\": %d, \"input_bits\": %d",
           xnca_variant_name(m->variant), m->weight_bits, m->act_bits, m->state_bits, m->input_bits);
    printf(", \"grid\": [%d, %d], \"channels\": %d, \"hidden_channels\": %d, \"classes\": %d", m->grid_w, m->grid_h,
           m->channels, m->hidden_channels, m->classes);
    printf(", \"hidden_layers\": %d, \"perception_width\": %d, \"mlp_width\": %d", m->hidden_layers,
           m->perception_width, m->mlp_width);
    printf(", \"params\": %ld, \"weight_bytes\": %zu", xnca_model_params(m), xnca_model_weight_bytes(m));
    printf(", \"fire_t\": %d, \"fire_rate\": %.6g", m->fire_t, m->fire_t / 256.0);
    if (is_float)
        printf(", \"noise\": {\"kind\": \"gaussian\", \"sigma\": %.6g}", (double)m->noise_sigma);
    else
        printf(", \"noise\": {\"kind\": \"ternary\", \"noise_p\": %d}", m->noise_p);
    printf(", \"meta\": ");
    print_meta_json(m->meta);
    printf("}\n");
}

static void print_text(const xnca_model *m, const char *path)
{
    printf("model          %s\n", path);
    printf("variant        %s", xnca_variant_name(m->variant));
    if (m->variant == XNCA_QUANT) printf(" (W%dA%d)", m->weight_bits, m->act_bits);
    printf("\n");
    printf("grid           %d x %d\n", m->grid_w, m->grid_h);
    printf("channels       %d (1 input, %d hidden, %d class)\n", m->channels, m->hidden_channels, m->classes);
    printf("layers         perception %d -> %d hidden layer(s) of %d -> output %d\n", m->perception_width,
           m->hidden_layers, m->mlp_width, m->channels - 1);
    printf("bits           weight %d, activation %d, state %d, input %d\n", m->weight_bits, m->act_bits,
           m->state_bits, m->input_bits);
    printf("params         %ld\n", xnca_model_params(m));
    printf("weight_bytes   %zu\n", xnca_model_weight_bytes(m));
    printf("fire           fire_t %d (rate %.4g)\n", m->fire_t, m->fire_t / 256.0);
    if (m->variant == XNCA_QUANT)
        printf("noise          noise_p %d\n", m->noise_p);
    else
        printf("noise          sigma %.6g\n", (double)m->noise_sigma);
    if (m->meta && *m->meta) {
        printf("metadata\n");
        const char *p = m->meta;
        while (*p) {
            const char *eol = strchr(p, '\n');
            int len = eol ? (int)(eol - p) : (int)strlen(p);
            printf("  %.*s\n", len, p);
            p += len + (eol ? 1 : 0);
        }
    }
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                          {"json", no_argument, 0, 'j'},
                                          {"device", required_argument, 0, 'd'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *model_path = NULL, *device = NULL;
    int json = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'j': json = 1; break;
        case 'd': device = optarg; break;
        case 'h': usage(stdout); return XNCA_EXIT_OK;
        case ':': return cli_usage_error("info", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("info", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("info", "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error("info", "--model FILE is required");
    int rc = cli_check_device("info", device);
    if (rc) return rc;
    xnca_model m;
    if ((rc = cli_load_model("info", model_path, &m))) return rc;
    if (json)
        print_json(&m, model_path);
    else
        print_text(&m, model_path);
    xnca_model_free(&m);
    return XNCA_EXIT_OK;
}
