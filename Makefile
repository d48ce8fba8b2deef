# SPDX-License-Identifier: GPL-2.0
# Out-of-tree build of the xdpvlan driver against a built kernel tree:
#
#   make [KDIR=/path/to/kernel/build] [LLVM=-19]
#
# KDIR defaults to the debug kernel that scripts/build-kernel.sh builds.

KDIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/xdp-rx-handler/build-debug
LLVM ?= -19
export CONFIG_XDPVLAN := m

default:
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) clean

rustfmtcheck:
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) rustfmtcheck

.PHONY: default clean rustfmtcheck
