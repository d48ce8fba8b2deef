// SPDX-License-Identifier: GPL-2.0

//! Execution contexts of the networking code, as types.
//!
//! Per-CPU state that the data path updates (the device's `tstats`, a driver's per-CPU
//! counters) may only be updated where the CPU cannot
//! change and no other update on the same CPU can interrupt: with bottom halves disabled. The
//! callbacks that the core runs so (the rx handlers, `ndo_start_xmit`, `ndo_xdp_xmit`) are given
//! a context object that implements [`BhDisabled`], and the updates take one as a proof.

use crate::sync::rcu;

/// Seals [`BhDisabled`] and [`RcuReadSide`].
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

/// A proof that the current CPU is inside an RCU read-side critical section for as long as the
/// object lives: an RCU read lock ([`rcu::Guard`]), or the context object of a callback that
/// the core runs inside one, such as the rx handlers' (`RxContext`, `XdpContext`: the receive
/// path runs with bottom halves disabled, which is a read-side critical section too, and the
/// core holds `rcu_read_lock()` around the skb rx handler). Readers of RCU-published data
/// (`RcuArc::get`, `ProgSlot::get`) take one, so that a callback already in a critical section
/// does not enter another one for each read.
///
/// Sealed: only [`rcu::Guard`] and the contexts of this crate, whose invariants say so,
/// implement it.
pub trait RcuReadSide: private::Sealed {}

impl private::Sealed for rcu::Guard {}
// INVARIANT (of `RcuReadSide`): A guard holds the RCU read lock until it is dropped.
impl RcuReadSide for rcu::Guard {}
