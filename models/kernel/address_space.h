// A process's address space as the kernel keeps it: the VMAs (what the process
// may touch) and the root of its page tables (what is mapped right now).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "common/types.h"

namespace mmusim {

// The memory behind a `shared` mapping, like a shmem file: one slot per page,
// holding the frame once some process touched it. The object keeps one frame
// reference while any VMA (in any process) still covers the page, so a page
// outlives the PTEs of the process that faulted it in.
struct SharedObject {
  explicit SharedObject(uint64_t pages) : frames(pages, kNoFrame), mappers(pages, 0) {}
  static constexpr uint32_t kNoFrame = UINT32_MAX;
  std::vector<uint32_t> frames;   // frame per page, or kNoFrame
  std::vector<uint32_t> mappers;  // VMAs covering each page, over all processes
};

struct Vma {
  VAddr start = 0, end = 0;  // [start, end), page-aligned
  Perms perms;
  std::shared_ptr<SharedObject> shared;  // null: private anonymous memory
  uint64_t pgoff = 0;                    // first page of this VMA within `shared`

  bool contains(VAddr va) const { return va >= start && va < end; }
  uint64_t page_in_object(VAddr va) const { return pgoff + ((va - start) >> kPageShift); }
};

struct AddressSpace {
  Ppn root = 0;                   // frame of the top-level page table
  std::map<VAddr, Vma> vmas;      // by start address, non-overlapping

  // The VMA containing va, or nullptr.
  Vma* find(VAddr va) {
    auto it = vmas.upper_bound(va);
    if (it == vmas.begin()) return nullptr;
    --it;
    return it->second.contains(va) ? &it->second : nullptr;
  }
  // Splits VMAs so that `at` is a boundary (no-op if it already is or is unmapped).
  void split_at(VAddr at) {
    Vma* v = find(at);
    if (!v || v->start == at) return;
    Vma hi = *v;
    hi.start = at;
    hi.pgoff = v->page_in_object(at);
    v->end = at;
    vmas.emplace(at, hi);
  }
};

enum class ProcState : uint8_t { Unseen, Alive, Dead };

struct Process {
  Pid pid = 0;
  AddressSpace mm;
  Asid asid = 0;
  uint64_t asid_generation = 0;  // 0: no ASID assigned yet
};

}  // namespace mmusim
