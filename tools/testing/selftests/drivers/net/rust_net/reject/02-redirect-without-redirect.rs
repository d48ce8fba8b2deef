// SPDX-License-Identifier: GPL-2.0
// Only a program run that returned XDP_REDIRECT can redirect.
// expect: E0599

fn h<'a, 'id>(xdp: XdpRx<'a, 'id>, p: &'a Prog, up: &'a Device) -> XdpVerdict<'id> {
    match xdp.run(p, up) {
        Ran::Pass(ran) => ran.redirect(),
        _ => unreachable!(),
    }
}
