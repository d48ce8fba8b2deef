// SPDX-License-Identifier: GPL-2.0

//! The routing netlink lock (RTNL).
//!
//! Most configuration of network devices happens under the RTNL mutex. Functions that need it
//! take a [`&Rtnl`](Rtnl) token: callbacks that the core calls with the lock held receive one,
//! and other code obtains one by taking the lock with [`lock`].
//!
//! C header: [`include/linux/rtnetlink.h`](srctree/include/linux/rtnetlink.h)

use crate::bindings;
use core::marker::PhantomData;

/// Evidence that the RTNL mutex is held by the current task.
///
/// The token is neither [`Send`] nor [`Sync`]: it cannot leave the task that holds the lock, and
/// functions receive it by reference, so it cannot outlive the critical section either.
///
/// # Invariants
///
/// The current task holds the RTNL mutex for as long as a reference to an [`Rtnl`] exists.
pub struct Rtnl {
    _not_send: PhantomData<*mut ()>,
}

impl Rtnl {
    /// Creates a token for a lock that the caller already holds.
    ///
    /// # Safety
    ///
    /// The current task must hold the RTNL mutex for as long as the token (and any reference to
    /// it) is used.
    pub unsafe fn assume_held() -> Self {
        Rtnl {
            _not_send: PhantomData,
        }
    }

    /// Returns whether the RTNL mutex is held by anyone.
    ///
    /// This is only useful for assertions, as `ASSERT_RTNL()` uses it.
    pub fn is_locked() -> bool {
        // SAFETY: `rtnl_is_locked` only reads the state of the mutex.
        unsafe { bindings::rtnl_is_locked() != 0 }
    }
}

/// A held RTNL mutex; released when dropped.
///
/// Dereferences to the [`Rtnl`] token that functions requiring the lock take.
///
/// # Examples
///
/// ```
/// use kernel::net::rtnl;
///
/// let guard = rtnl::lock();
/// assert!(rtnl::Rtnl::is_locked());
/// drop(guard);
/// ```
pub struct RtnlGuard {
    token: Rtnl,
}

/// Takes the RTNL mutex. Might sleep.
pub fn lock() -> RtnlGuard {
    // SAFETY: `rtnl_lock` may be called from any sleepable context.
    unsafe { bindings::rtnl_lock() };
    RtnlGuard {
        // SAFETY: The lock was taken just above and is released when the guard is dropped; the
        // token is only lent out by reference for the lifetime of the guard.
        token: unsafe { Rtnl::assume_held() },
    }
}

impl core::ops::Deref for RtnlGuard {
    type Target = Rtnl;

    fn deref(&self) -> &Rtnl {
        &self.token
    }
}

impl Drop for RtnlGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariants of `Rtnl`, this task holds the lock taken in `lock`.
        unsafe { bindings::rtnl_unlock() };
    }
}
