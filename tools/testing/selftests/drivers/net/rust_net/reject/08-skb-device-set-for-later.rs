// SPDX-License-Identifier: GPL-2.0
// An owned skb cannot be given a device to keep: it may outlive the borrow.
// expect: E0624

fn later(skb: &mut SkBuff, dev: &Device) {
    skb.set_dev(dev);
}
