// The reference model: what every load must return, computed without an MMU.
// Each process's memory is its own plain page map (fork gives the child an
// exact copy, shared with the parent only until one of them writes, which is
// host-side bookkeeping, not the simulated mechanism); `shared` mappings are
// one page map seen by every process that maps them. It also knows from its
// own VMAs which accesses must segfault.
// A page keeps only the 8-byte words written to it until it has more than a
// few (then all 4 KiB): most traces store a handful of words a page, and the
// reference must not double the host memory the simulated frames take.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>

#include "common/types.h"

namespace mmusim {

class ReferenceModel {
 public:
  void spawn(Pid pid);
  void remove(Pid pid);  // exit, segfault, OOM kill
  void exec(Pid pid);
  void fork(Pid parent, Pid child);
  void mmap(Pid pid, VAddr va, uint64_t len, Perms perms, bool shared);
  void munmap(Pid pid, VAddr va, uint64_t len);
  void mprotect(Pid pid, VAddr va, uint64_t len, Perms perms);

  // Whether the VMAs allow the whole access.
  bool permits(Pid pid, VAddr va, unsigned size, AccessType access) const;
  uint64_t load(Pid pid, VAddr va, unsigned size);
  void store(Pid pid, VAddr va, unsigned size, uint64_t value);

 private:
  // One page's contents: the aligned 8-byte words written so far (the rest
  // reads as zero), or every byte once more than kSparseWords were written.
  class Page {
   public:
    Page() = default;
    Page(const Page& o);
    Page& operator=(const Page&) = delete;
    void read(unsigned offset, unsigned len, uint8_t* out) const;  // within the page
    void write(unsigned offset, unsigned len, const uint8_t* in);
    bool dense() const { return bytes_ != nullptr; }

   private:
    static constexpr unsigned kSparseWords = 6;
    const uint64_t* find(unsigned index) const;  // nullptr: absent (reads as zero)
    uint64_t* word(unsigned index);              // found or added; nullptr: no room left
    unsigned n_ = 0;                    // sparse words in use
    uint16_t index_[kSparseWords] = {};  // word index in the page (offset / 8)
    uint64_t value_[kSparseWords] = {};
    std::unique_ptr<uint8_t[]> bytes_;  // dense: kPageSize bytes
  };
  using PageRef = std::shared_ptr<Page>;
  struct SharedRegion {
    std::unordered_map<uint64_t, PageRef> pages;  // by page index in the region
  };
  struct Region {
    VAddr start = 0, end = 0;
    Perms perms;
    std::shared_ptr<SharedRegion> shared;
    uint64_t pgoff = 0;
  };
  struct Proc {
    std::map<VAddr, Region> regions;
    std::unordered_map<Vpn, PageRef> pages;  // private pages written so far
  };

  Proc& proc(Pid pid);
  const Region* find(const Proc& p, VAddr va) const;
  void split(Proc& p, VAddr at);
  // The page backing va for reading (nullptr: zeroes) or for writing.
  const Page* page_for_read(Proc& p, VAddr va);
  Page& page_for_write(Proc& p, VAddr va);

  std::unordered_map<Pid, Proc> procs_;
  // A small direct-mapped cache of (pid, page) -> page contents, for the
  // common case of accesses to pages touched recently. Cleared by anything
  // that changes a page map; `writable` entries may be stored to in place.
  struct CacheLine {
    Pid pid = 0;  // 0: empty
    Vpn vpn = 0;
    Page* page = nullptr;
    bool writable = false;
  };
  static constexpr size_t kCacheLines = 256;
  std::array<CacheLine, kCacheLines> cache_{};
  CacheLine& cache_line(Vpn vpn) { return cache_[vpn % kCacheLines]; }
  // And of the last region an access was checked against.
  mutable Pid region_cache_pid_ = 0;
  mutable const Region* region_cache_ = nullptr;
  void drop_cache() {
    cache_.fill(CacheLine{});
    region_cache_ = nullptr;
  }
};

}  // namespace mmusim
