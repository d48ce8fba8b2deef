// SPDX-License-Identifier: GPL-2.0
// An upper held only by a local reference cannot take the frame: a redirect keeps the device in
// the CPU's devmap queue until the lower driver's flush, after the handler returned.
// expect: E0597

fn h<'a, 'id>(xdp: XdpRx<'a, 'id>, up: &Device) -> XdpVerdict<'id> {
    let local: ARef<Device> = ARef::from(up);
    xdp.enter(&local).drop_frame()
}
