/* One STDP projection's deferred weight updates, tick by tick, as sPyNNaker 1!7.4.1 does them (our own
 * code, see s1615.h), given the pre and post spike rasters:
 *
 *   post spike of neuron n at tick t: synapse_dynamics_stdp_mad_impl.c
 *     synapse_dynamics_process_post_synaptic_event -> post_events.h post_events_add (16 entries with the
 *     t = 0 sentinel, the oldest real one dropped when full) of timing_add_post_spike;
 *   pre spike of row j at tick t (on time: colour delay 0): synapse_dynamics_process_plastic_synapses
 *     (new pre trace, then per synapse process_plastic_synapse -> plasticity_update_synapse:
 *     post_events_get_window_delayed, timing_apply_post_spike per window event, timing_apply_pre_spike
 *     if a post event precedes the window; axonal delay 0, dendritic delay = the synapse's delay,
 *     backprop_delay true), weight_get_initial / weight_get_final.
 * The post events of a tick are added before its pre spikes are processed.
 *
 * stdin (int32 words):
 *   n_pre n_post T n_syn timing(0 pair, 1 Pfister) weight(0 additive, 1 multiplicative, 2 two-term)
 *   w_min w_max a2_plus a2_minus a3_plus a3_minus (s16.15)
 *   4 LUTs (tau+, tau-, tau_x, tau_y): size shift value[size]
 *   n_syn x 5: pre post delay shift w16
 *   T x n_pre pre raster, T x n_post post raster (0/1)
 * stdout (int32 words): T x n_syn w16 after each tick.
 */
#include "s1615.h"
#include "stdp.h"

#define MAX_POST_SYNAPTIC_EVENTS 16

typedef struct {
    int16_t o1, o2;
    uint32_t last_spike_time; /* Pfister only */
} post_trace_t;
typedef struct {
    int16_t r1, r2;
} pre_trace_t;
typedef struct {
    uint32_t count_minus_one;
    uint32_t times[MAX_POST_SYNAPTIC_EVENTS];
    post_trace_t traces[MAX_POST_SYNAPTIC_EVENTS];
} post_event_history_t;
typedef struct {
    const uint32_t *prev_time, *next_time;
    const post_trace_t *prev_trace, *next_trace;
    uint32_t num_events, prev_time_valid;
} post_event_window_t;
typedef struct {
    uint32_t size, shift;
    const int32_t *values;
} lut_t;

static int timing, weight_rule;
static accum w_min, w_max, a2_plus, a2_minus, a3_plus, a3_minus;
static lut_t lut_plus, lut_minus, lut_x, lut_y;

/* maths.h maths_lut_exponential_decay (the values are int16 on chip) */
static inline int32_t lut_decay(uint32_t time, const lut_t *lut) {
    uint32_t lut_index = time >> lut->shift;
    return (lut_index < lut->size) ? (int16_t) lut->values[lut_index] : 0;
}

/* timing_pair_impl.h / timing_pfister_triplet_impl.h timing_add_post_spike */
static post_trace_t add_post_spike(uint32_t time, uint32_t last_time, post_trace_t last) {
    uint32_t delta_time = time - last_time;
    post_trace_t next = {0, 0, 0};
    if (timing == 0) {
        next.o1 = trace_add_post(last.o1, lut_decay(delta_time, &lut_minus));
        return next;
    }
    next.o1 = (int16_t) mul16(last.o1, lut_decay(delta_time, &lut_minus));
    if (last.last_spike_time == 0) {
        next.o2 = (int16_t) mul16(last.o2, lut_decay(delta_time, &lut_y));
    } else {
        next.o2 = trace2_decay(last.o2, lut_decay(time - last.last_spike_time, &lut_y));
    }
    next.o1 += STDP_FIXED_POINT_ONE;
    next.last_spike_time = time;
    return next;
}

/* timing_*_impl.h timing_add_pre_spike */
static pre_trace_t add_pre_spike(uint32_t time, uint32_t last_time, pre_trace_t last) {
    uint32_t delta_time = time - last_time;
    pre_trace_t next = {0, 0};
    next.r1 = trace_add_pre(last.r1, lut_decay(delta_time, &lut_plus));
    if (timing == 1) {
        next.r2 = (last_time == 0) ? 0 : trace2_decay(last.r2, lut_decay(delta_time, &lut_x));
    }
    return next;
}

/* post_events.h */
static void post_events_add(uint32_t time, post_event_history_t *events, post_trace_t trace) {
    if (events->count_minus_one < MAX_POST_SYNAPTIC_EVENTS - 1) {
        const uint32_t new_index = ++events->count_minus_one;
        events->times[new_index] = time;
        events->traces[new_index] = trace;
    } else {
        for (uint32_t e = 2; e < MAX_POST_SYNAPTIC_EVENTS; e++) {
            events->times[e - 1] = events->times[e];
            events->traces[e - 1] = events->traces[e];
        }
        events->times[MAX_POST_SYNAPTIC_EVENTS - 1] = time;
        events->traces[MAX_POST_SYNAPTIC_EVENTS - 1] = trace;
    }
}

static post_event_window_t post_events_get_window_delayed(
        const post_event_history_t *events, uint32_t begin_time, uint32_t end_time) {
    const uint32_t count = events->count_minus_one + 1;
    const uint32_t *end_event_time = events->times + count;
    const uint32_t *event_time = end_event_time;
    const post_trace_t *event_trace = events->traces + count;
    post_event_window_t window;
    do {
        /* the first pass reads times[count] (one past the newest event): a stale or zero word on chip;
         * it can only move end_event_time to itself, so reading it as 0 is the same */
        uint32_t t = (event_time == events->times + count) ? 0 : *event_time;
        if (t > end_time) {
            end_event_time = event_time;
        }
        window.next_time = event_time--;
        window.next_trace = event_trace--;
    } while (*event_time > begin_time && event_time != events->times);
    window.prev_time = event_time;
    window.prev_trace = event_trace;
    window.prev_time_valid = event_time != events->times;
    window.num_events = (uint32_t) (end_event_time - window.next_time);
    return window;
}

static accum apply_post_spike(uint32_t time, post_trace_t trace, uint32_t last_pre_time, pre_trace_t last_pre,
                              accum w) {
    uint32_t time_since_last_pre = time - last_pre_time;
    if (time_since_last_pre > 0) {
        int32_t decayed_r1 = mul16(last_pre.r1, lut_decay(time_since_last_pre, &lut_plus));
        if (weight_rule == 0) {
            return add_potentiate(w, a2_plus, w_max, decayed_r1);
        } else if (weight_rule == 1) {
            return mult_potentiate(w, a2_plus, w_max, decayed_r1);
        }
        return two_potentiate(w, a2_plus, a3_plus, w_max, decayed_r1, trace.o2);
    }
    return w;
}

static accum apply_pre_spike(uint32_t time, pre_trace_t trace, uint32_t last_post_time, post_trace_t last_post,
                             accum w) {
    uint32_t time_since_last_post = time - last_post_time;
    int32_t decayed_o1 = mul16(last_post.o1, lut_decay(time_since_last_post, &lut_minus));
    if (weight_rule == 0) {
        return add_depress(w, a2_minus, w_min, decayed_o1);
    } else if (weight_rule == 1) {
        return mult_depress(w, a2_minus, w_min, decayed_o1);
    }
    return two_depress(w, a2_minus, a3_minus, w_min, decayed_o1, trace.r2);
}

/* synapse_dynamics_stdp_mad_impl.c plasticity_update_synapse (delay_axonal = 0) */
static accum update_synapse(uint32_t time, uint32_t last_pre_time, pre_trace_t last_pre_trace,
                            pre_trace_t new_pre_trace, uint32_t delay_dendritic, accum w,
                            const post_event_history_t *history) {
    const uint32_t delayed_last_pre_time = last_pre_time;
    const uint32_t window_begin_time =
            (delayed_last_pre_time >= delay_dendritic) ? (delayed_last_pre_time - delay_dendritic) : 0;
    const uint32_t delayed_pre_time = time;
    const uint32_t window_end_time = (delayed_pre_time >= delay_dendritic) ? (delayed_pre_time - delay_dendritic) : 0;
    post_event_window_t window = post_events_get_window_delayed(history, window_begin_time, window_end_time);
    while (window.num_events > 0) {
        const uint32_t delayed_post_time = *window.next_time + delay_dendritic;
        w = apply_post_spike(delayed_post_time, *window.next_trace, delayed_last_pre_time, last_pre_trace, w);
        /* post_events_next */
        window.prev_time = window.next_time++;
        window.prev_trace = window.next_trace++;
        window.prev_time_valid = 1;
        window.num_events--;
    }
    if (window.prev_time_valid) {
        const uint32_t delayed_last_post = *window.prev_time + delay_dendritic;
        w = apply_pre_spike(delayed_pre_time, new_pre_trace, delayed_last_post, *window.prev_trace, w);
    }
    return w;
}

static const int32_t *read_lut(const int32_t *p, lut_t *lut) {
    lut->size = (uint32_t) p[0];
    lut->shift = (uint32_t) p[1];
    lut->values = p + 2;
    return p + 2 + lut->size;
}

int main(void) {
    size_t n_words;
    int32_t *in = read_all(&n_words);
    int32_t n_pre = in[0], n_post = in[1], T = in[2], n_syn = in[3];
    timing = in[4];
    weight_rule = in[5];
    w_min = kbits(in[6]);
    w_max = kbits(in[7]);
    a2_plus = kbits(in[8]);
    a2_minus = kbits(in[9]);
    a3_plus = kbits(in[10]);
    a3_minus = kbits(in[11]);
    const int32_t *p = in + 12;
    p = read_lut(p, &lut_plus);
    p = read_lut(p, &lut_minus);
    p = read_lut(p, &lut_x);
    p = read_lut(p, &lut_y);
    const int32_t *syn = p;
    const int32_t *pre_raster = syn + 5 * n_syn;
    const int32_t *post_raster = pre_raster + (size_t) T * n_pre;
    if ((size_t) (post_raster - in) + (size_t) T * n_post != n_words) {
        fprintf(stderr, "stdp_net: %zu words, expected %zu\n", n_words,
                (size_t) (post_raster - in) + (size_t) T * n_post);
        return 2;
    }
    post_event_history_t *history = calloc((size_t) n_post, sizeof(post_event_history_t));
    uint32_t *prev_time = calloc((size_t) n_pre, sizeof(uint32_t));
    pre_trace_t *prev_trace = calloc((size_t) n_pre, sizeof(pre_trace_t));
    uint16_t *w16 = malloc((size_t) (n_syn ? n_syn : 1) * sizeof(uint16_t));
    for (int q = 0; q < n_syn; q++) {
        w16[q] = (uint16_t) syn[5 * q + 4];
    }
    int32_t *out = malloc((size_t) T * (n_syn ? n_syn : 1) * sizeof(int32_t));
    for (int32_t t = 0; t < T; t++) {
        for (int n = 0; n < n_post; n++) {
            if (post_raster[(size_t) t * n_post + n]) {
                post_event_history_t *h = &history[n];
                post_events_add((uint32_t) t, h,
                                add_post_spike((uint32_t) t, h->times[h->count_minus_one],
                                               h->traces[h->count_minus_one]));
            }
        }
        for (int j = 0; j < n_pre; j++) {
            if (!pre_raster[(size_t) t * n_pre + j]) {
                continue;
            }
            uint32_t last_pre_time = prev_time[j];
            pre_trace_t last_pre_trace = prev_trace[j];
            prev_time[j] = (uint32_t) t;
            prev_trace[j] = add_pre_spike((uint32_t) t, last_pre_time, last_pre_trace);
            for (int q = 0; q < n_syn; q++) {
                const int32_t *s = syn + 5 * q;
                if (s[0] != j) {
                    continue;
                }
                accum w = weight_initial(w16[q], (uint32_t) s[3]);
                w = update_synapse((uint32_t) t, last_pre_time, last_pre_trace, prev_trace[j], (uint32_t) s[2], w,
                                   &history[s[1]]);
                w16[q] = weight_final(w, (uint32_t) s[3]);
            }
        }
        for (int q = 0; q < n_syn; q++) {
            out[(size_t) t * n_syn + q] = w16[q];
        }
    }
    fwrite(out, sizeof(int32_t), (size_t) T * n_syn, stdout);
    return 0;
}
