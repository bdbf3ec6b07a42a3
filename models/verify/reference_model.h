// The reference model: what every load must return, computed without an MMU.
// Each process's memory is its own plain page map (fork gives the child an
// exact copy, shared with the parent only until one of them writes, which is
// host-side bookkeeping, not the simulated mechanism); `shared` mappings are
// one page map seen by every process that maps them. It also knows from its
// own VMAs which accesses must segfault.
// A page keeps only the 8-byte words written to it until it has more than a
// few (then all 4 KiB): most traces store a handful of words a page, and the
// reference must not double the host memory the simulated frames take.
// Pages live inline in chunks of kChunkPages; a fork shares the chunks (one
// reference count per chunk, not per page) and a chunk is copied on the first
// write to it by either side, so a fork costs O(chunks), no allocation per page.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/access_copy.h"
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

  // Whether the VMAs allow the whole access. Inline, as load(), for the
  // common case (the region, or the page, of a recent access); the rest out
  // of line.
  [[gnu::always_inline]] bool permits(Pid pid, VAddr va, unsigned size, AccessType access) const {
    const VAddr last = va + size - 1;
    const RegionCache& c = region_cache_;
    if (c.pid == pid && va >= c.start && last >= va && last < c.end) return (c.allows >> unsigned(access)) & 1;
    return permits_uncached(pid, va, size, access);
  }
  [[gnu::always_inline]] uint64_t load(Pid pid, VAddr va, unsigned size) {
    const CacheLine& line = cache_line(vpn_of(va));
    if (line.pid == pid && line.vpn == vpn_of(va) && page_offset(va) + size <= kPageSize) {
      if (const uint8_t* bytes = line.page->dense_bytes()) {
        uint64_t v = 0;  // little-endian, as the host (see Cpu::access)
        copy_access_bytes(&v, bytes + page_offset(va), size);
        return v;
      }
    }
    return load_uncached(pid, va, size);
  }
  [[gnu::always_inline]] void store(Pid pid, VAddr va, unsigned size, uint64_t value) {
    const CacheLine& line = cache_line(vpn_of(va));
    if (line.pid == pid && line.vpn == vpn_of(va) && line.writable && page_offset(va) + size <= kPageSize) {
      if (uint8_t* bytes = line.page->own_dense_bytes()) {
        copy_access_bytes(bytes + page_offset(va), &value, size);  // little-endian, as load()
        return;
      }
    }
    store_uncached(pid, va, size, value);
  }

  // Chunks of kChunkPages pages held by any page map (for tests: a fork
  // shares them, the first write to a shared one copies it, exit frees).
  size_t chunks_in_use() const { return pool_.in_use(); }
  static constexpr unsigned kChunkShift = 5;
  static constexpr uint64_t kChunkPages = uint64_t{1} << kChunkShift;

 private:
  // One page's contents: the aligned 8-byte words written so far (the rest
  // reads as zero), or every byte once more than kSparseWords were written.
  // A copy shares the dense bytes until either copy writes.
  class Page {
   public:
    void read(unsigned offset, unsigned len, uint8_t* out) const;  // within the page
    void write(unsigned offset, unsigned len, const uint8_t* in);
    bool dense() const { return bytes_ != nullptr; }
    const uint8_t* dense_bytes() const { return bytes_.get(); }  // nullptr: sparse
    // The dense bytes if no other page's copy shares them (a write may go
    // straight there, as write() would put it); else nullptr.
    uint8_t* own_dense_bytes() { return bytes_ && bytes_.use_count() == 1 ? bytes_.get() : nullptr; }

   private:
    static constexpr unsigned kSparseWords = 6;
    const uint64_t* find(unsigned index) const;  // nullptr: absent (reads as zero)
    uint64_t* word(unsigned index);              // found or added; nullptr: no room left
    uint16_t n_ = 0;                     // sparse words in use
    uint16_t index_[kSparseWords] = {};  // word index in the page (offset / 8)
    uint64_t value_[kSparseWords] = {};
    std::shared_ptr<uint8_t[]> bytes_;  // dense: kPageSize bytes
  };
  struct Chunk {
    uint32_t refs = 1;  // page maps holding it
    std::array<Page, kChunkPages> pages;
  };
  // Where chunks live: 2 MiB slabs with transparent huge pages (one host page
  // fault per slab, not per 4 KiB of chunks) and a free list, so a process
  // that exits hands its chunks to the next one instead of to the host.
  class ChunkPool {
   public:
    ChunkPool() = default;
    ChunkPool(const ChunkPool&) = delete;
    ChunkPool& operator=(const ChunkPool&) = delete;
    ~ChunkPool();
    Chunk* make(const Chunk* copy_of = nullptr);  // refs = 1
    void release(Chunk* c);                       // one holder fewer
    size_t in_use() const { return in_use_; }

   private:
    size_t in_use_ = 0;
    static constexpr size_t kSlabBytes = size_t{2} << 20;
    std::vector<void*> slabs_;
    char* next_ = nullptr;  // unused space in the newest slab
    char* end_ = nullptr;
    void* free_ = nullptr;  // released chunks, each holding the next's address
  };
  // Pages by index (a virtual page number, or a page's index in a shared
  // region), in chunks shared copy-on-write between the maps a fork made.
  class PageMap {
   public:
    explicit PageMap(ChunkPool* pool) : pool_(pool) {}
    PageMap(const PageMap& o);  // shares every chunk
    PageMap(PageMap&& o) noexcept : pool_(o.pool_) { chunks_.swap(o.chunks_); }
    PageMap& operator=(const PageMap&) = delete;
    PageMap& operator=(PageMap&& o) noexcept {
      chunks_.swap(o.chunks_);
      std::swap(pool_, o.pool_);
      return *this;
    }
    ~PageMap();
    const Page* find(uint64_t index) const;  // nullptr: never written (zeroes)
    // The page, its chunk this map's own; `copied`: the chunk was shared and
    // has just been copied (pointers into the old one are stale for this map).
    Page& for_write(uint64_t index, bool& copied);
    void erase(uint64_t first, uint64_t last);  // pages [first, last)

   private:
    ChunkPool* pool_;
    std::unordered_map<uint64_t, Chunk*> chunks_;  // by index >> kChunkShift
  };
  struct SharedRegion {
    explicit SharedRegion(ChunkPool* pool) : pages(pool) {}
    PageMap pages;  // by page index in the region
  };
  struct Region {
    VAddr start = 0, end = 0;
    Perms perms;
    std::shared_ptr<SharedRegion> shared;
    uint64_t pgoff = 0;
  };
  struct Proc {
    explicit Proc(ChunkPool* pool) : pages(pool) {}
    std::map<VAddr, Region> regions;
    PageMap pages;  // private pages written so far, by virtual page number
  };

  // The inline cases' fallbacks, kept out of line so that they do not crowd
  // the hit path they are inlined into (with link-time optimisation they were).
  [[gnu::noinline]] bool permits_uncached(Pid pid, VAddr va, unsigned size, AccessType access) const;
  [[gnu::noinline]] uint64_t load_uncached(Pid pid, VAddr va, unsigned size);
  [[gnu::noinline]] void store_uncached(Pid pid, VAddr va, unsigned size, uint64_t value);
  Proc& proc(Pid pid);
  const Region* find(const Proc& p, VAddr va) const;
  void split(Proc& p, VAddr at);
  // The page backing va for reading (nullptr: zeroes) or for writing.
  const Page* page_for_read(Proc& p, VAddr va);
  Page& page_for_write(Pid pid, Proc& p, VAddr va);

  ChunkPool pool_;  // before procs_: their page maps release into it
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
  // And of the last region an access was checked against: its bounds and
  // permissions copied, so that the check reads them without a pointer.
  struct RegionCache {
    Pid pid = 0;
    VAddr start = 0, end = 0;  // end 0: empty, matches no access
    uint8_t allows = 0;        // bit unsigned(AccessType) set: permitted
  };
  mutable RegionCache region_cache_;
  void drop_cache_chunk(Pid pid, Vpn first);  // this pid's lines of one chunk's pages
  void drop_cache() {
    cache_.fill(CacheLine{});
    region_cache_ = RegionCache{};
  }
};

}  // namespace mmusim
