// SPDX-License-Identifier: GPL-2.0

//! Per-CPU statistics counters for network drivers.
//!
//! The common counters of `ip -s link` live in the device itself (see
//! [`link::Dev::count_rx`](super::link::Dev::count_rx)). [`PcpuCounters`] is for the counters a
//! driver adds, for example the per-action XDP counters it reports through `ethtool -S`.

use crate::{bindings, prelude::*};
use core::ptr::NonNull;

/// An array of `N` per-CPU `u64` counters.
///
/// Updates are cheap and lockless (`this_cpu_add()`); reading sums over the possible CPUs and
/// may or may not include concurrent updates, as every per-CPU statistic in the kernel.
///
/// # Invariants
///
/// `ptr` is a per-CPU allocation of `N` `u64`s owned by this object.
///
/// # Examples
///
/// ```
/// use kernel::net::stats::PcpuCounters;
///
/// let c = PcpuCounters::<3>::new(GFP_KERNEL)?;
/// c.add(1, 5);
/// c.inc(1);
/// assert_eq!(c.get(0), 0);
/// assert_eq!(c.get(1), 6);
/// assert_eq!(c.snapshot(), [0, 6, 0]);
/// # Ok::<(), Error>(())
/// ```
pub struct PcpuCounters<const N: usize> {
    ptr: NonNull<c_void>,
}

// SAFETY: The counters are per-CPU and updated with IRQ-safe per-CPU operations; any thread may
// update or read them.
unsafe impl<const N: usize> Send for PcpuCounters<N> {}
// SAFETY: See above.
unsafe impl<const N: usize> Sync for PcpuCounters<N> {}

impl<const N: usize> PcpuCounters<N> {
    /// Allocates `N` zeroed counters on every possible CPU.
    pub fn new(flags: crate::alloc::Flags) -> Result<Self> {
        // SAFETY: Allocating has no preconditions; per-CPU memory is zeroed.
        let p = unsafe { bindings::net_pcpu_u64_alloc(N, flags.as_raw()) };
        // INVARIANT: `p` is a fresh allocation of `N` counters.
        Ok(Self {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
        })
    }

    /// Adds `val` to counter `idx` on the current CPU. Out-of-range indices are a build error
    /// when `idx` is a constant, and ignored with a warning otherwise.
    #[inline]
    pub fn add(&self, idx: usize, val: u64) {
        if idx >= N {
            crate::pr_warn_once!("PcpuCounters: index {} out of range\n", idx);
            return;
        }
        // SAFETY: By the type invariants the allocation holds `N > idx` counters.
        unsafe { bindings::net_pcpu_u64_add(self.ptr.as_ptr(), idx, val) };
    }

    /// Adds one to counter `idx`.
    #[inline]
    pub fn inc(&self, idx: usize) {
        self.add(idx, 1)
    }

    /// Returns the sum of counter `idx` over all CPUs (0 for an out-of-range index).
    pub fn get(&self, idx: usize) -> u64 {
        if idx >= N {
            return 0;
        }
        // SAFETY: As for `add`.
        unsafe { bindings::net_pcpu_u64_sum(self.ptr.as_ptr(), idx) }
    }

    /// Returns the sums of all counters.
    pub fn snapshot(&self) -> [u64; N] {
        core::array::from_fn(|i| self.get(i))
    }
}

impl<const N: usize> Drop for PcpuCounters<N> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, `ptr` is our allocation; nobody uses it any more.
        unsafe { bindings::net_pcpu_u64_free(self.ptr.as_ptr()) };
    }
}
