#include "memory/frame_allocator.h"

#include <stdexcept>

#include "common/stats_registry.h"

namespace mmusim {

// --- BlockSet ---------------------------------------------------------------

void FrameAllocator::BlockSet::init(uint64_t n) {
  levels_.clear();
  count_ = 0;
  if (n == 0) return;
  uint64_t bits = n;
  do {
    levels_.emplace_back((bits + 63) / 64, 0);
    bits = levels_.back().size();
  } while (bits > 1);
  for (uint64_t i = 0; i < n; ++i) set(i);
}

void FrameAllocator::BlockSet::set(uint64_t i) {
  ++count_;
  for (auto& level : levels_) {
    uint64_t& word = level[i / 64];
    const bool was_empty = word == 0;
    word |= uint64_t{1} << (i % 64);
    if (!was_empty) return;  // the levels above already say this word has a bit
    i /= 64;
  }
}

void FrameAllocator::BlockSet::clear(uint64_t i) {
  --count_;
  for (auto& level : levels_) {
    uint64_t& word = level[i / 64];
    word &= ~(uint64_t{1} << (i % 64));
    if (word != 0) return;
    i /= 64;
  }
}

std::optional<uint64_t> FrameAllocator::BlockSet::lowest() const {
  if (count_ == 0) return std::nullopt;
  uint64_t i = 0;
  for (auto level = levels_.rbegin(); level != levels_.rend(); ++level)
    i = i * 64 + uint64_t(__builtin_ctzll((*level)[i]));
  return i;
}

// --- FrameAllocator ---------------------------------------------------------

FrameAllocator::FrameAllocator(uint64_t frames)
    : info_(frames), block_used_(frames / kHugeFrames, 0), free_count_(frames) {
  if (frames > UINT32_MAX) throw std::invalid_argument("FrameAllocator: too many frames");
  free_blocks_.init(block_used_.size());
}

Ppn FrameAllocator::reserve() {
  auto p = alloc(FrameUse::Reserved);
  if (!p) throw std::runtime_error("FrameAllocator: no frame left to reserve");
  return *p;
}

void FrameAllocator::block_take(Ppn p) {
  const uint64_t b = p / kHugeFrames;
  if (b < block_used_.size() && block_used_[b]++ == 0) free_blocks_.clear(b);
}

void FrameAllocator::block_give(Ppn p) {
  const uint64_t b = p / kHugeFrames;
  if (b < block_used_.size() && --block_used_[b] == 0) free_blocks_.set(b);
}

void FrameAllocator::push_free(Ppn p) {
  Info& i = info_[p];
  if (i.flags & kListed) return;  // an older entry names it, and is valid again
  i.flags |= kListed;
  free_.push_back(uint32_t(p));
}

std::optional<Ppn> FrameAllocator::alloc(FrameUse use) {
  std::optional<Ppn> found;
  while (!found && !free_.empty()) {
    const Ppn p = free_.back();
    free_.pop_back();
    info_[p].flags &= ~kListed;
    if (info_[p].use == uint8_t(FrameUse::Free)) found = p;  // else a huge page took it since
  }
  while (!found && top_ < info_.size()) {
    const Info& i = info_[top_];
    if (i.use == uint8_t(FrameUse::Free))
      found = top_++;
    else if (i.flags & (kHead | kTail))
      top_ = huge_head_of(top_) + kHugeFrames;  // a huge page took the block before the pointer got there
    else
      ++top_;  // a frame of a freed huge page, handed out from the list
  }
  if (!found) {
    ++stats_.failed;
    return std::nullopt;
  }
  take(*found, use);
  return found;
}

std::optional<Ppn> FrameAllocator::alloc_at(Ppn p, FrameUse use) {
  if (p >= info_.size() || info_[p].use != uint8_t(FrameUse::Free)) return std::nullopt;
  // A listed entry of p, or the bump pointer reaching it, finds it in use and
  // passes over it (alloc() skips frames that are not free).
  take(p, use);
  return p;
}

void FrameAllocator::take(Ppn p, FrameUse use) {
  Info& i = info_[p];
  i = Info{1, 0, uint8_t(use), uint8_t(i.flags & kListed)};
  if (p >= high_) high_ = p + 1;
  --free_count_;
  block_take(p);
  if (use != FrameUse::Reserved) {
    ++stats_.allocs;
    count(use, +1);
  }
}

std::optional<Ppn> FrameAllocator::alloc_huge(FrameUse use) {
  if (use == FrameUse::Free) throw std::logic_error("FrameAllocator: huge allocation for no use");
  const bool counted = use != FrameUse::Reserved;
  const std::optional<uint64_t> b = free_blocks_.lowest();
  if (!b) {
    if (counted) ++stats_.huge_failed;
    return std::nullopt;
  }
  const Ppn head = *b * kHugeFrames;
  for (Ppn p = head; p < head + kHugeFrames; ++p) {
    Info& i = info_[p];
    i = Info{0, 0, uint8_t(use), uint8_t((i.flags & kListed) | kTail)};
  }
  info_[head].refs = 1;
  info_[head].flags = uint8_t((info_[head].flags & kListed) | kHead);
  block_used_[*b] = kHugeFrames;
  free_blocks_.clear(*b);
  free_count_ -= kHugeFrames;
  if (head + kHugeFrames > high_) high_ = head + kHugeFrames;
  if (counted) {
    stats_.allocs += kHugeFrames;
    count(use, kHugeFrames);
    ++stats_.huge_allocs;
    if (++stats_.huge_in_use > stats_.huge_peak) stats_.huge_peak = stats_.huge_in_use;
  }
  return head;
}

void FrameAllocator::share(uint32_t before, uint32_t after, uint64_t frames) {
  if (before < 2 && after >= 2 && (stats_.shared += frames) > stats_.shared_peak) stats_.shared_peak = stats_.shared;
  if (before >= 2 && after < 2) stats_.shared -= frames;
}

void FrameAllocator::get(Ppn p) {
  if (use(p) == FrameUse::Free) throw std::logic_error("FrameAllocator: reference to a free frame");
  Info& h = info_[head(p)];
  ++h.refs;
  share(h.refs - 1, h.refs, h.flags & kHead ? kHugeFrames : 1);
}

bool FrameAllocator::put(Ppn p) {
  p = head(p);
  Info& i = info_[p];
  if (i.use == uint8_t(FrameUse::Free) || i.refs == 0)
    throw std::logic_error("FrameAllocator: reference dropped on a free frame");
  const bool is_huge = i.flags & kHead;
  const uint64_t n = is_huge ? kHugeFrames : 1;
  share(i.refs, i.refs - 1, n);
  if (--i.refs) return false;
  const FrameUse use = FrameUse(i.use);
  if (use != FrameUse::Reserved) {
    count(use, -int64_t(n));
    stats_.frees += n;
  }
  free_count_ += n;
  if (!is_huge) {
    i = Info{0, 0, uint8_t(FrameUse::Free), uint8_t(i.flags & kListed)};
    block_give(p);
    push_free(p);
    return true;
  }
  // The whole block is free again: a huge page can take it, and the order-0
  // list hands its frames out lowest first (pushed highest first), before
  // never-used memory, as the buddy allocator splits the smallest free block.
  for (Ppn f = p; f < p + kHugeFrames; ++f) {
    Info& t = info_[f];
    t = Info{0, 0, uint8_t(FrameUse::Free), uint8_t(t.flags & kListed)};
  }
  block_used_[p / kHugeFrames] = 0;
  free_blocks_.set(p / kHugeFrames);
  for (Ppn f = p + kHugeFrames; f-- > p;) push_free(f);
  if (use != FrameUse::Reserved) {
    ++stats_.huge_frees;
    --stats_.huge_in_use;
  }
  return true;
}

void FrameAllocator::split_huge(Ppn p) {
  if (p >= info_.size() || !(info_[p].flags & kHead))
    throw std::logic_error("FrameAllocator: split of a frame that is not a huge page's head");
  const Info h = info_[p];
  const uint8_t keep = h.flags & kExclusive;
  for (Ppn f = p; f < p + kHugeFrames; ++f) {
    Info& t = info_[f];
    t = Info{h.refs, 0, h.use, uint8_t((t.flags & kListed) | keep)};
  }
  // Shared frames stay shared frames: 512 before (one huge page), 512 after.
  if (FrameUse(h.use) != FrameUse::Reserved) {
    ++stats_.huge_splits;
    --stats_.huge_in_use;
  }
}

void FrameAllocator::count(FrameUse use, int64_t delta) {
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
  out["memory.huge_allocs"] = stats_.huge_allocs;
  out["memory.huge_alloc_failures"] = stats_.huge_failed;
  out["memory.huge_pages_in_use"] = stats_.huge_in_use;
  out["memory.huge_pages_peak"] = stats_.huge_peak;
  out["memory.huge_blocks_free"] = free_blocks_.count();
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
      {"memory.frame_allocs", "frames", "frame allocations (a huge page counts its 512 frames)"},
      {"memory.frame_frees", "frames", "frames freed (a huge page counts its 512 frames)"},
      {"memory.huge_allocs", "huge pages", "2 MiB pages allocated (512 contiguous, 2 MiB-aligned frames)"},
      {"memory.huge_alloc_failures", "huge pages",
       "2 MiB page requests with no wholly free 2 MiB block (fragmented or full memory)"},
      {"memory.huge_pages_in_use", "huge pages", "2 MiB pages allocated at the end (not split)"},
      {"memory.huge_pages_peak", "huge pages", "2 MiB pages allocated at the peak"},
      {"memory.huge_blocks_free", "blocks",
       "2 MiB-aligned blocks of 512 free frames at the end (where a huge page could go)"},
  });
}

}  // namespace mmusim
