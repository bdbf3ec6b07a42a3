#include "memory/frame_allocator.h"

#include <stdexcept>

#include "common/stats_registry.h"

namespace mmusim {

FrameAllocator::FrameAllocator(uint64_t frames) : info_(frames) {
  if (frames > UINT32_MAX) throw std::invalid_argument("FrameAllocator: too many frames");
}

Ppn FrameAllocator::reserve() {
  auto p = alloc(FrameUse::Reserved);
  if (!p) throw std::runtime_error("FrameAllocator: no frame left to reserve");
  return *p;
}

std::optional<Ppn> FrameAllocator::alloc(FrameUse use) {
  Ppn p;
  if (!free_.empty()) {
    p = free_.back();
    free_.pop_back();
  } else if (top_ < info_.size()) {
    p = top_++;
  } else {
    ++stats_.failed;
    return std::nullopt;
  }
  info_[p] = Info{1, 0, uint8_t(use), false};
  if (use != FrameUse::Reserved) {
    ++stats_.allocs;
    count(use, +1);
  }
  return p;
}

void FrameAllocator::get(Ppn p) {
  if (use(p) == FrameUse::Free) throw std::logic_error("FrameAllocator: reference to a free frame");
  if (++info_[p].refs == 2 && ++stats_.shared > stats_.shared_peak) stats_.shared_peak = stats_.shared;
}

bool FrameAllocator::put(Ppn p) {
  Info& i = info_[p];
  if (i.use == uint8_t(FrameUse::Free) || i.refs == 0)
    throw std::logic_error("FrameAllocator: reference dropped on a free frame");
  if (--i.refs) {
    if (i.refs == 1) --stats_.shared;
    return false;
  }
  count(FrameUse(i.use), -1);
  ++stats_.frees;
  i = Info{};
  free_.push_back(uint32_t(p));
  return true;
}

void FrameAllocator::count(FrameUse use, int delta) {
  auto bump = [delta](uint64_t& cur, uint64_t& peak) {
    cur += delta;
    if (cur > peak) peak = cur;
  };
  bump(stats_.in_use, stats_.peak);
  if (use == FrameUse::Data) bump(stats_.data_in_use, stats_.data_peak);
  if (use == FrameUse::PageTable) bump(stats_.pt_in_use, stats_.pt_peak);
}

void FrameAllocator::report(StatsJson& out) const {
  out["memory.frames_in_use"] = stats_.in_use;
  out["memory.frames_peak"] = stats_.peak;
  out["memory.data_frames_peak"] = stats_.data_peak;
  out["memory.pt_frames_peak"] = stats_.pt_peak;
  out["memory.data_frames_in_use"] = stats_.data_in_use;
  out["memory.pt_frames_in_use"] = stats_.pt_in_use;
  out["memory.frames_total"] = info_.size();
  out["memory.shared_frames_peak"] = stats_.shared_peak;
  out["memory.frame_allocs"] = stats_.allocs;
  out["memory.frame_frees"] = stats_.frees;
}

void FrameAllocator::declare_stats(StatsRegistry& r) {
  r.add({
      {"memory.frames_in_use", "frames",
       "frames allocated to processes at the end (data and page tables; not the kernel's own, such as the zero "
       "frame)"},
      {"memory.frames_peak", "frames", "frames allocated to processes at the peak"},
      {"memory.data_frames_peak", "frames", "data frames at the peak"},
      {"memory.pt_frames_peak", "frames", "page-table frames at the peak"},
      {"memory.data_frames_in_use", "frames", "data frames at the end"},
      {"memory.pt_frames_in_use", "frames", "page-table frames at the end"},
      {"memory.frames_total", "frames", "frames of physical memory (mem.size / 4 KiB)"},
      {"memory.shared_frames_peak", "frames", "frames with more than one reference, at the peak"},
      {"memory.frame_allocs", "frames", "frame allocations"},
      {"memory.frame_frees", "frames", "frames freed"},
  });
}

}  // namespace mmusim
