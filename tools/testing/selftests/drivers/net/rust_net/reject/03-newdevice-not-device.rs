// SPDX-License-Identifier: GPL-2.0
// A device in newlink (not registered) cannot be linked, held or given handlers.
// expect: E0599

fn f(dev: &NewDevice<'_>, lower: &Device, extack: &ExtAck, rtnl: &Rtnl) -> Result {
    dev.link_lower(lower, extack, rtnl)
}
