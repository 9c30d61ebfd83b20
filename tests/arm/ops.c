/* One fixed-point operation of sPyNNaker 1!7.4.1, applied to every record on stdin.
 *
 *   ops MODE < records.bin > results.bin
 *
 * Each mode names the sPyNNaker file/function whose operations (same types, same order) it repeats.
 * Records are int32 words (unsigned values are passed as their bit pattern); see MODES below for the
 * number of words in and out per record. Our own code (see s1615.h).
 */
#include <string.h>

#include "lif.h"
#include "s1615.h"
#include "stdp.h"

/* ---------------------------------------------------------------- dispatch */
#define K(i) kbits(in[i])
#define U(i) ((uint32_t) in[i])
#define ULR(i) ulrbits((uint32_t) in[i])

static const char *const MODES[] = {"mul_k", "add_k", "sub_k", "weight_to_input", "decay_s1615", "exp_input", "closed_form", "kdivk", "kdivui", "ceil_accum", "syn_init", "ring_buffer_add", "mul16", "mul_accum_fixed", "trace_add_post", "trace_add_pre", "trace2_decay", "weight_initial", "weight_final", "add_potentiate", "add_depress", "mult_potentiate", "mult_depress", "two_potentiate", "two_depress", "neuron_tick"};
#define N_MODES ((int) (sizeof(MODES) / sizeof(MODES[0])))

static int apply(int mode, const int32_t *in, int32_t *out) {
    if (mode == 0) /* mul_k */ {
        out[0] = bitsk(K(0) * K(1));
    } else if (mode == 1) /* add_k */ {
        out[0] = bitsk(K(0) + K(1));
    } else if (mode == 2) /* sub_k */ {
        out[0] = bitsk(K(0) - K(1));
    } else if (mode == 3) /* weight_to_input */ {
        out[0] = bitsk(weight_to_input((uint16_t) U(0), U(1)));
    } else if (mode == 4) /* decay_s1615 */ {
        out[0] = bitsk(decay_s1615(K(0), ULR(1)));
    } else if (mode == 5) /* exp_input */ { /* exp_synapse_utils.h add_input_exp */
        out[0] = bitsk(K(0) + decay_s1615(weight_to_input((uint16_t) U(1), U(2)), ULR(3)));
    } else if (mode == 6) /* closed_form */ {
        out[0] = bitsk(lif_closed_form(K(0), K(1), K(2), K(3), K(4)));
    } else if (mode == 7) /* kdivk */ {
        out[0] = bitsk(kdivk(K(0), K(1)));
    } else if (mode == 8) /* kdivui */ {
        out[0] = bitsk(kdivui(K(0), U(1)));
    } else if (mode == 9) /* ceil_accum */ {
        out[0] = lif_ceil_accum(K(0));
    } else if (mode == 10) /* syn_init */ { /* exp_synapse_utils.h decay_and_init: 1.0ulr - decay */
        unsigned long fract inv_decay = 1.0ulr - ULR(1);
        out[0] = (int32_t) bitsulr(decay_s1615_to_u032(K(0), inv_decay));
    } else if (mode == 11) /* ring_buffer_add */ {
        out[0] = ring_buffer_add((uint16_t) U(0), U(1) & 0xFFFF);
    } else if (mode == 12) /* mul16 */ {
        out[0] = mul16(in[0], in[1]);
    } else if (mode == 13) /* mul_accum_fixed */ {
        out[0] = bitsk(mul_accum_fixed(K(0), in[1]));
    } else if (mode == 14) /* trace_add_post */ {
        out[0] = trace_add_post((int16_t) in[0], in[1]);
    } else if (mode == 15) /* trace_add_pre */ {
        out[0] = trace_add_pre((int16_t) in[0], in[1]);
    } else if (mode == 16) /* trace2_decay */ {
        out[0] = trace2_decay((int16_t) in[0], in[1]);
    } else if (mode == 17) /* weight_initial */ {
        out[0] = bitsk(weight_initial((uint16_t) U(0), U(1)));
    } else if (mode == 18) /* weight_final */ {
        out[0] = weight_final(K(0), U(1));
    } else if (mode == 19) /* add_potentiate */ {
        out[0] = bitsk(add_potentiate(K(0), K(1), K(2), in[3]));
    } else if (mode == 20) /* add_depress */ {
        out[0] = bitsk(add_depress(K(0), K(1), K(2), in[3]));
    } else if (mode == 21) /* mult_potentiate */ {
        out[0] = bitsk(mult_potentiate(K(0), K(1), K(2), in[3]));
    } else if (mode == 22) /* mult_depress */ {
        out[0] = bitsk(mult_depress(K(0), K(1), K(2), in[3]));
    } else if (mode == 23) /* two_potentiate */ {
        out[0] = bitsk(two_potentiate(K(0), K(1), K(2), K(3), in[4], in[5]));
    } else if (mode == 24) /* two_depress */ {
        out[0] = bitsk(two_depress(K(0), K(1), K(2), K(3), in[4], in[5]));
    } else if (mode == 25) /* neuron_tick */ {
        neuron_tick(in, out);
    } else {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: ops MODE N_IN N_OUT < records > results\n");
        return 2;
    }
    int mode = -1;
    for (int m = 0; m < N_MODES; m++) {
        if (!strcmp(argv[1], MODES[m])) {
            mode = m;
        }
    }
    if (mode < 0) {
        fprintf(stderr, "ops: unknown mode %s\n", argv[1]);
        return 2;
    }
    int n_in = atoi(argv[2]), n_out = atoi(argv[3]);
    size_t n_words;
    int32_t *buf = read_all(&n_words);
    size_t n = n_words / (size_t) n_in;
    int32_t *res = malloc((n ? n : 1) * (size_t) n_out * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        apply(mode, buf + i * n_in, res + i * n_out);
    }
    fwrite(res, sizeof(int32_t), n * (size_t) n_out, stdout);
    return 0;
}
