// SPDX-License-Identifier: GPL-2.0

//! Socket buffers.
//!
//! [`SkBuff`] is an owned `struct sk_buff`: exactly one owner, which passes it on (receive,
//! transmit) or frees it. Dropping an [`SkBuff`] frees it as a drop (`kfree_skb()`, visible to
//! drop monitors); [`SkBuff::consume`] frees it as consumed.
//!
//! An [`SkBuff`] is never shared (`skb->users` is one): its `&mut self` methods write fields
//! that another holder of a shared skb could read at the same time. The abstractions make it
//! so where the stack may hand over a shared skb: the rx handler adapter and the transmit
//! adapter of `kernel::net::link` unshare the skb (`skb_share_check()`, as macvlan's handler
//! does) before the driver gets it, and a device of `kernel::net::link` does not offer to
//! transmit one skb many times (`IFF_TX_SKB_SHARING` is cleared).
//!
//! An owned skb may be kept anywhere and for any time (it is `Send` and `'static`), longer than
//! any device lives, and `skb->dev` holds no reference. So an [`SkBuff`] never relies on the
//! device it carries: every call that hands it on names the device it goes to
//! ([`SkBuff::xmit`], [`SkBuff::rx`]), borrowed, which proves the device
//! alive for the call; the stack's own rules then cover the skb's queues (the device's queues
//! and the backlog are purged when it is unregistered).
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use super::device::{Device, MacAddr, ETH_ALEN};
use crate::{bindings, prelude::*};
use core::ptr::NonNull;

/// Length of an Ethernet header.
pub const ETH_HLEN: usize = bindings::ETH_HLEN as usize;

/// An owned socket buffer.
///
/// # Invariants
///
/// `ptr` points to a valid `struct sk_buff` that this object owns and that is not shared
/// (`skb->users` is one): nobody else frees it, passes it on or changes it.
pub struct SkBuff {
    ptr: NonNull<bindings::sk_buff>,
}

// SAFETY: An skb has no affinity to the thread that allocated it; ownership may move anywhere.
unsafe impl Send for SkBuff {}

impl SkBuff {
    /// Takes ownership of a raw skb.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or a valid skb that is not shared (`skb_shared()` is false), whose
    /// ownership the caller transfers to the new object.
    #[inline]
    pub unsafe fn from_raw(ptr: *mut bindings::sk_buff) -> Option<Self> {
        // INVARIANT: The caller transfers ownership of a valid, unshared skb.
        NonNull::new(ptr).map(|ptr| Self { ptr })
    }

    /// Gives up ownership and returns the raw pointer.
    #[inline]
    pub fn into_raw(self) -> *mut bindings::sk_buff {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p
    }

    /// Returns the raw pointer, still owned by `self`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::sk_buff {
        self.ptr.as_ptr()
    }

    /// Returns the length of the packet (`skb->len`), linear and paged parts together.
    #[inline]
    pub fn len(&self) -> u32 {
        // SAFETY: The skb is valid and owned.
        unsafe { (*self.as_raw()).len }
    }

    /// Returns whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the linear part of the data, from `skb->data`.
    pub fn data(&self) -> &[u8] {
        // SAFETY: `skb->data` points to `skb_headlen()` readable bytes of the owned skb.
        unsafe {
            let len = bindings::skb_headlen(self.as_raw()) as usize;
            core::slice::from_raw_parts((*self.as_raw()).data, len)
        }
    }

    /// Returns the device the skb was received on, if set, for an rx handler: the device is
    /// alive for the handler's call, not for as long as an owned skb may be kept, so this is
    /// not public.
    pub(crate) fn dev(&self) -> Option<&Device> {
        // SAFETY: `skb->dev` is null or points to a device that the stack keeps alive while the
        // rx handler, the only caller, runs (receive path under RCU).
        unsafe {
            let d = (*self.as_raw())
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .dev;
            (!d.is_null()).then(|| Device::from_raw(d))
        }
    }

    /// Sets the device the skb belongs to. Only for a hand-off that follows at once, in this
    /// crate: `dev` is alive for the caller's borrow only, and the skb may outlive it.
    #[inline]
    pub(crate) fn set_dev(&mut self, dev: &Device) {
        // SAFETY: The skb is owned. Writing the pointer is always allowed; what it is used for is
        // the caller's concern (see above).
        unsafe {
            (*self.as_raw())
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .dev = dev.as_raw()
        };
    }

    /// Returns the Ethernet header, if the MAC header is set and in the linear part.
    #[inline]
    pub fn eth_header(&self) -> Option<&[u8; ETH_HLEN]> {
        // SAFETY: The skb is valid. The helper returns the MAC header only if it is set and its
        // `ETH_HLEN` bytes are in the linear part, which lives as long as the skb.
        unsafe {
            let mac = bindings::skb_linear_mac_eth_hdr(self.as_raw());
            mac.cast::<[u8; ETH_HLEN]>().as_ref()
        }
    }

    /// Returns the destination address of the Ethernet header.
    #[inline]
    pub fn eth_dest(&self) -> Option<MacAddr> {
        let hdr = self.eth_header()?;
        let mut a = [0u8; ETH_ALEN];
        a.copy_from_slice(&hdr[..ETH_ALEN]);
        Some(a)
    }

    /// Returns the packet type the stack assigned (`PACKET_HOST`, `PACKET_OTHERHOST`, ...).
    pub fn pkt_type(&self) -> u8 {
        // SAFETY: The skb is valid and owned.
        unsafe { bindings::skb_pkt_type(self.as_raw()) }
    }

    /// Sets the packet type, as a stacked device does after matching the destination address.
    pub fn set_pkt_type(&mut self, t: u8) {
        // SAFETY: The skb is owned.
        unsafe { bindings::skb_set_pkt_type(self.as_raw(), t) };
    }

    /// Clones the skb (the data is shared, the metadata copied).
    pub fn try_clone(&self) -> Result<Self> {
        // SAFETY: The skb is valid.
        let c = unsafe { bindings::skb_clone(self.as_raw(), bindings::GFP_ATOMIC) };
        // SAFETY: `skb_clone` returns a new skb owned by the caller (`users` one), or null.
        unsafe { Self::from_raw(c) }.ok_or(ENOMEM)
    }

    /// Queues an skb received on `dev` to the stack's backlog (`netif_rx()`); any context.
    ///
    /// There is no `netif_receive_skb()` here: from an rx handler it would process the skb
    /// again on the same stack, and a handler that passed skbs back and forth between devices
    /// would recurse without bound. The backlog unwinds first; an upper device's GRO cells
    /// ([`Dev::receive_gro`](super::link::Dev::receive_gro)) do the same.
    pub fn rx(mut self, dev: &Device) {
        self.set_dev(dev);
        // SAFETY: Ownership passes to the stack. `dev` is alive now; the backlog drops the skbs
        // of a device that is being unregistered (`flush_backlog()`, and `enqueue_to_backlog()`
        // refuses a device that is not running).
        unsafe { bindings::netif_rx(self.into_raw()) };
    }

    /// Transmits the skb through `dev` (`dev_queue_xmit()`). The skb is consumed whatever the
    /// result.
    pub fn xmit(mut self, dev: &Device) -> Result {
        self.set_dev(dev);
        // SAFETY: Ownership passes to the stack, which frees the skb on error too. `dev` is alive
        // now; the skbs that its queues keep are purged when it is unregistered.
        let ret = unsafe { bindings::dev_queue_xmit(self.into_raw()) };
        // NET_XMIT_SUCCESS and NET_XMIT_CN count as sent, as `dev_xmit_complete()` has it.
        if ret == 0 || ret == bindings::NET_XMIT_CN as i32 {
            Ok(())
        } else if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Err(ENOBUFS)
        }
    }

    /// Frees the skb as consumed, not dropped (`consume_skb()`).
    pub fn consume(self) {
        // SAFETY: The skb is owned.
        unsafe { bindings::consume_skb(self.into_raw()) };
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: The skb is owned; dropping it without passing it on is a drop.
        unsafe { bindings::kfree_skb(self.as_raw()) };
    }
}
