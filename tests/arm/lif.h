/* Our own code (see s1615.h): sPyNNaker 1!7.4.1's neuron and synapse arithmetic, per neuron and tick. */
#ifndef NC_LIF_H
#define NC_LIF_H

#include "s1615.h"

/* ---------------------------------------------------------------- neuron and synapse arithmetic */

/* neuron/decay.h decay_s1615: s16.15 times u0.32 through int64, >> 32. */
static inline accum decay_s1615(accum x, unsigned long fract decay) {
    int64_t s = (int64_t) bitsk(x);
    int64_t u = (int64_t) bitsulr(decay);
    return kbits((int32_t) ((s * u) >> 32));
}

/* neuron/decay.h decay_s1615_to_u032 (the exp synapse's init factor). */
static inline unsigned long fract decay_s1615_to_u032(accum x, unsigned long fract decay) {
    uint64_t s = (uint64_t) bitsk(x);
    uint64_t u = (uint64_t) bitsulr(decay);
    return ulrbits((uint32_t) ((s * u) >> 15));
}

/* neuron/synapse_row.h synapse_row_convert_weight_to_input: (int_k_t) weight << shift as an accum. */
static inline accum weight_to_input(uint16_t weight, uint32_t left_shift) {
    return kbits((int32_t) weight << left_shift);
}

/* common/maths-util.h kdivk / kdivui (udiv64 is an unsigned 64-bit division). */
static inline accum kdivk(accum a, accum b) {
    return kbits((uint32_t) (((uint64_t) bitsk(a) << 15) / (uint64_t) bitsk(b)));
}
static inline accum kdivui(accum a, uint32_t b) {
    return kbits((uint32_t) (long int) ((uint64_t) bitsk(a) / (uint64_t) b));
}

/* neuron/models/neuron_model_lif_impl.h lif_ceil_accum. */
static inline int32_t lif_ceil_accum(accum value) {
    int32_t bits = bitsk(value);
    int32_t integer = bits >> 15;
    int32_t fraction = bits & 0x7FFF;
    if (fraction > 0) {
        return integer + 1;
    }
    return integer;
}

/* neuron/models/neuron_model_lif_impl.h lif_neuron_closed_form as in 7.4.1 (no rounding). */
static inline accum lif_closed_form(accum v_prev, accum input, accum r, accum v_rest, accum exp_tc) {
    accum alpha = input * r + v_rest;
    return alpha - (exp_tc * (alpha - v_prev));
}

/* neuron/synapses.c process_fixed_synapses: the ring-buffer add, saturating when bit 16 is set. */
static inline uint16_t ring_buffer_add(uint16_t entry, uint32_t weight) {
    uint32_t accumulation = entry + weight;
    uint32_t sat_test = accumulation & 0x10000;
    if (sat_test) {
        accumulation = sat_test - 1;
    }
    return (uint16_t) accumulation;
}

/* ---------------------------------------------------------------- one neuron tick */
/* neuron.c neuron_transfer (ring-buffer entries into the synapse types), then
 * neuron_impl_standard.h neuron_impl_do_timestep_update with neuron_model_lif_impl.h,
 * input_type_current.h / input_type_delta.h, threshold_type_static.h and
 * synapse_types_exponential_impl.h (exp_synapse_utils.h) / synapse_types_delta_impl.h.
 * in:  v refract ie ii e16 i16 kind she shi inite initi ioff dscale r vrest exptc vth vreset tref dece deci
 * out: v refract ie ii u spiked */
static inline void neuron_tick(const int32_t *in, int32_t *out) {
    accum v = kbits(in[0]);
    int32_t refract = in[1];
    accum ie = kbits(in[2]), ii = kbits(in[3]);
    uint16_t e16 = (uint16_t) in[4], i16 = (uint16_t) in[5];
    int exp = in[6] == 0;
    uint32_t she = (uint32_t) in[7], shi = (uint32_t) in[8];
    unsigned long fract inite = ulrbits((uint32_t) in[9]), initi = ulrbits((uint32_t) in[10]);
    accum ioff = kbits(in[11]), dscale = kbits(in[12]), r = kbits(in[13]), vrest = kbits(in[14]);
    accum exptc = kbits(in[15]), vth = kbits(in[16]), vreset = kbits(in[17]);
    int32_t tref = in[18];
    unsigned long fract dece = ulrbits((uint32_t) in[19]), deci = ulrbits((uint32_t) in[20]);

    /* neuron_transfer: value > 0 -> synapse_types_add_neuron_input */
    if (e16 > 0) {
        accum x = weight_to_input(e16, she);
        ie = exp ? ie + decay_s1615(x, inite) : ie + x;
    }
    if (i16 > 0) {
        accum x = weight_to_input(i16, shi);
        ii = exp ? ii + decay_s1615(x, initi) : ii + x;
    }
    /* get the inputs, sum them for recording (before the input type converts them) */
    accum exc_values[1] = {ie}, inh_values[1] = {ii};
    accum total_exc = 0.0k, total_inh = 0.0k;
    total_exc += exc_values[0];
    total_inh += inh_values[0];
    accum recorded_u = total_exc - total_inh;
    if (!exp) { /* input_type_delta.h: input * scale_factor */
        exc_values[0] = exc_values[0] * dscale;
        inh_values[0] = inh_values[0] * dscale;
    }
    /* neuron_model_state_update (external bias and current sources 0) */
    if (refract <= 0) {
        accum t_exc = 0.0k, t_inh = 0.0k;
        t_exc += exc_values[0];
        t_inh += inh_values[0];
        accum input_this_timestep = t_exc - t_inh + 0.0k + ioff + 0.0k;
        v = lif_closed_form(v, input_this_timestep, r, vrest, exptc);
    } else {
        refract--;
    }
    /* threshold_type_static.h: REAL_COMPARE(value, >=, threshold) on the bits */
    int spiked = bitsk(v) >= bitsk(vth);
    if (spiked) { /* neuron_model_has_spiked */
        v = vreset;
        refract = tref;
    }
    /* synapse_types_shape_input */
    if (exp) {
        ie = decay_s1615(ie, dece);
        ii = decay_s1615(ii, deci);
    } else {
        ie = 0.0k;
        ii = 0.0k;
    }
    out[0] = bitsk(v);
    out[1] = refract;
    out[2] = bitsk(ie);
    out[3] = bitsk(ii);
    out[4] = bitsk(recorded_u);
    out[5] = spiked;
}

#endif
