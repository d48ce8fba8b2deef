// SPDX-License-Identifier: GPL-2.0

//! Networking.

#[cfg(CONFIG_RUST_PHYLIB_ABSTRACTIONS)]
pub mod phy;

pub mod netlink;

#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod context;
#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod device;
#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod link;
#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod notifier;
#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod rcu;
#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod rtnl;
#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod rx_handler;
#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod skb;
#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod stats;
#[cfg(all(CONFIG_NET, CONFIG_BPF_SYSCALL))]
pub mod xdp;
