/* IF_curr_exp / IF_curr_delta neurons fed by spike sources and each other through ring buffers, tick by
 * tick, as sPyNNaker 1!7.4.1 does it (our own code, see s1615.h):
 *
 *   c_main.c timer tick t: neuron.c neuron_transfer moves ring-buffer slot t into the synapse types
 *   (lif.h neuron_tick does that part and the neuron_impl_standard.h update per neuron), then every
 *   spike of tick t (spike sources and neurons) goes through synapses.c process_fixed_synapses into
 *   slot (t + delay) & mask, saturating at 0xFFFF; spikes arrive on time (colour delay 0).
 *
 * stdin (int32 words):
 *   NL NI T n_syn mask
 *   NL x 15: kind she shi inite initi ioff dscale r vrest exptc vth vreset tref dece deci
 *   NL: V at tick 0
 *   n_syn x 5: source (0..NI-1 spike sources, NI.. neurons) post w16 delay type, grouped by source
 *   T x NI: spike-source raster (0/1)
 * stdout (int32 words): T x NL x 3: V recorded before the update, exc - inh recorded, spiked.
 */
#include <string.h>

#include "lif.h"
#include "s1615.h"

int main(void) {
    size_t n_words;
    int32_t *in = read_all(&n_words);
    int32_t NL = in[0], NI = in[1], T = in[2], n_syn = in[3];
    uint32_t mask = (uint32_t) in[4];
    const int32_t *par = in + 5;
    const int32_t *v0 = par + 15 * NL;
    const int32_t *syn = v0 + NL;
    const int32_t *raster = syn + 5 * n_syn;
    if ((size_t) (raster - in) + (size_t) T * NI != n_words) {
        fprintf(stderr, "network: %zu words, expected %zu\n", n_words, (size_t) (raster - in) + (size_t) T * NI);
        return 2;
    }
    /* per neuron state: V refract isyn_exc isyn_inh (as the bits of accums) */
    int32_t *state = calloc((size_t) NL * 4, sizeof(int32_t));
    for (int n = 0; n < NL; n++) {
        state[4 * n] = v0[n];
    }
    /* ring buffers: [slot][type][neuron] of 16-bit weights */
    uint32_t n_slots = mask + 1;
    uint16_t *rb = calloc((size_t) n_slots * 2 * NL, sizeof(uint16_t));
    /* first synapse of each source */
    int32_t *first = calloc((size_t) (NI + NL + 1), sizeof(int32_t));
    for (int q = 0; q < n_syn; q++) {
        first[syn[5 * q] + 1]++;
    }
    for (int g = 0; g < NI + NL; g++) {
        first[g + 1] += first[g];
    }
    uint8_t *spiked = calloc((size_t) NL, 1);
    int32_t *out = malloc((size_t) T * NL * 3 * sizeof(int32_t));
    int32_t tick_in[21], tick_out[6];
    for (int32_t t = 0; t < T; t++) {
        uint32_t slot = (uint32_t) t & mask;
        for (int n = 0; n < NL; n++) {
            const int32_t *p = par + 15 * n;
            int32_t *s = state + 4 * n;
            uint16_t *e = rb + ((size_t) slot * 2 + 0) * NL + n;
            uint16_t *i = rb + ((size_t) slot * 2 + 1) * NL + n;
            /* v refract ie ii e16 i16 kind she shi inite initi ioff dscale r vrest exptc vth vreset tref dece deci */
            tick_in[0] = s[0];
            tick_in[1] = s[1];
            tick_in[2] = s[2];
            tick_in[3] = s[3];
            tick_in[4] = *e;
            tick_in[5] = *i;
            memcpy(tick_in + 6, p, 15 * sizeof(int32_t));
            *e = 0;
            *i = 0;
            out[((size_t) t * NL + n) * 3 + 0] = s[0]; /* V recorded before the update */
            neuron_tick(tick_in, tick_out);
            s[0] = tick_out[0];
            s[1] = tick_out[1];
            s[2] = tick_out[2];
            s[3] = tick_out[3];
            out[((size_t) t * NL + n) * 3 + 1] = tick_out[4];
            out[((size_t) t * NL + n) * 3 + 2] = tick_out[5];
            spiked[n] = (uint8_t) tick_out[5];
        }
        for (int g = 0; g < NI + NL; g++) {
            int fired = g < NI ? raster[(size_t) t * NI + g] != 0 : spiked[g - NI] != 0;
            if (!fired) {
                continue;
            }
            for (int q = first[g]; q < first[g + 1]; q++) {
                const int32_t *w = syn + 5 * q;
                uint32_t sl = ((uint32_t) t + (uint32_t) w[3]) & mask;
                uint16_t *entry = rb + ((size_t) sl * 2 + (size_t) w[4]) * NL + w[1];
                *entry = ring_buffer_add(*entry, (uint32_t) w[2]);
            }
        }
    }
    fwrite(out, sizeof(int32_t), (size_t) T * NL * 3, stdout);
    return 0;
}
