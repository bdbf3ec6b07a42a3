// FrameAllocator's huge pages: 2 MiB-aligned blocks of 512 free frames, the
// fragmentation that 4 KiB frames cause, freeing, splitting, and the 4 KiB
// order that must not change when no huge page is allocated.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <vector>

#include "memory/frame_allocator.h"

namespace mmusim::test {

namespace {
// Every 4 KiB frame the allocator still hands out, in its order, until it fails.
std::vector<Ppn> drain(FrameAllocator& fa) {
  std::vector<Ppn> got;
  while (auto f = fa.alloc(FrameUse::Data)) got.push_back(*f);
  return got;
}

bool none_in(const std::vector<Ppn>& frames, Ppn from, Ppn to) {
  for (Ppn f : frames)
    if (f >= from && f < to) return false;
  return true;
}
}  // namespace

TEST_CASE("memory: without huge pages the frame allocator's 4 KiB order is unchanged (LIFO, then bump)",
          "[memory][huge]") {
  FrameAllocator fa(2 * kHugeFrames);
  CHECK(fa.reserve() == 0);
  CHECK(fa.reserve() == 1);
  std::vector<Ppn> order;
  auto take = [&] {
    auto f = fa.alloc(FrameUse::Data);
    REQUIRE(f);
    order.push_back(*f);
  };
  for (int i = 0; i < 4; ++i) take();  // 2 3 4 5
  CHECK(fa.put(3));
  CHECK(fa.put(5));
  take();  // 5: the last freed first
  take();  // 3
  take();  // 6: the list is empty, the bump pointer goes on
  CHECK(fa.put(2));
  CHECK(fa.put(6));
  CHECK(fa.put(4));
  for (int i = 0; i < 4; ++i) take();  // 4 6 2 7
  CHECK(order == std::vector<Ppn>{2, 3, 4, 5, 5, 3, 6, 4, 6, 2, 7});
  CHECK(fa.high_water() == 8);
  CHECK(fa.free_frames() == 2 * kHugeFrames - 8);
  CHECK(fa.stats().allocs == 11);
  CHECK(fa.stats().frees == 5);
  CHECK(fa.stats().in_use == 6);
  CHECK(fa.stats().huge_allocs == 0);
  // Block 0 holds the frames in use; block 1 is wholly free.
  CHECK(fa.huge_blocks() == 2);
  CHECK(fa.free_huge_blocks() == 1);
}

TEST_CASE("memory: a huge page is 512 contiguous frames of the lowest wholly free 2 MiB-aligned block",
          "[memory][huge]") {
  const uint64_t total = 4 * kHugeFrames + 100;  // a partial last block: never huge
  FrameAllocator fa(total);
  CHECK(fa.huge_blocks() == 4);
  CHECK(fa.free_huge_blocks() == 4);
  fa.reserve();  // frames 0 and 1: block 0 is no longer wholly free
  fa.reserve();
  CHECK(fa.free_huge_blocks() == 3);
  const auto h = fa.alloc_huge(FrameUse::Data);
  REQUIRE(h);
  CHECK(*h == kHugeFrames);  // block 1: 2 MiB-aligned
  CHECK(frame_addr(*h) % (2u << 20) == 0);
  for (Ppn f = *h; f < *h + kHugeFrames; ++f) {
    INFO(f);
    REQUIRE(fa.huge(f));
    REQUIRE(fa.head(f) == *h);
    REQUIRE(fa.use(f) == FrameUse::Data);
    REQUIRE(fa.refcount(f) == 1);  // the head's
  }
  CHECK_FALSE(fa.huge(*h - 1));
  CHECK_FALSE(fa.huge(*h + kHugeFrames));
  const auto h2 = fa.alloc_huge(FrameUse::Data);
  REQUIRE(h2);
  CHECK(*h2 == 2 * kHugeFrames);
  CHECK(fa.free_huge_blocks() == 1);
  CHECK(fa.high_water() == 3 * kHugeFrames);
  CHECK(fa.free_frames() == total - 2 - 2 * kHugeFrames);
  CHECK(fa.stats().in_use == 2 * kHugeFrames);
  CHECK(fa.stats().data_in_use == 2 * kHugeFrames);
  CHECK(fa.stats().allocs == 2 * kHugeFrames);
  CHECK(fa.stats().huge_allocs == 2);
  CHECK(fa.stats().huge_in_use == 2);
  CHECK(fa.stats().huge_peak == 2);

  // 4 KiB frames go around the huge pages: the rest of block 0, then block 3
  // and the partial block, never a frame of a huge page.
  const std::vector<Ppn> rest = drain(fa);
  CHECK(rest.size() == total - 2 - 2 * kHugeFrames);
  CHECK(rest.front() == 2);
  CHECK(rest[kHugeFrames - 3] == kHugeFrames - 1);
  CHECK(rest[kHugeFrames - 2] == 3 * kHugeFrames);  // the bump pointer skipped both huge pages
  CHECK(rest.back() == total - 1);
  CHECK(none_in(rest, kHugeFrames, 3 * kHugeFrames));
  CHECK(fa.free_frames() == 0);
  CHECK(fa.free_huge_blocks() == 0);
  CHECK_FALSE(fa.alloc_huge(FrameUse::Data));
  CHECK(fa.stats().huge_failed == 1);
  CHECK(fa.stats().failed == 1);  // drain's last 4 KiB request
}

TEST_CASE("memory: one 4 KiB frame in use makes its 2 MiB block unusable for a huge page (fragmentation)",
          "[memory][huge]") {
  FrameAllocator fa(3 * kHugeFrames);
  const std::vector<Ppn> all = drain(fa);
  REQUIRE(all.size() == 3 * kHugeFrames);
  // Free all but the first frame of each block: 1533 frames free, no huge page.
  for (Ppn f : all)
    if (f % kHugeFrames != 0) CHECK(fa.put(f));
  CHECK(fa.free_frames() == 3 * kHugeFrames - 3);
  CHECK(fa.free_huge_blocks() == 0);
  CHECK_FALSE(fa.alloc_huge(FrameUse::Data));
  CHECK_FALSE(fa.alloc_huge(FrameUse::Data));
  CHECK(fa.stats().huge_failed == 2);
  CHECK(fa.stats().huge_allocs == 0);
  // Freeing block 1's last frame in use makes it a huge page again.
  CHECK(fa.put(kHugeFrames));
  CHECK(fa.free_huge_blocks() == 1);
  const auto h = fa.alloc_huge(FrameUse::Data);
  REQUIRE(h);
  CHECK(*h == kHugeFrames);
  // Its frames were on the free list: those entries are skipped, not handed out.
  const std::vector<Ppn> rest = drain(fa);
  CHECK(rest.size() == 3 * kHugeFrames - 3 - kHugeFrames + 1);
  CHECK(none_in(rest, kHugeFrames, 2 * kHugeFrames));
  CHECK(std::set<Ppn>(rest.begin(), rest.end()).size() == rest.size());
  CHECK(rest.front() == 3 * kHugeFrames - 1);  // the LIFO order of the frames left
}

TEST_CASE("memory: a freed huge page frees 512 frames, and its block is taken again", "[memory][huge]") {
  FrameAllocator fa(2 * kHugeFrames);
  CHECK(fa.alloc(FrameUse::Data) == Ppn{0});
  const auto h = fa.alloc_huge(FrameUse::Data);
  REQUIRE(h);
  CHECK(*h == kHugeFrames);
  // References on any frame of the huge page count on its head.
  fa.get(*h + 7);
  CHECK(fa.refcount(*h) == 2);
  CHECK(fa.refcount(*h + 300) == 2);
  CHECK(fa.stats().shared == kHugeFrames);
  CHECK(fa.stats().shared_peak == kHugeFrames);
  fa.set_exclusive(*h + 1, true);
  CHECK(fa.exclusive(*h));
  CHECK_FALSE(fa.put(*h + 9));
  CHECK(fa.stats().shared == 0);
  CHECK(fa.put(*h));
  CHECK_FALSE(fa.huge(*h));
  CHECK(fa.use(*h + 100) == FrameUse::Free);
  CHECK_THROWS_AS(fa.put(*h + 100), std::logic_error);
  CHECK(fa.stats().in_use == 1);
  CHECK(fa.stats().frees == kHugeFrames);
  CHECK(fa.stats().huge_frees == 1);
  CHECK(fa.stats().huge_in_use == 0);
  CHECK(fa.stats().huge_peak == 1);
  CHECK(fa.free_frames() == 2 * kHugeFrames - 1);
  CHECK(fa.free_huge_blocks() == 1);
  const auto again = fa.alloc_huge(FrameUse::Data);
  CHECK(again == h);
  CHECK(fa.put(*again));
  // With the block free, 4 KiB requests take its frames lowest first (the
  // smallest free block is split first), before never-used memory.
  CHECK(fa.alloc(FrameUse::Data) == Ppn{kHugeFrames});
  CHECK(fa.alloc(FrameUse::Data) == Ppn{kHugeFrames + 1});
  CHECK(fa.free_huge_blocks() == 0);
  CHECK_FALSE(fa.alloc_huge(FrameUse::Data));
  const std::vector<Ppn> rest = drain(fa);
  CHECK(rest.size() == 2 * kHugeFrames - 3);
  CHECK(std::set<Ppn>(rest.begin(), rest.end()).size() == rest.size());
}

TEST_CASE("memory: a huge page freed after its frames were on the free list loses no frame", "[memory][huge]") {
  FrameAllocator fa(kHugeFrames + 4);
  // Frames 0..9 in use, then freed (listed: 0 1 2 4 .. 9 3), the rest never used.
  for (int i = 0; i < 10; ++i) fa.alloc(FrameUse::Data);
  for (Ppn f = 0; f < 10; ++f)
    if (f != 3) CHECK(fa.put(f));
  CHECK(fa.put(3));
  const auto h = fa.alloc_huge(FrameUse::Data);
  REQUIRE(h);
  CHECK(*h == 0);
  std::vector<Ppn> expected;
  SECTION("the stale entries are popped (skipped) before the huge page is freed") {
    CHECK(fa.alloc(FrameUse::Data) == Ppn{kHugeFrames});  // then the bump pointer
    CHECK(fa.put(*h));
    for (Ppn f = 0; f < kHugeFrames; ++f) expected.push_back(f);  // all listed again, lowest first
    for (Ppn f = kHugeFrames + 1; f < kHugeFrames + 4; ++f) expected.push_back(f);
  }
  SECTION("the stale entries are still listed when the huge page is freed: they are valid again") {
    CHECK(fa.put(*h));
    for (Ppn f = 10; f < kHugeFrames; ++f) expected.push_back(f);  // listed now, lowest first
    for (Ppn f : {3, 9, 8, 7, 6, 5, 4, 2, 1, 0}) expected.push_back(f);  // listed before
    for (Ppn f = kHugeFrames; f < kHugeFrames + 4; ++f) expected.push_back(f);
  }
  // Every free frame is handed out exactly once.
  CHECK(fa.free_frames() == expected.size());
  CHECK(drain(fa) == expected);
  CHECK(fa.free_frames() == 0);
}

TEST_CASE("memory: splitting a huge page gives 512 frames with its counts, freed one by one", "[memory][huge]") {
  FrameAllocator fa(2 * kHugeFrames);
  const auto h = fa.alloc_huge(FrameUse::Data);
  REQUIRE(h);
  CHECK(*h == 0);
  fa.get(*h);  // shared, as after a fork
  fa.set_exclusive(*h, false);
  CHECK_THROWS_AS(fa.split_huge(*h + 1), std::logic_error);  // a tail is not a huge page's head
  fa.split_huge(*h);
  CHECK_THROWS_AS(fa.split_huge(*h), std::logic_error);  // not a huge page any more
  for (Ppn f = *h; f < *h + kHugeFrames; ++f) {
    INFO(f);
    REQUIRE_FALSE(fa.huge(f));
    REQUIRE(fa.head(f) == f);
    REQUIRE(fa.refcount(f) == 2);
    REQUIRE(fa.use(f) == FrameUse::Data);
    REQUIRE_FALSE(fa.exclusive(f));
  }
  CHECK(fa.stats().in_use == kHugeFrames);  // nothing freed by a split
  CHECK(fa.stats().shared == kHugeFrames);
  CHECK(fa.stats().huge_splits == 1);
  CHECK(fa.stats().huge_in_use == 0);
  CHECK(fa.stats().huge_peak == 1);
  // Frames are independent now: one reference dropped on each, then frame 5 freed alone.
  for (Ppn f = *h; f < *h + kHugeFrames; ++f) REQUIRE_FALSE(fa.put(f));
  CHECK(fa.stats().shared == 0);
  CHECK(fa.put(*h + 5));
  CHECK(fa.refcount(*h + 6) == 1);
  CHECK(fa.stats().in_use == kHugeFrames - 1);
  CHECK(fa.free_huge_blocks() == 1);  // block 1; block 0 still has 511 frames in use
  CHECK(fa.alloc(FrameUse::Data) == Ppn{*h + 5});
  for (Ppn f = *h; f < *h + kHugeFrames; ++f) REQUIRE(fa.put(f));
  CHECK(fa.stats().in_use == 0);
  CHECK(fa.stats().frees == kHugeFrames + 1);
  CHECK(fa.free_huge_blocks() == 2);
  const auto again = fa.alloc_huge(FrameUse::Data);
  CHECK(again == h);  // the lowest block is whole again
  // The frames freed one by one are still listed: skipped, never handed out.
  const std::vector<Ppn> rest = drain(fa);
  CHECK(rest.size() == kHugeFrames);
  CHECK(none_in(rest, 0, kHugeFrames));
}

TEST_CASE("memory: the kernel's own huge page (a huge zero page) is not counted", "[memory][huge]") {
  FrameAllocator fa(2 * kHugeFrames);
  const auto z = fa.alloc_huge(FrameUse::Reserved);
  REQUIRE(z);
  CHECK(fa.reserved(*z + 3));
  CHECK(fa.huge(*z + 3));
  CHECK(fa.stats().in_use == 0);
  CHECK(fa.stats().allocs == 0);
  CHECK(fa.stats().huge_allocs == 0);
  CHECK(fa.stats().huge_peak == 0);
  CHECK(fa.free_huge_blocks() == 1);
  CHECK(fa.free_frames() == kHugeFrames);
  CHECK_THROWS_AS(fa.alloc_huge(FrameUse::Free), std::logic_error);
}

TEST_CASE("memory: the frame allocator reports its huge-page statistics", "[memory][huge][stats]") {
  FrameAllocator fa(3 * kHugeFrames + 10);
  fa.reserve();
  const auto a = fa.alloc_huge(FrameUse::Data), b = fa.alloc_huge(FrameUse::Data);
  REQUIRE(a);
  REQUIRE(b);
  CHECK_FALSE(fa.alloc_huge(FrameUse::Data));
  CHECK(fa.put(*a));
  fa.split_huge(*b);
  const auto t = fa.alloc(FrameUse::PageTable);
  REQUIRE(t);
  CHECK(*t == kHugeFrames);  // a's frames, freed last, are listed lowest first
  StatsJson out;
  fa.report(out);
  CHECK(out["memory.huge_allocs"] == 2);
  CHECK(out["memory.huge_alloc_failures"] == 1);
  CHECK(out["memory.huge_pages_in_use"] == 0);
  CHECK(out["memory.huge_pages_peak"] == 2);
  CHECK(out["memory.huge_blocks_free"] == 0);
  CHECK(out["memory.frame_allocs"] == 2 * kHugeFrames + 1);
  CHECK(out["memory.frame_frees"] == kHugeFrames);
  CHECK(out["memory.frames_in_use"] == kHugeFrames + 1);
  CHECK(out["memory.frames_peak"] == 2 * kHugeFrames);
  CHECK(out["memory.data_frames_in_use"] == kHugeFrames);
  CHECK(out["memory.pt_frames_in_use"] == 1);
  CHECK(out["memory.frames_total"] == 3 * kHugeFrames + 10);
}

TEST_CASE("memory: random 4 KiB and huge allocations, references, frees and splits keep the allocator exact",
          "[memory][huge]") {
  const uint64_t total = 4 * kHugeFrames + 37;
  FrameAllocator fa(total);
  fa.reserve();
  std::mt19937_64 rng(11);
  // What the test holds: references per 4 KiB frame, and per huge page (by head).
  std::map<Ppn, uint32_t> small, huge;
  auto pick = [&](std::map<Ppn, uint32_t>& m) {
    auto it = m.begin();
    std::advance(it, long(rng() % m.size()));
    return it;
  };
  auto check = [&] {
    uint64_t free = 0, free_blocks = 0, in_use = 0, huge_in_use = 0;
    for (uint64_t b = 0; b < fa.huge_blocks(); ++b) {
      bool all_free = true;
      for (Ppn f = b * kHugeFrames; f < (b + 1) * kHugeFrames; ++f) all_free &= fa.use(f) == FrameUse::Free;
      free_blocks += all_free;
    }
    for (Ppn f = 0; f < total; ++f) {
      if (fa.use(f) == FrameUse::Free) {
        ++free;
        REQUIRE_FALSE(small.count(f));
        continue;
      }
      if (fa.reserved(f)) continue;
      ++in_use;
      if (fa.huge(f)) {
        REQUIRE(huge.count(fa.head(f)));
        REQUIRE(fa.refcount(f) == huge[fa.head(f)]);
      } else {
        REQUIRE(small.count(f));
        REQUIRE(fa.refcount(f) == small[f]);
      }
    }
    huge_in_use = huge.size();
    REQUIRE(fa.free_frames() == free);
    REQUIRE(fa.free_huge_blocks() == free_blocks);
    REQUIRE(fa.stats().in_use == in_use);
    REQUIRE(fa.stats().huge_in_use == huge_in_use);
    REQUIRE(in_use == small.size() + kHugeFrames * huge.size());
  };
  for (int step = 0; step < 20000; ++step) {
    const unsigned op = unsigned(rng() % 100);
    if (op < 25) {
      const uint64_t free_before = fa.free_frames();
      const auto f = fa.alloc(FrameUse::Data);
      REQUIRE(f.has_value() == (free_before > 0));
      if (f) {
        REQUIRE_FALSE(small.count(*f));  // never handed out twice
        REQUIRE_FALSE(fa.huge(*f));
        small[*f] = 1;
      }
    } else if (op < 40) {
      // The lowest wholly free block, or nothing when there is none.
      std::optional<Ppn> lowest;
      for (uint64_t b = 0; b < fa.huge_blocks() && !lowest; ++b) {
        bool all_free = true;
        for (Ppn f = b * kHugeFrames; f < (b + 1) * kHugeFrames; ++f) all_free &= fa.use(f) == FrameUse::Free;
        if (all_free) lowest = b * kHugeFrames;
      }
      const auto h = fa.alloc_huge(FrameUse::Data);
      REQUIRE(h == lowest);
      if (h) huge[*h] = 1;
    } else if (op < 47 && !small.empty()) {
      auto it = pick(small);
      fa.get(it->first);
      ++it->second;
    } else if (op < 52 && !huge.empty()) {
      auto it = pick(huge);
      fa.get(it->first + rng() % kHugeFrames);  // any frame of it counts on the head
      ++it->second;
    } else if (op < 88 && !small.empty()) {
      auto it = pick(small);
      REQUIRE(fa.put(it->first) == (it->second == 1));
      if (--it->second == 0) small.erase(it);
    } else if (op < 97 && !huge.empty()) {
      auto it = pick(huge);
      REQUIRE(fa.put(it->first + rng() % kHugeFrames) == (it->second == 1));
      if (--it->second == 0) huge.erase(it);
    } else if (!huge.empty()) {
      auto it = pick(huge);
      fa.split_huge(it->first);
      for (Ppn f = it->first; f < it->first + kHugeFrames; ++f) small[f] = it->second;
      huge.erase(it);
    }
    if (step % 97 == 0) check();
    if (step % 1000 == 999) {  // everything exits: memory is whole again, in the allocator's order
      for (auto& [f, refs] : small)
        for (; refs; --refs) REQUIRE(fa.put(f) == (refs == 1));
      for (auto& [h, refs] : huge)
        for (; refs; --refs) REQUIRE(fa.put(h) == (refs == 1));
      small.clear();
      huge.clear();
      REQUIRE(fa.free_huge_blocks() == fa.huge_blocks() - 1);  // all but the reserved frame's
    }
  }
  check();
  CHECK(fa.stats().huge_allocs > 20);
  CHECK(fa.stats().huge_failed > 20);
  CHECK(fa.stats().huge_splits > 5);
  CHECK(fa.stats().allocs - fa.stats().frees == fa.stats().in_use);
}

}  // namespace mmusim::test
