// Physical frame allocator with a reference count per frame (the number of
// PTEs, over all processes, that map it, plus one for a shared mapping's
// object that keeps a page alive), and Linux's "anon exclusive" mark.
//
// 4 KiB frames come, as before huge pages existed, from a LIFO list of freed
// frames, else from a bump pointer over never-used memory (the order-0 path,
// like Linux's per-CPU free lists in front of the buddy allocator). A huge
// page is a 2 MiB-aligned block of 512 frames that are all free at once: the
// allocator counts, per block, the frames not free, and keeps a bitmap of the
// wholly free blocks, so the lowest one is found in a few word operations.
// One 4 KiB frame in use makes its block unusable for a huge page: that is
// the fragmentation huge faults see. A huge page is one allocation, like a
// Linux compound page: its head frame (the first) holds the reference count,
// the exclusive mark and the use of all 512; its 511 tail frames point at the
// head (it is their frame number rounded down to 512). The order-0 list may
// still name frames a huge page took since they were freed: such entries are
// stale and skipped (at most once each) when popped.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "common/stats_sink.h"
#include "common/types.h"

namespace mmusim {

enum class FrameUse : uint8_t { Free, Reserved, Data, PageTable };

constexpr unsigned kHugeFrames = 512;  // 4 KiB frames in a 2 MiB huge page
constexpr Ppn huge_head_of(Ppn p) { return p & ~Ppn{kHugeFrames - 1}; }

struct FrameStats {
  uint64_t in_use = 0, peak = 0;  // frames (a huge page is 512)
  uint64_t data_in_use = 0, data_peak = 0;
  uint64_t pt_in_use = 0, pt_peak = 0;
  uint64_t allocs = 0, frees = 0, failed = 0;  // frames; failed: 4 KiB requests
  uint64_t shared = 0, shared_peak = 0;        // frames with more than one reference
  // Huge pages (the kernel's own, such as a huge zero page, are not counted).
  uint64_t huge_allocs = 0, huge_frees = 0, huge_failed = 0, huge_splits = 0;
  uint64_t huge_in_use = 0, huge_peak = 0;
};

class FrameAllocator {
 public:
  explicit FrameAllocator(uint64_t frames);

  // Takes a frame for the kernel itself (zero frame, ...); not counted in use.
  Ppn reserve();
  // A free frame with refcount 1, or nothing if memory is full. Freed frames
  // are handed out again first (LIFO), as soon as they are freed.
  std::optional<Ppn> alloc(FrameUse use);
  // Frame p itself if it is free (copy-aware placement), else nothing.
  std::optional<Ppn> alloc_at(Ppn p, FrameUse use);
  // The head of the lowest 2 MiB-aligned block of 512 free frames, taken as
  // one huge page with refcount 1; nothing if no block is wholly free (the
  // caller falls back to 4 KiB pages). FrameUse::Reserved takes it for the
  // kernel (a huge zero page): not counted in use nor in the huge statistics.
  std::optional<Ppn> alloc_huge(FrameUse use);
  // References of a huge page are the head's: get and put of any of its
  // frames count on the head, and the last put frees all 512 frames.
  void get(Ppn p);
  // Drops one reference; returns true if the frame (or huge page) became free.
  bool put(Ppn p);
  // Turns the huge page at `head` into 512 independent frames, each with the
  // head's reference count, use and exclusive mark (a THP split); they are
  // then freed one by one. The frames stay in use: nothing is freed here.
  void split_huge(Ppn head);

  uint32_t refcount(Ppn p) const { return info_[head(p)].refs; }
  FrameUse use(Ppn p) const { return FrameUse(info_[p].use); }
  bool reserved(Ppn p) const { return use(p) == FrameUse::Reserved; }
  // Anon exclusive: the frame belongs to exactly one process's private page
  // and has not been shared by a fork since (mprotect may make it writable).
  // A huge page's mark is its head's.
  bool exclusive(Ppn p) const { return info_[head(p)].flags & kExclusive; }
  void set_exclusive(Ppn p, bool e) { set_flag(info_[head(p)], kExclusive, e); }
  // Valid entries of a page-table frame (freed when it drops to 0).
  uint16_t& table_entries(Ppn p) { return info_[p].table_entries; }
  uint16_t table_entries(Ppn p) const { return info_[p].table_entries; }
  // Whether p is a frame of a huge page, and the huge page's head frame.
  bool huge(Ppn p) const { return info_[p].flags & (kHead | kTail); }
  Ppn head(Ppn p) const { return info_[p].flags & kTail ? huge_head_of(p) : p; }

  uint64_t frames() const { return info_.size(); }
  // Frames at or above this number were never handed out (and are free).
  uint64_t high_water() const { return high_; }
  uint64_t free_frames() const { return free_count_; }
  // 2 MiB blocks a huge page could take now (all 512 frames free), and all
  // blocks (whole 2 MiB of memory; a partial last one never holds a huge page).
  uint64_t free_huge_blocks() const { return free_blocks_.count(); }
  uint64_t huge_blocks() const { return block_used_.size(); }
  const FrameStats& stats() const { return stats_; }
  void report(StatsJson& out) const;
  static void declare_stats(StatsRegistry& r);  // the keys report() writes

 private:
  // 8 bytes a frame: a vector of these covers all simulated memory.
  struct Info {
    uint32_t refs = 0;  // a huge page's tails: 0 (the head counts)
    uint16_t table_entries = 0;
    uint8_t use = uint8_t(FrameUse::Free);
    uint8_t flags = 0;
  };
  static_assert(sizeof(Info) == 8);
  static constexpr uint8_t kExclusive = 1, kHead = 2, kTail = 4,
                           kListed = 8;  // named by an entry of free_ (at most one)
  static void set_flag(Info& i, uint8_t f, bool on) { i.flags = uint8_t(on ? i.flags | f : i.flags & ~f); }

  // Whole free blocks: a 64-ary bitmap tree, the lowest set bit in one word
  // operation per level (fixed size: nothing allocated after construction).
  class BlockSet {
   public:
    void init(uint64_t n);  // all n set
    void set(uint64_t i);
    void clear(uint64_t i);
    std::optional<uint64_t> lowest() const;
    uint64_t count() const { return count_; }

   private:
    std::vector<std::vector<uint64_t>> levels_;  // [0]: one bit per block
    uint64_t count_ = 0;
  };

  void take(Ppn p, FrameUse use);  // a free frame p becomes in use, refcount 1
  void count(FrameUse use, int64_t delta);
  void share(uint32_t refs_before, uint32_t refs_after, uint64_t frames);
  // One frame more (or less) not free in its block.
  void block_take(Ppn p);
  void block_give(Ppn p);
  void push_free(Ppn p);

  std::vector<Info> info_;
  std::vector<uint32_t> free_;       // freed frames, reused first (stale entries skipped)
  std::vector<uint16_t> block_used_;  // per whole 2 MiB block: frames not free
  BlockSet free_blocks_;
  uint64_t top_ = 0;   // the order-0 bump pointer: frames below it were handed out or skipped
  uint64_t high_ = 0;  // frames [high_, end) were never handed out at all
  uint64_t free_count_ = 0;
  FrameStats stats_;
};

}  // namespace mmusim
