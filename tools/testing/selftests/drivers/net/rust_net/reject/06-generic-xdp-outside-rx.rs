// SPDX-License-Identifier: GPL-2.0
// Generic XDP cannot run outside the receive path.
// expect: E0061

fn f(p: &Prog, skb: SkBuff, dev: &Device) {
    let _ = kernel::net::xdp::run_generic(p, skb, dev);
}
