// TLM extension carried by every CPU access: who is accessing (the address
// space: ASID and page-table root) going in, and the MMU's verdict coming
// back. A fault is a value returned to the initiator, never an exception.
#pragma once
#include <tlm>

#include "common/types.h"
#include "mmu/page_table_walker.h"

namespace mmusim {

struct AccessExtension : tlm::tlm_extension<AccessExtension> {
  // In: the address space of the running process (its satp).
  Pid pid = 0;
  Asid asid = 0;
  Ppn root = 0;
  AccessType access = AccessType::Load;
  // Out: set by the Mmu.
  WalkFault fault = WalkFault::None;  // None: the access completed
  Cycles walk_cycles = 0;             // page-walk time spent on this access

  tlm::tlm_extension_base* clone() const override { return new AccessExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const AccessExtension&>(other);
  }
};

}  // namespace mmusim
