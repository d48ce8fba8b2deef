// SPDX-License-Identifier: GPL-2.0

//! Per-CPU statistics counters for network drivers.
//!
//! The common counters of `ip -s link` live in the device itself (see
//! [`link::Dev::count_rx`](super::link::Dev::count_rx)). [`PcpuCounters`] is for the counters a
//! driver adds, for example the per-action XDP counters it reports through `ethtool -S`.
//!
//! C header: [`include/linux/u64_stats_sync.h`](srctree/include/linux/u64_stats_sync.h)

use super::context::BhDisabled;
use crate::{bindings, cpu::nr_cpu_ids, prelude::*};
use core::{mem::offset_of, ptr::NonNull};

/// One CPU's counters, as drivers keep theirs (`struct pcpu_dstats` and the like): `u64`
/// counters with a `u64_stats_sync`, which lets readers see each counter whole on 32-bit
/// machines too.
#[repr(C)]
struct Cell<const N: usize> {
    syncp: bindings::u64_stats_sync,
    vals: [bindings::u64_stats_t; N],
}

/// An array of `N` per-CPU `u64` counters.
///
/// Updates are cheap and lockless (each CPU writes its own counters, with bottom halves
/// disabled, so that writers of a CPU never nest); reading sums over the possible CPUs, each
/// counter read whole (`u64_stats_fetch_begin()`/`u64_stats_fetch_retry()`), and may or may not
/// include concurrent updates, as every per-CPU statistic in the kernel.
///
/// # Invariants
///
/// `ptr` is a per-CPU allocation of a `Cell<N>` owned by this object, with every possible CPU's
/// `syncp` initialised.
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
    ptr: NonNull<Cell<N>>,
}

// SAFETY: Each CPU's counters are written only by that CPU, with bottom halves disabled; readers
// use the `u64_stats_sync` protocol. Any thread may update or read them.
unsafe impl<const N: usize> Send for PcpuCounters<N> {}
// SAFETY: See above.
unsafe impl<const N: usize> Sync for PcpuCounters<N> {}

/// Calls `f` with each possible CPU's number.
fn for_each_possible_cpu(mut f: impl FnMut(u32)) {
    for cpu in 0..nr_cpu_ids() {
        // SAFETY: `__cpu_possible_mask` is a static cpumask; `cpu` is below `nr_cpu_ids`.
        if unsafe {
            bindings::cpumask_test_cpu(cpu as c_int, &raw mut bindings::__cpu_possible_mask)
        } {
            f(cpu);
        }
    }
}

impl<const N: usize> PcpuCounters<N> {
    /// Allocates `N` zeroed counters on every possible CPU.
    pub fn new(flags: crate::alloc::Flags) -> Result<Self> {
        // SAFETY: Allocating has no preconditions; per-CPU memory is zeroed.
        let p = unsafe {
            bindings::__alloc_percpu_gfp(
                core::mem::size_of::<Cell<N>>(),
                core::mem::align_of::<Cell<N>>(),
                flags.as_raw(),
            )
        };
        let ptr = NonNull::new(p.cast::<Cell<N>>()).ok_or(ENOMEM)?;
        for_each_possible_cpu(|cpu| {
            // SAFETY: `ptr` is a per-CPU allocation of a `Cell<N>` and `cpu` a possible CPU;
            // nobody else has the allocation yet.
            unsafe {
                let c = bindings::per_cpu_ptr(ptr.as_ptr().cast(), cpu).cast::<Cell<N>>();
                bindings::u64_stats_init(&raw mut (*c).syncp);
            }
        });
        // INVARIANT: A fresh allocation, every possible CPU's `syncp` initialised.
        Ok(Self { ptr })
    }

    /// Adds `val` to counter `idx` on the current CPU. Out-of-range indices are ignored with a
    /// warning.
    ///
    /// Context: any but hard interrupt or NMI (bottom halves are disabled around the update).
    /// In the receive path, [`PcpuCounters::add_in`] saves disabling them again.
    #[inline]
    pub fn add(&self, idx: usize, val: u32) {
        // SAFETY: Disabling bottom halves has no preconditions outside hard interrupts.
        unsafe { bindings::local_bh_disable() };
        self.update(idx, val);
        // SAFETY: Paired with the `local_bh_disable()` above.
        unsafe { bindings::local_bh_enable() };
    }

    /// Adds one to counter `idx`.
    #[inline]
    pub fn inc(&self, idx: usize) {
        self.add(idx, 1)
    }

    /// Adds `val` to counter `idx` on the current CPU, in a context where bottom halves are
    /// already disabled (`ctx`): one call, for a per-frame path.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::net::{rx_handler::RxContext, stats::PcpuCounters};
    ///
    /// # #[allow(dead_code)]
    /// fn count_frame(c: &PcpuCounters<2>, ctx: &RxContext, len: u32) {
    ///     c.inc_in(ctx, 0);
    ///     c.add_in(ctx, 1, len);
    /// }
    /// ```
    #[inline]
    pub fn add_in(&self, _ctx: &impl BhDisabled, idx: usize, val: u32) {
        self.update(idx, val);
    }

    /// Adds one to counter `idx`, in a context where bottom halves are disabled.
    #[inline]
    pub fn inc_in(&self, ctx: &impl BhDisabled, idx: usize) {
        self.add_in(ctx, idx, 1)
    }

    /// Adds one to counters `a` and `b` (which may be the same one, counted twice), in a
    /// context where bottom halves are disabled: one call instead of two, for a per-frame path
    /// that counts a frame twice (received, and by its program's verdict).
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::net::stats::PcpuCounters;
    ///
    /// let c = PcpuCounters::<3>::new(GFP_KERNEL)?;
    /// c.inc2(0, 2);
    /// c.inc2(2, 2);
    /// assert_eq!(c.snapshot(), [1, 0, 3]);
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn inc2_in(&self, _ctx: &impl BhDisabled, a: usize, b: usize) {
        self.update2(a, b);
    }

    /// As [`PcpuCounters::inc2_in`], in any context but hard interrupt or NMI (bottom halves
    /// are disabled around the update).
    pub fn inc2(&self, a: usize, b: usize) {
        // SAFETY: Disabling bottom halves has no preconditions outside hard interrupts.
        unsafe { bindings::local_bh_disable() };
        self.update2(a, b);
        // SAFETY: Paired with the `local_bh_disable()` above.
        unsafe { bindings::local_bh_enable() };
    }

    /// The offset of counter `idx` from the start of a CPU's `Cell<N>`, if `idx` is in range
    /// (with a warning if it is not).
    #[inline]
    fn offset(idx: usize) -> Option<usize> {
        if idx >= N {
            crate::pr_warn_once!("PcpuCounters: index {} out of range\n", idx);
            return None;
        }
        Some(offset_of!(Cell<N>, vals) + idx * core::mem::size_of::<bindings::u64_stats_t>())
    }

    /// The update of two counters. The caller has bottom halves disabled.
    #[inline]
    fn update2(&self, a: usize, b: usize) {
        let (Some(oa), Some(ob)) = (Self::offset(a), Self::offset(b)) else {
            return;
        };
        // SAFETY: As in `update`, for both offsets.
        unsafe { bindings::u64_stats_pcpu_add2(self.ptr.as_ptr().cast(), oa, ob) };
    }

    /// The update itself. The caller has bottom halves disabled.
    #[inline]
    fn update(&self, idx: usize, val: u32) {
        let Some(off) = Self::offset(idx) else {
            return;
        };
        // SAFETY: By the type invariants `ptr` is a per-CPU `Cell<N>`, which starts with its
        // `syncp`, and `off` is the offset of its counter `idx < N`. The caller has bottom halves
        // disabled: the task stays on this CPU and no other writer of this CPU's counters runs
        // until the update is complete, as `u64_stats_update_begin()` requires of its writers.
        unsafe { bindings::u64_stats_pcpu_add(self.ptr.as_ptr().cast(), off, val as c_ulong) };
    }

    /// Returns the sum of counter `idx` over all CPUs (0 for an out-of-range index).
    pub fn get(&self, idx: usize) -> u64 {
        if idx >= N {
            return 0;
        }
        let mut sum = 0u64;
        for_each_possible_cpu(|cpu| {
            // SAFETY: As in `new`; the reader retries while a writer was in the middle of an
            // update.
            sum = sum.wrapping_add(unsafe {
                let c = bindings::per_cpu_ptr(self.ptr.as_ptr().cast(), cpu).cast::<Cell<N>>();
                loop {
                    let start = bindings::u64_stats_fetch_begin(&raw const (*c).syncp);
                    let v = bindings::u64_stats_read(&raw const (*c).vals[idx]);
                    if !bindings::u64_stats_fetch_retry(&raw const (*c).syncp, start) {
                        break v;
                    }
                }
            });
        });
        sum
    }

    /// Returns the sums of all counters.
    pub fn snapshot(&self) -> [u64; N] {
        core::array::from_fn(|i| self.get(i))
    }
}

impl<const N: usize> Drop for PcpuCounters<N> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, `ptr` is our allocation; nobody uses it any more.
        unsafe { bindings::free_percpu(self.ptr.as_ptr().cast()) };
    }
}
