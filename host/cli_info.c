/* cli_info.c - `xnca info`: a model file's dimensions, sizes, run parameters and metadata; or,
 * without --model, a device's INFO reply (docs/protocol.md 3.2). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_device.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xnca info --model FILE [--json] [--device cpu]\n"
               "       xnca info --device D [--json]\n\n"
               "With --model: prints the model's variant, dimensions, bit widths, parameter count, device\n"
               "payload size (weight_bytes, spec 9) and metadata (on the CPU; no device is opened).\n"
               "Without --model: opens device D and prints its INFO reply: protocol version, build id,\n"
               "board, clock, the grid and widths it is built for, its units and caps.\n\n"
               "  --model FILE   .xnca model file\n"
               "  --device D     cpu, usb[:VID:PID[:SERIAL]][@BAUD], tty:PATH[@BAUD], sim[:BOARD], or auto\n"
               "                 (a USB board if one answers, else sim, else cpu); sim[:BOARD]@[SOCKET] or\n"
               "                 unix:SOCKET: a device served by `xnca sim`; with --model only 'cpu'\n"
               "  --json         one JSON object instead of text\n"
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

static void print_device_json(xnca_dev *dev)
{
    const xnca_device_info *in = xnca_info(dev);
    printf("{\"device\": ");
    cli_json_string(stdout, xnca_transport_name(dev));
    if (xnca_link_baud(dev)) {
        printf(", \"baud\": %d, \"link\": ", xnca_link_baud(dev));
        cli_json_string(stdout, xnca_link_description(dev));
    } else {
        printf(", \"baud\": null, \"link\": null");
    }
    printf(", \"protocol_version\": %u, \"build_id\": \"%08x\", \"board\": ", in->protocol_version, in->build_id);
    cli_json_string(stdout, in->board);
    printf(", \"clock_hz\": %u, \"grid_w\": %u, \"grid_h\": %u, \"channels\": %u, \"hidden_channels\": %u",
           in->clock_hz, in->grid_w, in->grid_h, in->channels, in->hidden_channels);
    printf(", \"perception_width\": %u, \"mlp_width\": %u, \"units\": %u, \"synapse_bits_per_unit\": %u",
           in->perception_width, in->mlp_width, in->units, in->synapse_bits_per_unit);
    printf(", \"max_weight_bits\": %u, \"max_act_bits\": %u, \"max_weight_bytes\": %u, \"input_buffer_bytes\": %u",
           in->max_weight_bits, in->max_act_bits, in->max_weight_bytes, in->input_buffer_bytes);
    printf(", \"max_payload\": %u, \"max_hidden_layers\": %u, \"max_state_bits\": %u, \"max_report\": %u"
           ", \"features\": {\"raw_grid\": %s, \"float\": %s}}\n",
           in->max_payload, in->max_hidden_layers, in->max_state_bits, in->max_report,
           in->features & XNCA_FEATURE_RAW_GRID ? "true" : "false", in->features & XNCA_FEATURE_FLOAT ? "true" : "false");
}

static void print_device_text(xnca_dev *dev)
{
    const xnca_device_info *in = xnca_info(dev);
    if (xnca_link_baud(dev)) /* a serial link: which bridge or port, at what baud */
        printf("device         %s (%s)\n", xnca_transport_name(dev), xnca_link_description(dev));
    else
        printf("device         %s\n", xnca_transport_name(dev));
    printf("board          %s\n", in->board);
    printf("build id       %08x\n", in->build_id);
    printf("protocol       %u\n", in->protocol_version);
    if (in->clock_hz)
        printf("clock          %.3f MHz\n", in->clock_hz / 1e6);
    else
        printf("clock          none (reference engine)\n");
    printf("grid           %u x %u\n", in->grid_w, in->grid_h);
    printf("channels       %u (%u hidden)\n", in->channels, in->hidden_channels);
    printf("widths         perception %u, mlp %u, hidden layers <= %u\n", in->perception_width, in->mlp_width,
           in->max_hidden_layers);
    printf("units          %u x %u synapse bits\n", in->units, in->synapse_bits_per_unit);
    printf("bits           weight <= %u, activation <= %u, state <= %u\n", in->max_weight_bits, in->max_act_bits,
           in->max_state_bits);
    printf("weight bytes   <= %u\n", in->max_weight_bytes);
    printf("link           input buffer %u B, max payload %u B, %u report steps\n", in->input_buffer_bytes,
           in->max_payload, in->max_report);
    printf("features       %s%s\n", in->features & XNCA_FEATURE_RAW_GRID ? "raw-grid " : "",
           in->features & XNCA_FEATURE_FLOAT ? "float" : "");
}

static int device_info(const char *device, int json)
{
    xnca_dev *dev;
    int rc = cli_device_open("info", device, &dev);
    if (rc)
        return rc;
    if (json)
        print_device_json(dev);
    else
        print_device_text(dev);
    xnca_close(dev);
    return XNCA_EXIT_OK;
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
    if (!model_path && device) return device_info(device, json);
    if (!model_path) return cli_usage_error("info", "--model FILE is required (or --device D to query a device)");
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
