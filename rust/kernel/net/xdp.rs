// SPDX-License-Identifier: GPL-2.0

//! XDP: programs, buffers and frames.
//!
//! - [`Prog`]: a reference-counted XDP program (`struct bpf_prog`); [`ProgSlot`], where a
//!   device publishes its program for the receive path under RCU; and [`RcuProg`], a program as
//!   a reader of a slot sees it, which can be run but holds no reference.
//! - [`Buff`]: a frame being processed in a driver's receive path (`struct xdp_buff`).
//! - [`Frame`]: an owned frame redirected to a device (`struct xdp_frame`), as `ndo_xdp_xmit`
//!   receives them.
//! - [`run_generic`]: runs a program on an skb, as generic XDP does.
//!
//! C headers: [`include/net/xdp.h`](srctree/include/net/xdp.h),
//! [`include/linux/filter.h`](srctree/include/linux/filter.h)

use super::{
    device::{Device, MacAddr, ETH_ALEN},
    rtnl::Rtnl,
    rx_handler::RxContext,
    skb::SkBuff,
};
use crate::{
    bindings,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    sync::rcu,
    types::Opaque,
};
use core::{
    ptr::{self, NonNull},
    sync::atomic::{AtomicPtr, Ordering},
};

/// The verdict of an XDP program (`enum xdp_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `XDP_ABORTED`: the program failed; drop the frame and trace an exception.
    Aborted,
    /// `XDP_DROP`: drop the frame.
    Drop,
    /// `XDP_PASS`: pass the frame on to the stack.
    Pass,
    /// `XDP_TX`: send the frame back out of the device it arrived on.
    Tx,
    /// `XDP_REDIRECT`: the program chose a target with a redirect helper.
    Redirect,
    /// A value the kernel does not know; treated as [`Action::Aborted`] after a warning.
    Unknown(u32),
}

impl Action {
    /// Converts a raw `enum xdp_action`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::net::xdp::Action;
    ///
    /// assert_eq!(Action::from_raw(2), Action::Pass);
    /// assert_eq!(Action::from_raw(Action::Redirect.as_raw()), Action::Redirect);
    /// assert_eq!(Action::from_raw(99), Action::Unknown(99));
    /// ```
    #[inline]
    pub fn from_raw(act: u32) -> Self {
        match act {
            bindings::xdp_action_XDP_ABORTED => Action::Aborted,
            bindings::xdp_action_XDP_DROP => Action::Drop,
            bindings::xdp_action_XDP_PASS => Action::Pass,
            bindings::xdp_action_XDP_TX => Action::Tx,
            bindings::xdp_action_XDP_REDIRECT => Action::Redirect,
            other => Action::Unknown(other),
        }
    }

    /// Returns the raw `enum xdp_action` value.
    #[inline]
    pub fn as_raw(self) -> u32 {
        match self {
            Action::Aborted => bindings::xdp_action_XDP_ABORTED,
            Action::Drop => bindings::xdp_action_XDP_DROP,
            Action::Pass => bindings::xdp_action_XDP_PASS,
            Action::Tx => bindings::xdp_action_XDP_TX,
            Action::Redirect => bindings::xdp_action_XDP_REDIRECT,
            Action::Unknown(v) => v,
        }
    }
}

/// An XDP program that a reference count keeps alive.
///
/// Only reached through an owned reference ([`ARef<Prog>`]) or a borrow of one, so that taking
/// another reference (`ARef::from(&Prog)`, `bpf_prog_inc()`) counts up from at least one. What
/// a reader of a [`ProgSlot`] sees is an [`RcuProg`] instead, which may already be on its way to
/// being freed. Everything a program can do is on [`RcuProg`], which `Prog` dereferences to.
///
/// # Invariants
///
/// The wrapped `struct bpf_prog` is a valid, loaded program, and a reference on it is held for
/// as long as a `&Prog` to it exists.
#[repr(transparent)]
pub struct Prog(RcuProg);

// SAFETY: A loaded program is immutable and may be run and referenced from any thread.
unsafe impl Send for Prog {}
// SAFETY: See above.
unsafe impl Sync for Prog {}

// SAFETY: `bpf_prog_inc` and `bpf_prog_put` maintain the program's reference count; the program
// is freed (after an RCU grace period) only when it drops to zero. `inc_ref` is called on a
// `&Prog`, for which a reference is held by the type invariants, so it never counts up from
// zero.
unsafe impl AlwaysRefCounted for Prog {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: The program is valid and its count at least one, by the type invariants.
        unsafe { bindings::bpf_prog_inc(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::bpf_prog_put(obj.cast().as_ptr()) };
    }
}

impl core::ops::Deref for Prog {
    type Target = RcuProg;

    #[inline]
    fn deref(&self) -> &RcuProg {
        &self.0
    }
}

impl Prog {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid program on which a reference is held for all of `'a`: an
    /// RCU read-side critical section alone is not enough (see [`RcuProg::from_raw`]).
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::bpf_prog) -> &'a Prog {
        // SAFETY: `Prog` is a transparent wrapper of `struct bpf_prog`; the caller guarantees the
        // reference that the type invariants want.
        unsafe { &*ptr.cast() }
    }

    /// Accepts a program to run on received frames as `dev_xdp_attach()` would attach it to a
    /// device: not a program for devmap or cpumap entries (it expects the context of those,
    /// such as `xdp->txq`, which a received frame does not have) and not one bound to a device
    /// (offloaded, or calling a device's XDP metadata kfuncs, which take the frame for that
    /// device's own buffer).
    fn check_attachable(prog: ARef<Prog>) -> Result<ARef<Prog>> {
        let p = prog.as_raw();
        // SAFETY: The program is valid; its type, attach type and binding do not change once it
        // is loaded.
        let (ty, eat, bound) = unsafe {
            let aux = (*p).aux;
            (
                (*p).type_,
                (*p).expected_attach_type,
                (*aux).dev_bound || (*aux).offload_requested,
            )
        };
        if ty != bindings::bpf_prog_type_BPF_PROG_TYPE_XDP
            || eat == bindings::bpf_attach_type_BPF_XDP_DEVMAP
            || eat == bindings::bpf_attach_type_BPF_XDP_CPUMAP
            || bound
        {
            return Err(EINVAL);
        }
        Ok(prog)
    }

    /// Takes a reference on the XDP program pinned at `path` in a BPF file system
    /// (`bpf_prog_get_type_path()`). The path is resolved in the current task's mount
    /// namespace and root. Fails with `EINVAL` for a program that could not be attached to a
    /// device (a devmap or cpumap program, or one bound to a device).
    pub fn from_pinned(path: &CStr) -> Result<ARef<Prog>> {
        // SAFETY: `path` is NUL-terminated; the function returns a new reference or an error.
        let p = unsafe {
            bindings::bpf_prog_get_type_path(
                path.as_char_ptr(),
                bindings::bpf_prog_type_BPF_PROG_TYPE_XDP,
            )
        };
        let p = crate::error::from_err_ptr(p)?;
        // SAFETY: `p` is a valid program whose reference we own.
        Self::check_attachable(unsafe { ARef::from_raw(NonNull::new(p).ok_or(EINVAL)?.cast()) })
    }

    /// Takes a reference on the loaded XDP program with id `id` (`bpf_prog_by_id()`). Fails
    /// with `EINVAL` for a program of another type or one that could not be attached to a
    /// device (see [`Prog::from_pinned`]).
    pub fn from_id(id: u32) -> Result<ARef<Prog>> {
        // SAFETY: The function returns a new reference or an error pointer.
        let p = crate::error::from_err_ptr(unsafe { bindings::bpf_prog_by_id(id) })?;
        // SAFETY: `p` is a valid program whose reference we own.
        Self::check_attachable(unsafe { ARef::from_raw(NonNull::new(p).ok_or(ENOENT)?.cast()) })
    }
}

/// An XDP program seen inside an RCU read-side critical section, as a [`ProgSlot`] lends it.
///
/// It can be run and inspected for as long as it is borrowed, but it holds no reference: the
/// slot may have dropped its own since, and the program is then freed after the grace period.
/// To keep it, take a reference with [`RcuProg::try_get`], which fails for such a program.
///
/// # Invariants
///
/// The wrapped `struct bpf_prog` is a valid, loaded program whose memory stays valid for as
/// long as a `&RcuProg` to it exists (a reference on it is held, or the borrow lasts no longer
/// than an RCU read-side critical section that began while one was).
#[repr(transparent)]
pub struct RcuProg(Opaque<bindings::bpf_prog>);

// SAFETY: A loaded program is immutable and may be run from any thread.
unsafe impl Send for RcuProg {}
// SAFETY: See above.
unsafe impl Sync for RcuProg {}

impl RcuProg {
    /// Creates a borrow from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid program that was referenced when the caller's RCU read-side
    /// critical section began (or is referenced for all of `'a`), and `'a` must not outlive
    /// that critical section.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::bpf_prog) -> &'a RcuProg {
        // SAFETY: `RcuProg` is a transparent wrapper of `struct bpf_prog`; the caller guarantees
        // its lifetime.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw pointer.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::bpf_prog {
        self.0.get()
    }

    /// Takes a reference on the program, unless its last one was dropped already
    /// (`bpf_prog_inc_not_zero()`): then the program is being freed and `None` is returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::net::{rtnl, xdp::ProgSlot};
    /// use kernel::sync::rcu;
    ///
    /// // An empty slot lends nothing; a published program is lent as an `RcuProg`, and a
    /// // reference taken with `try_get` keeps it beyond the read-side critical section.
    /// let slot = ProgSlot::new();
    /// let g = rcu::read_lock();
    /// assert!(slot.get(&g).and_then(|p| p.try_get()).is_none());
    /// ```
    #[inline]
    pub fn try_get(&self) -> Option<ARef<Prog>> {
        // SAFETY: The program's memory is valid by the type invariants; the function counts up
        // only from a non-zero count, and returns the program with a new reference or an error.
        let p = unsafe { bindings::bpf_prog_inc_not_zero(self.as_raw()) };
        if crate::error::from_err_ptr(p).is_err() {
            return None;
        }
        // SAFETY: `p` is the program, with a reference now owned by the caller.
        NonNull::new(p).map(|p| unsafe { ARef::from_raw(p.cast()) })
    }

    /// Returns the program's id, as `bpftool prog` and `ip link` show it.
    pub fn id(&self) -> u32 {
        // SAFETY: `aux` is valid for as long as the program is. The id is read once, as
        // `READ_ONCE()` does: `bpf_prog_free_id()` clears it when the last reference goes,
        // which may happen while an RCU reader (`ProgSlot::get`) still looks at the program.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*(*self.as_raw()).aux).id)) }
    }

    /// Returns whether the program was loaded as able to handle multi-buffer frames.
    #[inline]
    pub fn supports_frags(&self) -> bool {
        // SAFETY: As for `id`.
        unsafe { (*(*self.as_raw()).aux).xdp_has_frags }
    }

    /// Runs the program on `buff` (`bpf_prog_run_xdp()`) and returns its verdict. The program
    /// may change the frame's data and boundaries.
    #[inline]
    pub fn run(&self, buff: &mut Buff) -> Action {
        // SAFETY: The program is valid, `buff` is a valid XDP buffer of the receive path, which
        // runs with BH disabled inside an RCU read-side critical section.
        Action::from_raw(unsafe { bindings::bpf_prog_run_xdp(self.as_raw(), buff.as_raw()) })
    }

    /// Traces an XDP exception (`trace_xdp_exception()`), for [`Action::Aborted`] and unknown
    /// actions, and warns once about an unknown action.
    pub fn trace_exception(&self, dev: &Device, act: Action) {
        if let Action::Unknown(v) = act {
            // SAFETY: Both pointers are valid.
            unsafe { bindings::bpf_warn_invalid_xdp_action(dev.as_raw(), self.as_raw(), v) };
        }
        // SAFETY: Both pointers are valid.
        unsafe { bindings::trace_xdp_exception(dev.as_raw(), self.as_raw(), act.as_raw()) };
    }
}

/// A device's XDP program, published for its receive path.
///
/// The configuration path (`ndo_bpf`, under RTNL) replaces the program; the receive path reads
/// it under the RCU read lock. Replaced programs are released with `bpf_prog_put()`, which frees
/// them after an RCU grace period, so readers never see a freed program.
///
/// # Invariants
///
/// `ptr` is null or a program whose reference this slot owns.
///
/// # Examples
///
/// ```
/// use kernel::net::{rtnl, xdp::ProgSlot};
/// use kernel::sync::rcu;
///
/// let slot = ProgSlot::new();
/// assert!(slot.get(&rcu::read_lock()).is_none());
/// let rtnl = rtnl::lock();
/// assert!(slot.replace(None, &rtnl).is_none());
/// ```
pub struct ProgSlot {
    ptr: AtomicPtr<bindings::bpf_prog>,
}

impl Default for ProgSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgSlot {
    /// Creates an empty slot.
    pub const fn new() -> Self {
        // INVARIANT: Null is allowed.
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Returns the current program for the duration of the RCU read-side critical section that
    /// `_rcu` proves. It holds no reference: keep it with [`RcuProg::try_get`].
    #[inline]
    pub fn get<'a>(&'a self, _rcu: &'a impl super::context::RcuReadSide) -> Option<&'a RcuProg> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: A non-null `p` is a program this slot held a reference on when it was loaded,
        // inside the critical section that `_rcu` proves; even if replaced since, it is freed
        // only after a grace period (`bpf_prog_put()` frees through `call_rcu()`), which that
        // section delays, and the borrow ends with `_rcu`'s.
        (!p.is_null()).then(|| unsafe { RcuProg::from_raw(p) })
    }

    /// Returns whether a program is attached.
    pub fn is_set(&self) -> bool {
        !self.ptr.load(Ordering::Relaxed).is_null()
    }

    /// Returns the current program's id, if any.
    pub fn id(&self) -> Option<u32> {
        self.get(&rcu::read_lock()).map(|p| p.id())
    }

    /// Publishes `new` (or detaches with `None`) and returns the previous program.
    pub fn replace(&self, new: Option<ARef<Prog>>, _rtnl: &Rtnl) -> Option<ARef<Prog>> {
        let new = new.map_or(ptr::null_mut(), |p| ARef::into_raw(p).as_ptr().cast());
        // Release pairs with the acquire in `get`, as `rcu_assign_pointer()`. INVARIANT: The
        // slot owns the reference of `new`, the caller receives the one of `old`.
        let old = self.ptr.swap(new, Ordering::AcqRel);
        // SAFETY: `old` is null or a reference the slot owned.
        NonNull::new(old).map(|p| unsafe { ARef::from_raw(p.cast()) })
    }
}

impl Drop for ProgSlot {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if let Some(p) = NonNull::new(p) {
            // SAFETY: The slot owns this reference; `bpf_prog_put` defers the free past readers.
            drop(unsafe { ARef::<Prog>::from_raw(p.cast()) });
        }
    }
}

/// A frame in a driver's XDP receive path (`struct xdp_buff`).
///
/// Only lent out by reference, for the duration of the receive path's processing of the frame.
///
/// # Invariants
///
/// The wrapped `xdp_buff` is valid: `data..data_end` is readable and writable, and `rxq` points
/// to a valid `xdp_rxq_info` whose `dev` is alive.
#[repr(transparent)]
pub struct Buff(Opaque<bindings::xdp_buff>);

impl Buff {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid XDP buffer of a receive path, not accessed by others for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::xdp_buff) -> &'a mut Buff {
        // SAFETY: `Buff` is a transparent wrapper of `struct xdp_buff`.
        unsafe { &mut *ptr.cast() }
    }

    /// Returns the raw pointer.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::xdp_buff {
        self.0.get()
    }

    /// Returns the length of the linear part of the frame.
    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: By the type invariants `data <= data_end`.
        unsafe { (*self.as_raw()).data_end.offset_from((*self.as_raw()).data) as usize }
    }

    /// Returns whether the linear part is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the linear part of the frame, starting at the Ethernet header.
    #[inline]
    pub fn data(&self) -> &[u8] {
        // SAFETY: By the type invariants `data..data_end` is readable.
        unsafe { core::slice::from_raw_parts((*self.as_raw()).data.cast::<u8>(), self.len()) }
    }

    /// Returns the linear part of the frame for changing it.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: By the type invariants `data..data_end` is writable, and `&mut self` is the
        // only access.
        unsafe { core::slice::from_raw_parts_mut((*self.as_raw()).data.cast::<u8>(), self.len()) }
    }

    /// Returns the destination address of the frame's Ethernet header.
    #[inline]
    pub fn eth_dest(&self) -> Option<MacAddr> {
        let d = self.data();
        let mut a = [0u8; ETH_ALEN];
        a.copy_from_slice(d.get(..ETH_ALEN)?);
        Some(a)
    }

    /// Returns whether the frame has fragments beyond the linear part (multi-buffer XDP).
    #[inline]
    pub fn has_frags(&self) -> bool {
        // SAFETY: The buffer is valid; its `flags` are the caller's, as `xdp_buff_has_frags()`
        // reads them (inline here: the receive path asks it for every frame).
        let flags = unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.flags };
        flags & bindings::xdp_buff_flags_XDP_FLAGS_HAS_FRAGS != 0
    }

    /// Returns whether the frame is in an AF_XDP zero-copy buffer, which cannot become an skb
    /// without a copy.
    #[inline]
    pub fn is_xsk(&self) -> bool {
        // SAFETY: `rxq` is valid by the type invariants.
        unsafe {
            (*(*self.as_raw()).rxq).mem.type_ == bindings::xdp_mem_type_MEM_TYPE_XSK_BUFF_POOL
        }
    }

    /// Returns the device the frame is being received on (`xdp->rxq->dev`).
    #[inline]
    pub fn dev(&self) -> &Device {
        // SAFETY: `rxq` and its device are valid by the type invariants.
        unsafe { Device::from_raw((*(*self.as_raw()).rxq).dev) }
    }
}

/// An owned XDP frame (`struct xdp_frame`), redirected to a device.
///
/// Dropping it returns its memory to its allocator (`xdp_return_frame()`).
///
/// # Invariants
///
/// `ptr` is a valid frame owned by this object.
pub struct Frame {
    ptr: NonNull<bindings::xdp_frame>,
}

// SAFETY: A frame may be passed on and freed from any CPU, as devmap flushing does.
unsafe impl Send for Frame {}

impl Frame {
    /// Returns the frame's length.
    #[inline]
    pub fn len(&self) -> u32 {
        // SAFETY: The frame is valid.
        unsafe { (*self.ptr.as_ptr()).len }
    }

    /// Returns whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Builds an skb around the frame's memory for transmitting it through `dev`
    /// ([`SkBuff::xmit`]), with the data starting at the Ethernet header. Returns `None` if no
    /// skb could be allocated (the frame is then freed).
    pub fn into_xmit_skb(self, dev: &Device) -> Option<SkBuff> {
        let f = self.ptr.as_ptr();
        // SAFETY: The frame is valid and owned; on success its memory belongs to the skb.
        let skb = unsafe { bindings::xdp_build_skb_from_frame(f, dev.as_raw()) };
        if skb.is_null() {
            // `self` is dropped here: the frame is returned.
            return None;
        }
        core::mem::forget(self);
        // SAFETY: `skb` is new and owned; `eth_type_trans()` pulled the Ethernet header that a
        // transmit needs at `data`: push it back.
        unsafe {
            bindings::skb_push(skb, bindings::ETH_HLEN);
            SkBuff::from_raw(skb)
        }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        // SAFETY: The frame is owned.
        unsafe { bindings::xdp_return_frame(self.ptr.as_ptr()) };
    }
}

/// The frames that `ndo_xdp_xmit` receives, handed out one by one.
///
/// Every frame taken from the iterator belongs to the driver and counts as transmitted;
/// the frames left in it go back to the caller, which frees them and counts them as errors.
pub struct XmitFrames<'a> {
    frames: &'a [*mut bindings::xdp_frame],
    taken: usize,
}

impl<'a> XmitFrames<'a> {
    /// Creates the iterator.
    ///
    /// # Safety
    ///
    /// `frames` must be the valid frames `ndo_xdp_xmit` received, owned by the callee.
    pub unsafe fn new(frames: &'a [*mut bindings::xdp_frame]) -> Self {
        Self { frames, taken: 0 }
    }

    /// Returns how many frames were taken.
    pub fn taken(&self) -> usize {
        self.taken
    }
}

impl Iterator for XmitFrames<'_> {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        let p = *self.frames.get(self.taken)?;
        self.taken += 1;
        // INVARIANT: Each frame is handed out once; the driver owns it from now on.
        NonNull::new(p).map(|ptr| Frame { ptr })
    }
}

/// Runs `prog` on a received `skb` as generic XDP does (`do_xdp_generic_act()`): carries out
/// what it returned, and returns the action with the skb if it is still the caller's, which
/// is the case for [`Action::Pass`] only.
///
/// The program sees the frame as received on `dev`, which becomes the skb's device. It runs in
/// the receive path (`_ctx`: bottom halves disabled, inside an RCU read-side critical section),
/// as the program and its redirect information require.
///
/// Generic XDP may reallocate the skb's head, which must not happen to a shared skb (pktgen,
/// for one, sends skbs it keeps a reference to); an [`SkBuff`] is never shared.
pub fn run_generic(
    prog: &RcuProg,
    skb: SkBuff,
    dev: &Device,
    _ctx: &RxContext,
) -> (Action, Option<SkBuff>) {
    let mut skb = skb;
    skb.set_dev(dev);
    let mut raw = skb.into_raw();
    // SAFETY: `raw` is an owned, unshared skb of `dev`, which is alive for the call; `_ctx`
    // proves the receive path. The function consumes the skb unless the action is XDP_PASS (a
    // TX or redirect is done before it returns), and may replace it by a copy, written back to
    // `raw`.
    let act = Action::from_raw(unsafe { bindings::do_xdp_generic_act(prog.as_raw(), &mut raw) });
    if act == Action::Pass {
        // SAFETY: On XDP_PASS the caller owns the (possibly new) skb.
        (act, unsafe { SkBuff::from_raw(raw) })
    } else {
        (act, None)
    }
}
