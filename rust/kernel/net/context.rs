// SPDX-License-Identifier: GPL-2.0

//! Execution contexts of the networking code, as types.
//!
//! Per-CPU state that the data path updates (the device's `tstats`, a driver's per-CPU
//! counters) may only be updated where the CPU cannot
//! change and no other update on the same CPU can interrupt: with bottom halves disabled. The
//! callbacks that the core runs so (the rx handlers, `ndo_start_xmit`, `ndo_xdp_xmit`) are given
//! a context object that implements [`BhDisabled`], and the updates take one as a proof.

/// Seals [`BhDisabled`].
pub(crate) mod private {
    /// Implemented only by the contexts of this crate.
    pub trait Sealed {}
}

/// A context in which bottom halves (and so preemption) are disabled on the current CPU for as
/// long as the object lives: the contexts of the rx handlers (`RxContext`, `XdpContext`) and of
/// the transmit callbacks (`TxContext`). Such objects are not `Send`: the proof holds on the CPU
/// they were made on.
///
/// Sealed: only the contexts of this crate, whose invariants say so, implement it.
pub trait BhDisabled: private::Sealed {}
