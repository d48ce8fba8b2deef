// SPDX-License-Identifier: GPL-2.0

//! An RCU-published [`Arc`] for the read-mostly state of network drivers.
//!
//! The receive path reads the state without locks inside an RCU read-side critical section; the
//! configuration path (normally under RTNL) publishes a new version and retires the old one after
//! a grace period, as `rcu_assign_pointer()` and `synchronize_rcu()` do in C.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h)

use super::context::RcuReadSide;
use crate::{alloc::Flags, bindings, prelude::*, sync::rcu, sync::Arc, types::Opaque};
use core::{
    ptr,
    sync::atomic::{AtomicBool, AtomicPtr, Ordering},
};

/// An optional [`Arc<T>`] that readers access under the RCU read lock.
///
/// # Invariants
///
/// `ptr` is null or was obtained from [`Arc::into_raw`]; the [`RcuArc`] owns that reference. A
/// pointer that was replaced is released only after an RCU grace period, so a reader that loaded
/// it inside an RCU read-side critical section can use it until that section ends.
///
/// # Examples
///
/// ```
/// use kernel::net::rcu::{RcuArc, Retire};
/// use kernel::sync::{rcu, Arc};
///
/// let slot = RcuArc::new(Some(Arc::new(1u32, GFP_KERNEL)?));
/// {
///     let guard = rcu::read_lock();
///     assert_eq!(slot.get(&guard), Some(&1));
/// }
/// let old = slot.replace(Some(Arc::new(2, GFP_KERNEL)?));
/// assert_eq!(old.as_deref(), Some(&1));
/// assert_eq!(slot.get(&rcu::read_lock()), Some(&2));
/// // From atomic context: the old value is released by an RCU callback.
/// slot.replace_deferred(Some(Arc::new(3, GFP_ATOMIC)?))?;
/// assert_eq!(slot.get_arc().as_deref(), Some(&3));
/// // The callback's memory allocated beforehand: publishing cannot fail.
/// let retire = Retire::new(GFP_KERNEL)?;
/// slot.replace_with(None, retire);
/// assert!(slot.get_arc().is_none());
/// # Ok::<(), Error>(())
/// ```
pub struct RcuArc<T: Send + Sync> {
    ptr: AtomicPtr<T>,
    deferred: AtomicBool,
}

/// A replaced value waiting for the end of a grace period.
#[repr(C)]
struct Deferred<T: Send + Sync> {
    head: Opaque<bindings::callback_head>,
    old: Option<Arc<T>>,
}

/// The memory for one release of a replaced value by an RCU callback
/// ([`RcuArc::replace_with`]), allocated in advance, so that a writer that must not fail (a
/// teardown) or must not allocate (under a spinlock) can still publish without waiting.
pub struct Retire<T: Send + Sync>(KBox<Deferred<T>>);

// SAFETY: Until `RcuArc::replace_with` hands it to `call_rcu`, a `Retire` is memory that
// nothing else points to, and the `Arc<T>` it then carries may be dropped on any thread, as
// `T: Send + Sync`.
unsafe impl<T: Send + Sync> Send for Retire<T> {}
// SAFETY: A `Retire` has no method that takes `&self`.
unsafe impl<T: Send + Sync> Sync for Retire<T> {}

impl<T: Send + Sync> Retire<T> {
    /// Allocates the memory for one release.
    pub fn new(flags: Flags) -> Result<Self> {
        Ok(Self(KBox::new(
            Deferred {
                head: Opaque::uninit(),
                old: None,
            },
            flags,
        )?))
    }
}

/// The RCU callback of [`RcuArc::replace_with`].
///
/// # Safety
///
/// `head` is the `head` field of a `Deferred<T>` leaked from a `KBox` by
/// `replace_with`, passed to `call_rcu` once.
unsafe extern "C" fn drop_deferred<T: Send + Sync>(head: *mut bindings::callback_head) {
    // SAFETY: Per the function's requirements, the container is a leaked `KBox<Deferred<T>>`;
    // the grace period has ended, so no reader uses `old` any more.
    unsafe {
        let d = crate::container_of!(Opaque::cast_from(head).cast_mut(), Deferred<T>, head);
        drop(KBox::from_raw(d));
    }
}

impl<T: Send + Sync> RcuArc<T> {
    /// Creates a slot holding `value`.
    pub fn new(value: Option<Arc<T>>) -> Self {
        // INVARIANT: The pointer comes from `Arc::into_raw` or is null.
        Self {
            ptr: AtomicPtr::new(value.map_or(ptr::null_mut(), |a| Arc::into_raw(a).cast_mut())),
            deferred: AtomicBool::new(false),
        }
    }

    /// Returns the current value, for the duration of the RCU read-side critical section that
    /// `_rcu` proves.
    #[inline]
    pub fn get<'a>(&'a self, _rcu: &'a impl RcuReadSide) -> Option<&'a T> {
        // Acquire pairs with the release in `replace`, as `rcu_dereference()` with
        // `rcu_assign_pointer()`.
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: By the type invariants, a non-null `p` points to a live `T` that is not freed
        // before the end of the current grace period, which `_rcu` delays for `'a`.
        unsafe { p.as_ref() }
    }

    /// Returns the current value with a new reference, usable outside RCU.
    pub fn get_arc(&self) -> Option<Arc<T>> {
        let guard = rcu::read_lock();
        let p = self.ptr.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` came from `Arc::into_raw` and is alive under `guard`; the count is raised
        // by creating a new `Arc` and leaking the borrowed one again.
        let arc = core::mem::ManuallyDrop::new(unsafe { Arc::from_raw(p) });
        let new = (*arc).clone();
        drop(guard);
        Some(new)
    }

    /// Publishes `new` and returns the previous value once no reader can see it any more.
    ///
    /// Waits for an RCU grace period if there was a previous value, so it might sleep. Writers
    /// must be serialised by the caller (network drivers hold RTNL).
    pub fn replace(&self, new: Option<Arc<T>>) -> Option<Arc<T>> {
        let new = new.map_or(ptr::null_mut(), |a| Arc::into_raw(a).cast_mut());
        // INVARIANT: `new` comes from `Arc::into_raw` or is null; the old reference is handed to
        // the caller only after the grace period below.
        let old = self.ptr.swap(new, Ordering::AcqRel);
        if old.is_null() {
            return None;
        }
        // SAFETY: Waiting for a grace period is allowed in the sleepable context this function
        // documents.
        unsafe { bindings::synchronize_rcu() };
        // SAFETY: `old` came from `Arc::into_raw` and the slot no longer owns it.
        Some(unsafe { Arc::from_raw(old) })
    }

    /// Publishes `new` without sleeping: the previous value is released by an RCU callback
    /// after a grace period. Usable in atomic context; fails (changing nothing) only if the
    /// callback's memory cannot be allocated.
    pub fn replace_deferred(&self, new: Option<Arc<T>>) -> Result {
        self.replace_with(new, Retire::new(GFP_ATOMIC)?);
        Ok(())
    }

    /// Publishes `new` without sleeping or allocating: the previous value is released by an
    /// RCU callback after a grace period, in the memory of `retire`. Usable in atomic context.
    /// Writers must be serialised by the caller, as for [`RcuArc::replace`].
    pub fn replace_with(&self, new: Option<Arc<T>>, retire: Retire<T>) {
        let mut node = retire.0;
        self.deferred.store(true, Ordering::Relaxed);
        let new = new.map_or(ptr::null_mut(), |a| Arc::into_raw(a).cast_mut());
        // INVARIANT: As in `replace`; the old reference goes to the RCU callback.
        let old = self.ptr.swap(new, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: `old` came from `Arc::into_raw` and the slot no longer owns it.
            node.old = Some(unsafe { Arc::from_raw(old) });
            let node = KBox::into_raw(node);
            // SAFETY: `node` is leaked until `drop_deferred` runs after the grace period.
            unsafe { bindings::call_rcu((*node).head.get(), Some(drop_deferred::<T>)) };
        }
    }
}

impl<T: Send + Sync> Drop for RcuArc<T> {
    fn drop(&mut self) {
        // Readers reach the slot only through the structure that owns it, which is itself gone
        // or unreachable by now; still, release the value after a grace period as `replace`
        // does, so dropping is never the racy path.
        drop(self.replace(None));
        if *self.deferred.get_mut() {
            // Wait for the callbacks of `replace_deferred`: they run code of the module that
            // instantiated them, which may be unloaded next.
            // SAFETY: Dropping an `RcuArc` happens in sleepable context (see `replace`).
            unsafe { bindings::rcu_barrier() };
        }
    }
}
