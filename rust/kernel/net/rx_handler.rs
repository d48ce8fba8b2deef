// SPDX-License-Identifier: GPL-2.0

//! Receive handlers of stacked devices.
//!
//! A stacked device (macvlan, bridge, bonding, ...) takes the frames of its lower device with an
//! *rx handler*: the core calls it for every skb the lower device receives. With the XDP rx
//! handler, a stacked device also gets the frames that the lower driver's XDP program passed,
//! *before* an skb is built for them; it can then run its own XDP program and deliver, redirect,
//! transmit or drop the frame without the skb round trip.
//!
//! Implement [`RxHandler`] and register it on the lower device with [`Registration`]: it
//! registers the skb handler, and the XDP one if [`RxHandler::handle_xdp`] is implemented.
//! The XDP side is a small state machine that makes the rules of the hook hard to break:
//!
//! - [`XdpRx`]: the frame as the lower driver passed it. The handler may decline it
//!   ([`XdpRx::fallback`]: the driver builds the skb and the skb handler sees it), drop it, or
//!   enter an upper device with it, running that device's program or not.
//! - [`XdpRan`]: the frame entered an upper device (it may have been changed by a program), so
//!   it can no longer fall back. It is dropped, sent back out ([`XdpRan::tx`]), handed on to
//!   the upper device's own XDP rx handler ([`XdpRan::pass_on`]), or delivered to the upper
//!   device's stack: by the lower driver, with the skb it has or builds
//!   ([`XdpRan::deliver_by_lower`]), or as an skb the handler builds ([`XdpRan::into_skb`]).
//! - [`Ran`]: what a program run in the upper device ([`XdpRx::run`]) returned, with the frame;
//!   only a run that returned `XDP_REDIRECT` yields the [`XdpRedirect`] that can redirect.
//!
//! Each of these consumes the state and yields the [`XdpVerdict`] the handler returns. The
//! states and the verdict carry the frame's brand, a lifetime `'id` unique to each call of the
//! handler: a verdict answers for the frame it was made for, and cannot be kept for another
//! (a frame's `CONSUMED` returned for another would free that one twice).
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use super::{
    device::Device,
    rtnl::Rtnl,
    skb::SkBuff,
    xdp::{Action, Buff, RcuProg},
};
use crate::{
    bindings,
    error::to_result,
    prelude::*,
    sync::{aref::ARef, Arc},
    types::NotThreadSafe,
};
use core::{marker::PhantomData, mem::MaybeUninit};

/// The brand of one call of the XDP rx handler: an invariant lifetime, which the handler cannot
/// name outside the call.
type Brand<'id> = PhantomData<fn(&'id ()) -> &'id ()>;

/// The context of the skb rx handler: the receive path of the lower device, in softirq (or with
/// bottom halves disabled), inside the core's RCU read-side critical section.
///
/// Functions that need that context ([`xdp::run_generic`](super::xdp::run_generic)) take a
/// reference to it; only the rx handler's adapter creates one. It proves the read-side
/// critical section to readers of RCU-published data
/// ([`RcuReadSide`](super::context::RcuReadSide)), so that the handler reads them without
/// taking the RCU read lock again.
///
/// # Invariants
///
/// For as long as the object exists, the current CPU is in the receive path with bottom halves
/// disabled, inside the RCU read-side critical section that `__netif_receive_skb_core()`'s
/// callers hold around the rx handler (`netdev_rx_handler_register()` documents it).
pub struct RxContext(NotThreadSafe);

/// The context of the XDP rx handler: the lower driver's NAPI poll (softirq), with the driver's
/// XDP redirect context set up.
///
/// [`XdpRx::ctx`] lends it to the handler, so that it can read RCU-published data and update
/// per-CPU counters without taking the RCU read lock or disabling bottom halves again.
///
/// # Invariants
///
/// For as long as the object exists, the current CPU is in a NAPI poll with bottom halves
/// disabled, which is an RCU read-side critical section (`xdp_do_pass()` documents it, as
/// `rcu_read_lock_bh_held()` checks it).
pub struct XdpContext(NotThreadSafe);

impl super::context::private::Sealed for RxContext {}
// INVARIANT (of `BhDisabled`): By the type invariants of `RxContext`.
impl super::context::BhDisabled for RxContext {}
impl super::context::private::Sealed for XdpContext {}
// INVARIANT (of `BhDisabled`): By the type invariants of `XdpContext`.
impl super::context::BhDisabled for XdpContext {}
// INVARIANT (of `RcuReadSide`): By the type invariants of `RxContext`.
impl super::context::RcuReadSide for RxContext {}
// INVARIANT (of `RcuReadSide`): By the type invariants of `XdpContext`.
impl super::context::RcuReadSide for XdpContext {}

/// What the skb rx handler did with an skb (`rx_handler_result_t`).
///
/// The skb handed back is processed with a device the handler names or the one it was received
/// on, whatever device it carried: an owned skb may have been kept from elsewhere.
pub enum RxResult<'a> {
    /// The handler took the skb (`RX_HANDLER_CONSUMED`).
    Consumed,
    /// The skb now belongs to another device, typically an upper device of the lower device it
    /// came from; the core processes it again from the start for that device
    /// (`RX_HANDLER_ANOTHER`). Naming the lower device itself would have the core loop on the
    /// skb forever: such an skb is dropped instead, with a warning.
    Another(SkBuff, &'a Device),
    /// Deliver the skb only to protocol handlers bound to the lower device exactly
    /// (`RX_HANDLER_EXACT`).
    Exact(SkBuff),
    /// Process the skb normally on the lower device (`RX_HANDLER_PASS`).
    Pass(SkBuff),
}

/// What the XDP rx handler tells the lower driver (`enum rx_xdp_handler_result`).
///
/// Only the methods of the frame's states create verdicts, each matching what it did with the
/// buffer, and branded with the frame's call.
#[must_use]
pub struct XdpVerdict<'id>(bindings::rx_xdp_handler_result, Brand<'id>);

impl XdpVerdict<'_> {
    /// Returns the raw result.
    #[inline]
    pub fn as_raw(&self) -> bindings::rx_xdp_handler_result {
        self.0
    }

    /// Returns whether the frame went to the skb path of the lower device.
    #[inline]
    pub fn is_fallback(&self) -> bool {
        self.0 == bindings::rx_xdp_handler_result_RX_XDP_HANDLER_PASS_FALLBACK
    }

    /// Returns whether the frame was dropped.
    #[inline]
    pub fn is_drop(&self) -> bool {
        self.0 == bindings::rx_xdp_handler_result_RX_XDP_HANDLER_DROP
    }
}

/// Verdict constructor, private to the state machine.
const fn verdict<'id>(r: bindings::rx_xdp_handler_result) -> XdpVerdict<'id> {
    XdpVerdict(r, PhantomData)
}

/// A frame the lower driver's XDP program passed, as the XDP rx handler receives it.
///
/// # Invariants
///
/// `xdp` is the buffer of the current call of the XDP rx handler, unchanged since the driver
/// passed it; `rxq` is scratch space in the adapter's stack frame for the upper device's
/// receive queue information, which the adapter resets when the handler returns. `pass` is
/// null or the driver's `struct xdp_pass` for this buffer (the place for the device of
/// `RX_XDP_HANDLER_ANOTHER`, the frame's partial checksum), valid for writes for the call.
/// `'a` is the whole call of the handler: the type is invariant in it, so that it cannot be
/// shortened to the life of a local (see [`XdpRx::enter`]).
pub struct XdpRx<'a, 'id> {
    xdp: &'a mut Buff,
    rxq: &'a mut MaybeUninit<bindings::xdp_rxq_info>,
    pass: *mut bindings::xdp_pass,
    ctx: &'a XdpContext,
    _call: Brand<'a>,
    _id: Brand<'id>,
}

/// A frame that entered an upper device in the XDP rx handler.
///
/// # Invariants
///
/// `xdp->rxq` points to an `xdp_rxq_info` of `upper` that carries the lower device's memory
/// model, valid until the handler returns. `pass` is as in [`XdpRx`].
pub struct XdpRan<'a, 'id> {
    xdp: &'a mut Buff,
    upper: &'a Device,
    pass: *mut bindings::xdp_pass,
    _id: Brand<'id>,
}

/// A frame whose program in the upper device returned `XDP_REDIRECT`.
///
/// # Invariants
///
/// `prog` ran on the frame last, on this CPU, and returned `XDP_REDIRECT`: the CPU's redirect
/// information holds the target it chose for this frame.
pub struct XdpRedirect<'a, 'id> {
    ran: XdpRan<'a, 'id>,
    prog: &'a RcuProg,
}

/// What the program that [`XdpRx::run`] ran returned, with the frame to act on it.
pub enum Ran<'a, 'id> {
    /// `XDP_PASS`.
    Pass(XdpRan<'a, 'id>),
    /// `XDP_DROP`.
    Drop(XdpRan<'a, 'id>),
    /// `XDP_TX`.
    Tx(XdpRan<'a, 'id>),
    /// `XDP_REDIRECT`.
    Redirect(XdpRedirect<'a, 'id>),
    /// `XDP_ABORTED` or an action the kernel does not know (given): drop the frame after
    /// tracing the exception ([`RcuProg::trace_exception`]).
    Aborted(XdpRan<'a, 'id>, Action),
}

impl Ran<'_, '_> {
    /// Returns the program's action.
    #[inline]
    pub fn action(&self) -> Action {
        match self {
            Ran::Pass(_) => Action::Pass,
            Ran::Drop(_) => Action::Drop,
            Ran::Tx(_) => Action::Tx,
            Ran::Redirect(_) => Action::Redirect,
            Ran::Aborted(_, a) => *a,
        }
    }
}

impl<'a, 'id> XdpRx<'a, 'id> {
    /// Returns the frame.
    #[inline]
    pub fn buff(&self) -> &Buff {
        self.xdp
    }

    /// Returns the context the handler runs in, for as long as the call lasts.
    #[inline]
    pub fn ctx(&self) -> &'a XdpContext {
        self.ctx
    }

    /// Declines the frame: the lower driver builds an skb and the skb rx handler gets it.
    #[inline]
    pub fn fallback(self) -> XdpVerdict<'id> {
        verdict(bindings::rx_xdp_handler_result_RX_XDP_HANDLER_PASS_FALLBACK)
    }

    /// Asks the lower driver to drop the frame (and count it).
    #[inline]
    pub fn drop_frame(self) -> XdpVerdict<'id> {
        verdict(bindings::rx_xdp_handler_result_RX_XDP_HANDLER_DROP)
    }

    /// Lets the frame enter `upper`: from now on the frame is seen as received on `upper`
    /// (ingress ifindex, `xdp->rxq->dev`), with the lower device's memory model.
    ///
    /// `upper` is borrowed for the whole call of the handler (`'a`), not shorter: a redirect
    /// keeps the device in the CPU's devmap or cpumap queue as the frame's ingress device
    /// until the lower driver flushes at the end of its NAPI poll. A device the handler
    /// reaches for `'a` (from its own data, or from RCU-published data under
    /// [`XdpRx::ctx`]) stays alive until then: the poll is an RCU read-side critical section,
    /// which a device's unregistration waits for. A device held only by a local reference
    /// could be freed when that reference is dropped, before the flush.
    #[inline]
    pub fn enter(self, upper: &'a Device) -> XdpRan<'a, 'id> {
        let xdp = self.xdp.as_raw();
        // SAFETY: `xdp` and its `rxq` are valid (type invariants of `Buff`); the copy goes to the
        // scratch space, which lives until the handler returns, as does `upper` (`'a`). The
        // adapter restores the original `rxq` afterwards.
        unsafe {
            let rxq = self.rxq.write(*(*xdp).rxq);
            rxq.dev = upper.as_raw();
            rxq.queue_index = 0;
            (*xdp).rxq = rxq;
        }
        // INVARIANT: `rxq` now describes `upper`.
        XdpRan {
            xdp: self.xdp,
            upper,
            pass: self.pass,
            _id: PhantomData,
        }
    }

    /// Lets the frame enter `upper` and runs `prog` on it there; returns what the program
    /// returned, with the frame to act on it.
    ///
    /// `upper` is borrowed for the whole call of the handler, as for [`XdpRx::enter`].
    #[inline]
    pub fn run<'b>(self, prog: &'b RcuProg, upper: &'a Device) -> Ran<'b, 'id>
    where
        'a: 'b,
    {
        let ran = self.enter(upper);
        match prog.run(ran.xdp) {
            Action::Pass => Ran::Pass(ran),
            Action::Drop => Ran::Drop(ran),
            Action::Tx => Ran::Tx(ran),
            // INVARIANT: `prog` just returned `XDP_REDIRECT` for this frame.
            Action::Redirect => Ran::Redirect(XdpRedirect { ran, prog }),
            act => Ran::Aborted(ran, act),
        }
    }
}

impl<'a, 'id> XdpRedirect<'a, 'id> {
    /// Redirects the frame to the target the program chose (`xdp_do_redirect()`), with a
    /// partial checksum completed first. The verdict tells the driver to flush; if the redirect
    /// failed, it asks for a drop instead.
    pub fn redirect(self) -> XdpVerdict<'id> {
        let XdpRedirect { ran, prog } = self;
        if ran.complete_csum().is_err() {
            return ran.drop_frame();
        }
        // SAFETY: The frame, the upper device and the program are valid; the handler runs in
        // the driver's NAPI poll with its redirect context set up, and by the type invariants
        // the CPU's redirect information is the one `prog` set for this frame.
        let err = unsafe {
            bindings::xdp_do_redirect(ran.upper.as_raw(), ran.xdp.as_raw(), prog.as_raw())
        };
        if err == 0 {
            verdict(bindings::rx_xdp_handler_result_RX_XDP_HANDLER_REDIRECT)
        } else {
            verdict(bindings::rx_xdp_handler_result_RX_XDP_HANDLER_DROP)
        }
    }

    /// Drops the frame instead.
    #[inline]
    pub fn drop_frame(self) -> XdpVerdict<'id> {
        self.ran.drop_frame()
    }
}

/// What [`XdpRan::pass_on`] did.
pub enum PassOn<'a, 'id> {
    /// The upper device's own XDP rx handler took a decision: return it.
    Done(XdpVerdict<'id>),
    /// The upper device has no XDP rx handler or it declined the frame: deliver it on the upper
    /// device ([`XdpRan::deliver_by_lower`], [`XdpRan::into_skb`]).
    Declined(XdpRan<'a, 'id>),
}

impl<'a, 'id> XdpRan<'a, 'id> {
    /// Returns the frame.
    #[inline]
    pub fn buff(&self) -> &Buff {
        self.xdp
    }

    /// Returns the upper device the frame entered.
    #[inline]
    pub fn upper(&self) -> &'a Device {
        self.upper
    }

    /// Completes a partial checksum that the driver left in the frame (`xdp_pass_csum_help()`),
    /// before the frame leaves as an XDP frame or a new skb. Fails if the programs moved the
    /// checksummed span out of the frame's data: the frame should then be dropped.
    fn complete_csum(&self) -> Result {
        // SAFETY: The frame is valid and `pass` is null or the driver's, valid for writes for
        // the handler's call (type invariants); the handler runs in the driver's NAPI poll.
        to_result(unsafe { bindings::xdp_pass_csum_help(self.xdp.as_raw(), self.pass) })
    }

    /// Asks the lower driver to drop the frame (and count it).
    #[inline]
    pub fn drop_frame(self) -> XdpVerdict<'id> {
        verdict(bindings::rx_xdp_handler_result_RX_XDP_HANDLER_DROP)
    }

    /// Asks the lower driver to send the frame, as it is now, out of the lower device through
    /// its XDP_TX path (which completes a partial checksum).
    #[inline]
    pub fn tx(self) -> XdpVerdict<'id> {
        verdict(bindings::rx_xdp_handler_result_RX_XDP_HANDLER_TX)
    }

    /// Hands the frame to the XDP rx handler of the upper device, if it has one
    /// (`xdp_do_pass()`): the next level of a stack of devices.
    #[inline]
    pub fn pass_on(self) -> PassOn<'a, 'id> {
        // SAFETY: The frame is valid and `xdp->rxq` describes the upper device, whose handler
        // `xdp_do_pass` looks up under RCU; `pass` is null or the driver's, valid for the call
        // (type invariants), which the upper handler may fill for its verdict.
        let r = unsafe { bindings::xdp_do_pass(self.xdp.as_raw(), self.pass) };
        if r == bindings::rx_xdp_handler_result_RX_XDP_HANDLER_PASS_FALLBACK {
            PassOn::Declined(self)
        } else {
            PassOn::Done(verdict(r))
        }
    }

    /// Asks the lower driver to deliver the frame, as it is now, to the stack of the upper
    /// device (`RX_XDP_HANDLER_ANOTHER`): the driver goes on as for its own `XDP_PASS`, with
    /// the skb it has or builds received on the upper device. No second skb, and the skb keeps
    /// what the driver knows of the frame (veth: the checksum state of its peer's skb, a
    /// partial checksum left partial). Gives
    /// the frame back if the driver cannot deliver on another device: then use
    /// [`XdpRan::into_skb`].
    ///
    /// The driver delivers before its NAPI poll ends, which the upper device outlives (it is
    /// borrowed for the handler's whole call, as for [`XdpRx::enter`]).
    #[inline]
    pub fn deliver_by_lower(self) -> core::result::Result<XdpVerdict<'id>, Self> {
        if self.pass.is_null() {
            return Err(self);
        }
        // SAFETY: A non-null `pass` is valid for writes for the handler's call (type
        // invariants); the driver reads `another` for this verdict only.
        unsafe { (*self.pass).another = self.upper.as_raw() };
        Ok(verdict(
            bindings::rx_xdp_handler_result_RX_XDP_HANDLER_ANOTHER,
        ))
    }

    /// Builds an skb of the upper device around the frame (`xdp_build_skb_from_buff()`), which
    /// takes the frame's memory, with a partial checksum completed first (the new skb has no
    /// checksum state). On success returns the skb, with its protocol and device set, and the
    /// verdict that the frame was consumed; if no skb could be built, returns the verdict to
    /// drop the frame.
    pub fn into_skb(self) -> core::result::Result<(SkBuff, XdpVerdict<'id>), XdpVerdict<'id>> {
        if self.complete_csum().is_err() {
            return Err(self.drop_frame());
        }
        // SAFETY: The frame is valid and in NAPI context, as `napi_build_skb()` requires; the skb
        // takes over the frame's memory.
        let skb = unsafe { bindings::xdp_build_skb_from_buff(self.xdp.as_raw()) };
        // SAFETY: A non-null result is a new skb owned by the caller.
        match unsafe { SkBuff::from_raw(skb) } {
            Some(skb) => Ok((
                skb,
                verdict(bindings::rx_xdp_handler_result_RX_XDP_HANDLER_CONSUMED),
            )),
            None => Err(verdict(bindings::rx_xdp_handler_result_RX_XDP_HANDLER_DROP)),
        }
    }
}

/// The receive handler of a stacked device, registered on its lower device.
///
/// Both methods run in the receive path (softirq) inside an RCU read-side critical section, and
/// may run concurrently on several CPUs. The handler is `'static`: it stays registered until
/// its [`Registration`] is dropped, which leaking the registration would never do.
///
/// # Examples
///
/// A handler that takes nothing: skbs go on through the lower device, frames fall back to the
/// skb path.
///
/// ```
/// use kernel::net::{
///     device::Net,
///     rtnl,
///     rx_handler::{self, RxContext, RxHandler, RxResult, XdpRx, XdpVerdict},
///     skb::SkBuff,
/// };
/// use kernel::sync::Arc;
///
/// struct Observer;
///
/// #[vtable]
/// impl RxHandler for Observer {
///     fn handle_skb<'a>(&'a self, skb: SkBuff, _ctx: &'a RxContext) -> RxResult<'a> {
///         RxResult::Pass(skb)
///     }
///
///     fn handle_xdp<'a, 'id>(&'a self, xdp: XdpRx<'a, 'id>) -> XdpVerdict<'id> {
///         xdp.fallback()
///     }
/// }
///
/// let rtnl = rtnl::lock();
/// let lo = Net::init().device_by_name(c"lo", &rtnl).ok_or(ENODEV)?;
/// let reg = rx_handler::Registration::new(&lo, Arc::new(Observer, GFP_KERNEL)?, &rtnl)?;
/// assert!(lo.has_rx_handler() && lo.has_rx_xdp_handler());
/// reg.unregister(&rtnl);
/// assert!(!lo.has_rx_handler());
/// # Ok::<(), Error>(())
/// ```
#[vtable]
pub trait RxHandler: Send + Sync + Sized + 'static {
    /// Handles an skb received on the lower device, in the receive path (`ctx`).
    fn handle_skb<'a>(&'a self, skb: SkBuff, ctx: &'a RxContext) -> RxResult<'a>;

    /// Handles a frame that the lower driver's XDP program passed, before an skb exists.
    ///
    /// Frames in AF_XDP zero-copy buffers never get here: they fall back to the skb path.
    fn handle_xdp<'a, 'id>(&'a self, xdp: XdpRx<'a, 'id>) -> XdpVerdict<'id> {
        xdp.fallback()
    }
}

/// The C callbacks of an [`RxHandler`].
struct Adapter<H: RxHandler>(PhantomData<H>);

impl<H: RxHandler> Adapter<H> {
    /// # Safety
    ///
    /// Called by the core with an owned skb of a device on which a [`Registration<H>`] is
    /// registered, in the receive path under RCU.
    unsafe extern "C" fn rx_handler(
        pskb: *mut *mut bindings::sk_buff,
    ) -> bindings::rx_handler_result {
        // SAFETY: `pskb` is valid for the call.
        let raw = unsafe { *pskb };
        if raw.is_null() {
            return bindings::rx_handler_result_RX_HANDLER_PASS;
        }
        // The skb may be shared (pktgen's `netif_receive` mode, or a sender that keeps a
        // reference); an `SkBuff` is not. Unshare it, as macvlan's handler does: a clone if it
        // was shared, and if that fails the skb was freed and is consumed.
        // SAFETY: The core passes a valid skb, owned by the handler for this call; its `users`
        // is read once, as `skb_shared()` does (inline: the common case needs no C call).
        let users = unsafe { core::ptr::read_volatile(&raw const (*raw).users.refs.counter) };
        let raw = if users == 1 {
            raw
        } else {
            // SAFETY: As above.
            unsafe { bindings::skb_share_check(raw, bindings::GFP_ATOMIC) }
        };
        // SAFETY: `raw` is null or an unshared skb that the handler owns.
        let Some(mut skb) = (unsafe { SkBuff::from_raw(raw) }) else {
            return bindings::rx_handler_result_RX_HANDLER_CONSUMED;
        };
        // SAFETY: The device an skb is received on is alive while its rx handler runs.
        let lower = skb.dev().map(|d| unsafe { Device::from_raw(d.as_raw()) });
        let (Some(lower), Some(h)) = (lower, Self::handler(lower)) else {
            // SAFETY: Ownership goes back to the core; `pskb` is valid for the call.
            unsafe { *pskb = skb.into_raw() };
            return bindings::rx_handler_result_RX_HANDLER_PASS;
        };
        // INVARIANT: The core calls rx handlers from `__netif_receive_skb_core()`, in the
        // receive path with bottom halves disabled, inside its callers' RCU read lock.
        let ctx = RxContext(NotThreadSafe);
        // The core goes on with `*pskb` and its `skb->dev`, which is set here to the device the
        // result names or to the lower one, whatever the skb handed back carried (it may be one
        // the handler kept from elsewhere). Both are alive for the rest of this receive: the
        // lower one as above, a named one by the borrow of the result, which lasts as long as
        // `ctx`, inside the core's read-side critical section.
        let (dev, res) = match h.handle_skb(skb, &ctx) {
            RxResult::Consumed => return bindings::rx_handler_result_RX_HANDLER_CONSUMED,
            RxResult::Another(s, up) if !core::ptr::eq(up, lower) => {
                skb = s;
                (up, bindings::rx_handler_result_RX_HANDLER_ANOTHER)
            }
            RxResult::Another(s, _) => {
                // Another round on the same device would run this handler on it again, forever.
                crate::pr_warn_once!("rx handler: RxResult::Another named the lower device\n");
                drop(s);
                return bindings::rx_handler_result_RX_HANDLER_CONSUMED;
            }
            RxResult::Exact(s) => {
                skb = s;
                (lower, bindings::rx_handler_result_RX_HANDLER_EXACT)
            }
            RxResult::Pass(s) => {
                skb = s;
                (lower, bindings::rx_handler_result_RX_HANDLER_PASS)
            }
        };
        skb.set_dev(dev);
        // SAFETY: `pskb` is valid for the duration of the call; ownership goes back to the core.
        unsafe { *pskb = skb.into_raw() };
        res
    }

    /// # Safety
    ///
    /// Called by `xdp_do_pass()` for a device on which a [`Registration<H>`] is registered, in
    /// the driver's NAPI poll under RCU, with a valid buffer that it owns, and with `pass` null
    /// or the driver's `struct xdp_pass` for the buffer, valid for writes for the call.
    unsafe extern "C" fn rx_xdp_handler(
        dev: *mut bindings::net_device,
        xdp: *mut bindings::xdp_buff,
        pass: *mut bindings::xdp_pass,
    ) -> bindings::rx_xdp_handler_result {
        // SAFETY: The core passes a valid device and buffer.
        let (dev, buff) = unsafe { (Device::from_raw(dev), Buff::from_raw(xdp)) };
        let Some(h) = Self::handler(Some(dev)) else {
            return bindings::rx_xdp_handler_result_RX_XDP_HANDLER_PASS_FALLBACK;
        };
        if buff.is_xsk() {
            return bindings::rx_xdp_handler_result_RX_XDP_HANDLER_PASS_FALLBACK;
        }
        // SAFETY: `xdp` is valid; the original receive queue information is restored below.
        let orig = unsafe { (*xdp).rxq };
        let mut scratch = MaybeUninit::uninit();
        // INVARIANT: `xdp_do_pass()` calls the handler from the lower driver's NAPI poll, with
        // bottom halves disabled.
        let ctx = XdpContext(NotThreadSafe);
        // INVARIANT: The buffer is unchanged, the scratch space lives for the call, and
        // `pass` is as the core passed it.
        let v = h.handle_xdp(XdpRx {
            xdp: buff,
            rxq: &mut scratch,
            pass,
            ctx: &ctx,
            _call: PhantomData,
            _id: PhantomData,
        });
        // SAFETY: `xdp` is valid; the upper device's copy in `scratch` goes out of scope here.
        unsafe { (*xdp).rxq = orig };
        v.0
    }

    /// Returns the handler registered on `dev`.
    fn handler<'b>(dev: Option<&'b Device>) -> Option<&'b H> {
        let dev = dev?;
        // SAFETY: `rx_handler_data` of a device with our handlers registered is the `Arc<H>`
        // payload of the `Registration`, which unregisters (and waits for the receive path)
        // before releasing it; the caller is in the receive path under RCU.
        unsafe {
            let data = core::ptr::read_volatile(&raw const (*dev.as_raw()).rx_handler_data);
            data.cast::<H>().as_ref()
        }
    }
}

/// The registration of an [`RxHandler`] on a lower device.
///
/// Registers the skb rx handler and, if [`RxHandler::handle_xdp`] is implemented, the XDP rx
/// handler, with the handler as their shared `rx_handler_data`. [`Registration::unregister`]
/// unregisters both with RTNL held and waits for the receive path to leave them
/// (`netdev_rx_handler_unregister()`), then releases the handler. Dropping the registration
/// does the same, taking RTNL itself: drop it only where RTNL is not held (with RTNL held,
/// dropping it deadlocks, which lockdep reports), and prefer `unregister` under RTNL.
///
/// # Invariants
///
/// Both handlers of `H` are registered on `dev`, with `Arc::as_ptr(&handler)` as data.
pub struct Registration<H: RxHandler> {
    dev: ARef<Device>,
    handler: Arc<H>,
}

impl<H: RxHandler> Registration<H> {
    /// Registers `handler` on `dev`.
    ///
    /// Fails with `EBUSY` if `dev` already has an rx handler (it is a bridge port, bond slave,
    /// or the lower device of a macvlan, for example), or `EINVAL` if it refuses them
    /// (`IFF_NO_RX_HANDLER`).
    pub fn new(dev: &Device, handler: Arc<H>, _rtnl: &Rtnl) -> Result<Self> {
        let data = Arc::as_ptr(&handler).cast_mut().cast();
        // SAFETY: RTNL is held; `data` stays valid until after unregistration (in `drop`).
        to_result(unsafe {
            bindings::netdev_rx_handler_register(dev.as_raw(), Some(Adapter::<H>::rx_handler), data)
        })?;
        if H::HAS_HANDLE_XDP {
            // SAFETY: RTNL is held and the skb handler with its data was registered above.
            let r = to_result(unsafe {
                bindings::netdev_rx_xdp_handler_register(
                    dev.as_raw(),
                    Some(Adapter::<H>::rx_xdp_handler),
                )
            });
            if let Err(e) = r {
                // SAFETY: RTNL is held; the skb handler is ours.
                unsafe { bindings::netdev_rx_handler_unregister(dev.as_raw()) };
                return Err(e);
            }
        }
        // INVARIANT: Both handlers are registered with `handler` as data.
        Ok(Self {
            dev: dev.into(),
            handler,
        })
    }

    /// Returns the device the handler is registered on.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Returns the handler.
    pub fn handler(&self) -> &Arc<H> {
        &self.handler
    }

    /// Unregisters the handlers, with RTNL held, and releases the handler.
    pub fn unregister(self, rtnl: &Rtnl) {
        let mut this = core::mem::ManuallyDrop::new(self);
        this.unregister_locked(rtnl);
        // SAFETY: `this` is not used again and its destructor does not run: each field is
        // dropped once, here.
        unsafe {
            core::ptr::drop_in_place(&raw mut this.dev);
            core::ptr::drop_in_place(&raw mut this.handler);
        }
    }

    fn unregister_locked(&mut self, _rtnl: &Rtnl) {
        // SAFETY: By the type invariants our handlers are registered on `dev`; RTNL is held, as
        // the function requires. It waits for the receive path (`synchronize_net()`), so the
        // handler data can be released afterwards.
        unsafe { bindings::netdev_rx_handler_unregister(self.dev.as_raw()) };
    }
}

impl<H: RxHandler> Drop for Registration<H> {
    fn drop(&mut self) {
        let rtnl = super::rtnl::lock();
        self.unregister_locked(&rtnl);
    }
}
