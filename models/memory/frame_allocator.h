// Physical frame allocator with a reference count per frame (the number of
// PTEs, over all processes, that map it, plus one for a shared mapping's
// object that keeps a page alive), and Linux's "anon exclusive" mark.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "common/stats_sink.h"
#include "common/types.h"

namespace mmusim {

enum class FrameUse : uint8_t { Free, Reserved, Data, PageTable };

struct FrameStats {
  uint64_t in_use = 0, peak = 0;
  uint64_t data_in_use = 0, data_peak = 0;
  uint64_t pt_in_use = 0, pt_peak = 0;
  uint64_t allocs = 0, frees = 0, failed = 0;
  uint64_t shared = 0, shared_peak = 0;  // frames with more than one reference
};

class FrameAllocator {
 public:
  explicit FrameAllocator(uint64_t frames);

  // Takes a frame for the kernel itself (zero frame, ...); not counted in use.
  Ppn reserve();
  // A free frame with refcount 1, or nothing if memory is full. Freed frames
  // are handed out again first (LIFO), as soon as they are freed.
  std::optional<Ppn> alloc(FrameUse use);
  void get(Ppn p);
  // Drops one reference; returns true if the frame became free.
  bool put(Ppn p);

  uint32_t refcount(Ppn p) const { return info_[p].refs; }
  FrameUse use(Ppn p) const { return FrameUse(info_[p].use); }
  bool reserved(Ppn p) const { return use(p) == FrameUse::Reserved; }
  // Anon exclusive: the frame belongs to exactly one process's private page
  // and has not been shared by a fork since (mprotect may make it writable).
  bool exclusive(Ppn p) const { return info_[p].exclusive; }
  void set_exclusive(Ppn p, bool e) { info_[p].exclusive = e; }
  // Valid entries of a page-table frame (freed when it drops to 0).
  uint16_t& table_entries(Ppn p) { return info_[p].table_entries; }
  uint16_t table_entries(Ppn p) const { return info_[p].table_entries; }

  uint64_t frames() const { return info_.size(); }
  // Frames at or above this number were never handed out (and are free).
  uint64_t high_water() const { return top_; }
  uint64_t free_frames() const { return info_.size() - top_ + free_.size(); }
  const FrameStats& stats() const { return stats_; }
  void report(StatsJson& out) const;
  static void declare_stats(StatsRegistry& r);  // the keys report() writes

 private:
  struct Info {
    uint32_t refs = 0;
    uint16_t table_entries = 0;
    uint8_t use = uint8_t(FrameUse::Free);
    bool exclusive = false;
  };
  void count(FrameUse use, int delta);

  std::vector<Info> info_;
  std::vector<uint32_t> free_;  // freed frames, reused first
  uint64_t top_ = 0;            // frames [top_, end) were never handed out
  FrameStats stats_;
};

}  // namespace mmusim
