// A process's address space as the kernel keeps it: the VMAs (what the process
// may touch) and the root of its page tables (what is mapped right now).
#pragma once
#include <algorithm>
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
  bool huge = false;                     // eligible for 2 MiB pages (kernel.thp, mmap ... huge)

  bool contains(VAddr va) const { return va >= start && va < end; }
  uint64_t page_in_object(VAddr va) const { return pgoff + ((va - start) >> kPageShift); }
};

struct AddressSpace {
  Ppn root = 0;                   // frame of the top-level page table
  std::map<VAddr, Vma> vmas;      // by start address, non-overlapping
  // Page-table frames set aside, one per 2 MiB leaf, for the table a split
  // of that leaf needs (Linux's pgtable_trans_huge_deposit).
  std::vector<Ppn> thp_deposit;

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

enum class TaskState : uint8_t { Unseen, Alive, Dead };

// A set of CPUs (Linux's cpumask).
class CpuMask {
 public:
  explicit CpuMask(unsigned cpus = 0) : words_((cpus + 63) / 64, 0) {}
  bool test(unsigned c) const { return (words_[c / 64] >> (c % 64)) & 1; }
  void set(unsigned c) { words_[c / 64] |= uint64_t{1} << (c % 64); }
  void reset(unsigned c) { words_[c / 64] &= ~(uint64_t{1} << (c % 64)); }
  void clear() { std::fill(words_.begin(), words_.end(), 0); }
  bool any() const {
    for (uint64_t w : words_)
      if (w) return true;
    return false;
  }

 private:
  std::vector<uint64_t> words_;
};

struct Task;

struct Process {
  Pid pid = 0;       // the id of the task that created it (fork child, first seen)
  uint32_t uid = 0;  // unique over the run: a pid can name a new process while
                     // an old one whose main task exited still lives
  AddressSpace mm;
  Asid asid = 0;
  uint64_t asid_generation = 0;  // 0: no ASID assigned yet
  std::vector<Task*> tasks;      // its live threads
  CpuMask cpus;      // CPUs that may cache its translations (Linux's mm_cpumask)
  CpuMask deferred;  // of those, CPUs that must flush them at their next switch to it
};

// A thread: the unit the trace's first field names and a CPU runs.
struct Task {
  Pid tid = 0;
  Process* proc = nullptr;
  unsigned cpu = 0;
};

}  // namespace mmusim
