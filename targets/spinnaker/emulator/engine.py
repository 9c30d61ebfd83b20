"""The static SpiNNaker emulator: sPyNNaker 1!7.4.1's IF_curr_exp / IF_curr_delta, bit-exact.

A Program is flattened by :func:`build_plan` (the on-chip initialisation of
``targets/spinnaker/fixed.py`` runs here, once per population) and run by the numba kernels
:func:`run_sample` / :func:`run_batch` (``prange`` over independent samples); ``run.py`` turns the
result into a RunResult. Per tick ``t`` (``docs/targets/spinnaker.md``, "Emulator semantics",
checked against the 7.4.1 binaries):

(a) ring buffer -> synapses: for each neuron and type with a nonzero slot ``t`` entry ``v16``:
    exp: ``isyn += ((v16 << shift) * init) >> 32``; delta: ``isyn += v16 << shift``;
(b) neuron update: record ``V`` (before the update) and ``isyn_exc - isyn_inh``; ``I = exc - inh +
    I_offset`` (delta: each receptor first times ``kdivk(1.0, ts)``); if the refractory timer is
    <= 0 the closed form ``alpha = I*R + V_rest; V = alpha - exp_TC*(alpha - V)`` (truncating
    s16.15 multiplies), else the timer counts down with V held; then (also while refractory)
    ``V >= V_thresh`` spikes, sets ``V = V_reset`` and the timer to ``T_refract``; finally exp
    synapses decay ``isyn = (isyn * decay) >> 32`` and delta synapses are cleared;
(c) every spike of tick ``t`` (spike-source data and neurons) adds its synapses' ``w16`` into slot
    ``t + d`` (``d >= 1``), saturating at 0xFFFF: with on-time delivery the colour delay is 0 and
    no synapse is dropped, so the effect of a spike at ``t0`` appears in the recorded ``v[t0+d+1]``.

int32 wraps are modelled (two's complement) and flagged: ``strict`` raises on the first one.
Ring-buffer saturation is the hardware's documented behaviour and is reported as a warning.
Knowingly not modelled: late or dropped spikes (CPU overload, ``drop_late_spikes``), which
sPyNNaker reports in provenance and an emulator should treat as an error, not reproduce;
``n_steps_per_timestep`` other than 1; current sources and external bias (0 on this path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from neurocompile.program import Program
from neurocompile.targets.spinnaker import fixed, spec

from .arith import (
    KIND_DELTA,
    KIND_EXP,
    N_COLS,
    N_DECE,
    N_DECI,
    N_DSCALE,
    N_EXPTC,
    N_INITE,
    N_INITI,
    N_IOFF,
    N_KIND,
    N_POP,
    N_R,
    N_SHE,
    N_SHI,
    N_TREF,
    N_VRESET,
    N_VREST,
    N_VTH,
    O_SAT,
    O_WRAP,
    neuron_step,
    new_state,
    positions,
    sat_add,
)

PROFILE = "spinnaker"
EXC, INH = spec.EXCITATORY, spec.INHIBITORY


class Network(NamedTuple):
    """The static network as every kernel reads it (:meth:`SpiNNakerPlan.network`)."""

    ntab: np.ndarray  # (NL, N_COLS) int64 per-neuron constants, columns N_* of arith.py
    v0: np.ndarray  # (NL,) initial V, s16.15
    rowptr: np.ndarray  # (NI + NL + 1,) CSR over sources: inputs first, then neurons
    cpost: np.ndarray  # per synapse: global post neuron
    cw: np.ndarray  # per synapse: w16
    cdel: np.ndarray  # per synapse: delay in ticks (>= 1)
    ctype: np.ndarray  # per synapse: synapse type (spec.EXCITATORY / spec.INHIBITORY)
    R: int  # ring-buffer slots (largest delay + 1)
    NI: int  # spike-source neurons
    NL: int  # LIF neurons
    NP: int  # neuron populations (rows of ovf)


class Recorded(NamedTuple):
    """Per observable, the global indices of the recorded neurons (``record_index`` in run.py)."""

    u: np.ndarray
    v: np.ndarray
    s: np.ndarray


class Outputs(NamedTuple):
    """What a kernel writes: ``u``, ``v`` (int64, s16.15) and ``s`` (uint8) of shape (T, len(Recorded.*)),
    ``ovf`` (NP, 2): first tick + 1 of an int32 wrap / ring-buffer saturation per population. The
    batch kernels take the same with a leading batch axis."""

    u: np.ndarray
    v: np.ndarray
    s: np.ndarray
    ovf: np.ndarray


@dataclass
class SpiNNakerPlan:
    in_names: list[str]
    in_slices: dict[str, tuple[int, int]]
    neuron_names: list[str]
    neuron_slices: dict[str, tuple[int, int]]
    ntab: np.ndarray  # (NL, N_COLS)
    v0: np.ndarray  # (NL,)
    rowptr: np.ndarray  # (NI + NL + 1,) CSR over sources: inputs first, then neurons
    cpost: np.ndarray
    cw: np.ndarray
    cdel: np.ndarray
    ctype: np.ndarray
    R: int
    NI: int
    NL: int

    def network(self) -> Network:
        """The kernels' table (built on call: :class:`.stdp.StdpPlan` may raise ``R``)."""
        return Network(
            self.ntab,
            self.v0,
            self.rowptr,
            self.cpost,
            self.cw,
            self.cdel,
            self.ctype,
            int(self.R),
            int(self.NI),
            int(self.NL),
            len(self.neuron_names),
        )


def neuron_constants(pop, tick_ms: float) -> dict[str, np.ndarray | int]:
    """The integers the chip derives for a neuron population (on-chip init, §2.2)."""
    p = pop.params
    base = fixed.lif_init(
        v_init=0.0,
        v_rest=p["v_rest"],
        cm=p["cm"],
        tau_m=p["tau_m"],
        i_offset=0.0,
        v_reset=p["v_reset"],
        tau_refrac=p["tau_refrac"],
        dt_ms=tick_ms,
    )
    out: dict[str, np.ndarray | int] = {k: base[k] for k in ("V_rest", "R", "exp_TC", "V_reset", "T_refract")}
    out["V_thresh"] = fixed.s1615(p["v_thresh"])
    out["I_offset"] = fixed.s1615_array(np.asarray(p["i_offset"], np.float64).reshape(-1))
    out["V_init"] = fixed.s1615_array(np.asarray(p["v_init"], np.float64).reshape(-1))
    if pop.kind == "if_curr_exp":
        e = fixed.exp_syn_init(p["tau_syn_E"], tick_ms)
        i = fixed.exp_syn_init(p["tau_syn_I"], tick_ms)
        out.update(decay_e=e["decay"], decay_i=i["decay"], init_e=e["init"], init_i=i["init"], delta_scale=0)
    else:
        out.update(decay_e=0, decay_i=0, init_e=0, init_i=0, delta_scale=fixed.delta_input_scale(tick_ms))
    return out


def build_plan(program: Program) -> SpiNNakerPlan:
    """Flatten a *validated* spinnaker Program."""
    from neurocompile.targets.spinnaker.schema import tick_ms_of

    tick_ms = tick_ms_of(program)
    pops = program.populations
    in_names = [n for n, p in pops.items() if p.kind in spec.SOURCE_KINDS]
    neuron_names = [n for n, p in pops.items() if p.kind in spec.NEURON_KINDS]
    in_slices, off = {}, 0
    for n in in_names:
        in_slices[n] = (off, pops[n].size)
        off += pops[n].size
    NI = off
    neuron_slices, off = {}, 0
    for n in neuron_names:
        neuron_slices[n] = (off, pops[n].size)
        off += pops[n].size
    NL = off
    ntab = np.zeros((NL, N_COLS), np.int64)
    v0 = np.zeros(NL, np.int64)
    for k, n in enumerate(neuron_names):
        pop = pops[n]
        o, size = neuron_slices[n]
        c = neuron_constants(pop, tick_ms)
        sl = slice(o, o + size)
        ntab[sl, N_VREST] = c["V_rest"]
        ntab[sl, N_R] = c["R"]
        ntab[sl, N_EXPTC] = c["exp_TC"]
        ntab[sl, N_IOFF] = c["I_offset"]
        ntab[sl, N_VRESET] = c["V_reset"]
        ntab[sl, N_VTH] = c["V_thresh"]
        ntab[sl, N_TREF] = c["T_refract"]
        ntab[sl, N_KIND] = KIND_EXP if pop.kind == "if_curr_exp" else KIND_DELTA
        ntab[sl, N_DECE] = c["decay_e"]
        ntab[sl, N_DECI] = c["decay_i"]
        ntab[sl, N_INITE] = c["init_e"]
        ntab[sl, N_INITI] = c["init_i"]
        sh = [int(s) for s in pop.params["ring_buffer_shifts"]]
        ntab[sl, N_SHE] = sh[spec.EXCITATORY]
        ntab[sl, N_SHI] = sh[spec.INHIBITORY]
        ntab[sl, N_DSCALE] = c["delta_scale"]
        ntab[sl, N_POP] = k
        v0[sl] = c["V_init"]
    # synapses, CSR by global source (inputs 0..NI-1, neurons NI..NI+NL-1)
    gsrc, cpost, cw, cdel, ctype = [], [], [], [], []
    max_d = 1
    for proj in program.projections.values():
        p = proj.params
        pre = np.asarray(p["pre"], np.int64).reshape(-1)
        post = np.asarray(p["post"], np.int64).reshape(-1)
        w = np.asarray(p["w16"], np.int64).reshape(-1)
        d = np.asarray(p["delays"], np.int64).reshape(-1)
        keep = w != 0
        pre, post, w, d = pre[keep], post[keep], w[keep], d[keep]
        base = in_slices[proj.pre][0] if proj.pre in in_slices else NI + neuron_slices[proj.pre][0]
        gsrc.append(pre + base)
        cpost.append(post + neuron_slices[proj.post][0])
        cw.append(w)
        cdel.append(d)
        ctype.append(np.full(pre.size, spec.SYNAPSE_TYPES.index(p["receptor"]), np.int64))
        if d.size:
            max_d = max(max_d, int(d.max()))

    def cat(parts):
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    gsrc_a = cat(gsrc)
    order = np.argsort(gsrc_a, kind="stable")
    rowptr = np.zeros(NI + NL + 1, np.int64)
    np.cumsum(np.bincount(gsrc_a, minlength=NI + NL), out=rowptr[1:])
    return SpiNNakerPlan(
        in_names=in_names,
        in_slices=in_slices,
        neuron_names=neuron_names,
        neuron_slices=neuron_slices,
        ntab=ntab,
        v0=v0,
        rowptr=rowptr,
        cpost=cat(cpost)[order],
        cw=cat(cw)[order],
        cdel=cat(cdel)[order],
        ctype=cat(ctype)[order],
        R=max_d + 1,
        NI=NI,
        NL=NL,
    )


@njit(cache=True, nogil=True)
def run_sample(inp, T, net, rec, out):
    """Run one sample for T ticks. ``inp``: (T, NI) uint8 spikes of the spike sources; ``net``:
    :class:`Network`; ``rec``: :class:`Recorded`; ``out``: :class:`Outputs` of this sample."""
    ntab, rowptr, cpost, cw, cdel, ctype = net.ntab, net.rowptr, net.cpost, net.cw, net.cdel, net.ctype
    R, NI, NL = net.R, net.NI, net.NL
    V, refract, ie, ii, rb = new_state(net.v0, R)
    pos_u, pos_v, pos_s = positions(rec.u, NL), positions(rec.v, NL), positions(rec.s, NL)
    out_u, out_v, out_s, ovf = out.u, out.v, out.s, out.ovf
    spk = np.zeros(NL, np.uint8)
    for t in range(T):
        slot = t % R
        for n in range(NL):  # (a), (b)
            e16, i16_ = rb[slot, EXC, n], rb[slot, INH, n]
            rb[slot, EXC, n] = 0
            rb[slot, INH, n] = 0
            if pos_v[n] >= 0:
                out_v[t, pos_v[n]] = V[n]
            V[n], refract[n], ie[n], ii[n], u, spiked, wrapped = neuron_step(
                V[n],
                refract[n],
                ie[n],
                ii[n],
                e16,
                i16_,
                ntab[n, N_KIND] == KIND_EXP,
                ntab[n, N_SHE],
                ntab[n, N_SHI],
                ntab[n, N_INITE],
                ntab[n, N_INITI],
                ntab[n, N_IOFF],
                ntab[n, N_DSCALE],
                ntab[n, N_R],
                ntab[n, N_VREST],
                ntab[n, N_EXPTC],
                ntab[n, N_VTH],
                ntab[n, N_VRESET],
                ntab[n, N_TREF],
                ntab[n, N_DECE],
                ntab[n, N_DECI],
            )
            if pos_u[n] >= 0:
                out_u[t, pos_u[n]] = u
            if wrapped and ovf[ntab[n, N_POP], O_WRAP] == 0:
                ovf[ntab[n, N_POP], O_WRAP] = t + 1
            spk[n] = 1 if spiked else 0
            if pos_s[n] >= 0:
                out_s[t, pos_s[n]] = spk[n]
        # (c) spikes of tick t into slots t + d
        for g in range(NI + NL):
            if g < NI:
                if inp[t, g] == 0:
                    continue
            elif spk[g - NI] == 0:
                continue
            for q in range(rowptr[g], rowptr[g + 1]):
                sl, ty, post = (t + cdel[q]) % R, ctype[q], cpost[q]
                rb[sl, ty, post], sat = sat_add(rb[sl, ty, post], cw[q])
                if sat and ovf[ntab[post, N_POP], O_SAT] == 0:
                    ovf[ntab[post, N_POP], O_SAT] = t + 1


@njit(cache=True, parallel=True)
def run_batch(inp, T, net, rec, out):
    """:func:`run_sample` over the batch axis (independent samples, ``prange``): ``inp`` (B, T, NI),
    ``out``: :class:`Outputs` with a leading batch axis."""
    for b in prange(inp.shape[0]):
        run_sample(inp[b], T, net, rec, Outputs(out.u[b], out.v[b], out.s[b], out.ovf[b]))
