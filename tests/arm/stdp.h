/* Our own code (see s1615.h): sPyNNaker 1!7.4.1's STDP trace and weight arithmetic. */
#ifndef NC_STDP_H
#define NC_STDP_H

#include "s1615.h"

/* ---------------------------------------------------------------- STDP (stdp_typedefs.h, maths.h) */
#define STDP_FIXED_POINT 11
#define STDP_FIXED_POINT_ONE (1 << STDP_FIXED_POINT)

/* maths.h maths_fixed_mul16: __smulbb(a, b) >> fixed_point. */
static inline int32_t mul16(int32_t a, int32_t b) {
    return smulbb(a, b) >> STDP_FIXED_POINT;
}
/* stdp_typedefs.h mul_accum_fixed: accum times kbits(trace << 4). */
static inline accum mul_accum_fixed(accum a, int32_t stdp_fixed) {
    return a * kbits(stdp_fixed << 4);
}
/* timing_pair_impl.h timing_add_post_spike: int16 decayed o1, plus 1.0 as int16. */
static inline int16_t trace_add_post(int16_t last_trace, int32_t lut) {
    int16_t decayed_o1_trace = (int16_t) mul16(last_trace, lut);
    int16_t new_o1_trace = decayed_o1_trace + STDP_FIXED_POINT_ONE;
    return new_o1_trace;
}
/* timing_pair_impl.h timing_add_pre_spike: int32 decayed r1, plus 1.0, returned as int16. */
static inline int16_t trace_add_pre(int16_t last_trace, int32_t lut) {
    int32_t decayed_r1_trace = mul16(last_trace, lut);
    int32_t new_r1_trace = decayed_r1_trace + STDP_FIXED_POINT_ONE;
    return (int16_t) new_r1_trace;
}
/* timing_pfister_triplet_impl.h: r2 / o2 = mul16(last + 1.0, LUT) into an int16 trace field. */
static inline int16_t trace2_decay(int16_t last_trace, int32_t lut) {
    return (int16_t) mul16(last_trace + STDP_FIXED_POINT_ONE, lut);
}
/* weight_*_impl.h weight_get_initial / weight_get_final (weight_t is uint16). */
static inline accum weight_initial(uint16_t weight, uint32_t shift) {
    return kbits(weight << shift);
}
static inline uint16_t weight_final(accum w, uint32_t shift) {
    return (uint16_t) (bitsk(w) >> shift);
}
/* weight_additive_one_term_impl.h */
static inline accum add_potentiate(accum w, accum a2_plus, accum w_max, int32_t a) {
    w += mul_accum_fixed(a2_plus, a);
    int32_t x = bitsk(w), y = bitsk(w_max);
    return kbits(x <= y ? x : y);
}
static inline accum add_depress(accum w, accum a2_minus, accum w_min, int32_t a) {
    w -= mul_accum_fixed(a2_minus, a);
    int32_t x = bitsk(w), y = bitsk(w_min);
    return kbits(x > y ? x : y);
}
/* weight_multiplicative_impl.h */
static inline accum mult_potentiate(accum w, accum a2_plus, accum w_max, int32_t p) {
    accum scale = (w_max - w) * a2_plus;
    w += mul_accum_fixed(scale, p);
    return w;
}
static inline accum mult_depress(accum w, accum a2_minus, accum w_min, int32_t d) {
    accum scale = (w - w_min) * a2_minus;
    w -= mul_accum_fixed(scale, d);
    return w;
}
/* timing_pfister_triplet_impl.h timing_apply_post_spike / _pre_spike (the products of the decayed
 * trace with the other side's second trace) + weight_additive_two_term_impl.h */
static inline accum two_potentiate(accum w, accum a2, accum a3, accum w_max, int32_t dr1, int32_t o2) {
    int32_t dr1_o2 = mul16(dr1, o2);
    w += mul_accum_fixed(a2, dr1);
    w += mul_accum_fixed(a3, dr1_o2);
    int32_t x = bitsk(w), y = bitsk(w_max);
    return kbits(x <= y ? x : y);
}
static inline accum two_depress(accum w, accum a2, accum a3, accum w_min, int32_t do1, int32_t r2) {
    int32_t do1_r2 = mul16(do1, r2);
    w -= mul_accum_fixed(a2, do1);
    w -= mul_accum_fixed(a3, do1_r2);
    int32_t x = bitsk(w), y = bitsk(w_min);
    return kbits(x > y ? x : y);
}

#endif
