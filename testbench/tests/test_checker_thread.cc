// CheckerThread (rtl/checker_thread.h), the worker behind --tlb lockstep's
// default: every operation checked once, in order, at most capacity() behind;
// drain() waits for all of them and passes on what the check threw; either
// side waiting long enough to sleep is woken.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "checker_thread.h"

namespace mmusim::test {

namespace {

struct alignas(64) Line {  // one cache line: the streaming-store path
  uint64_t seq = 0;
  uint64_t pad[7] = {};
};
struct Word {  // the ordinary-store path
  uint64_t seq = 0;
};

// Pushes 1..n (not a whole number of chunks), optionally pausing the producer
// or the worker long enough that the other side goes to sleep, and checks
// what the worker saw.
template <class Op>
void stream(uint64_t n, bool slow_producer, bool slow_worker) {
  std::atomic<uint64_t> pushed{0};
  std::vector<uint64_t> seen;
  seen.reserve(n);
  uint64_t max_lag = 0;
  CheckerThread<Op> t([&](const Op* ops, size_t count) {
    if (slow_worker) std::this_thread::sleep_for(std::chrono::microseconds(300));
    for (size_t i = 0; i < count; ++i) {
      seen.push_back(ops[i].seq);
      max_lag = std::max(max_lag, pushed.load() - ops[i].seq);
    }
  });
  for (uint64_t i = 1; i <= n; ++i) {
    pushed.store(i);
    Op op;
    op.seq = i;
    t.push(op);
    if (slow_producer && i % 1000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  t.drain();
  REQUIRE(seen.size() == n);
  bool in_order = true;
  for (uint64_t i = 0; i < n; ++i) in_order = in_order && seen[i] == i + 1;
  CHECK(in_order);
  CHECK(max_lag <= CheckerThread<Op>::capacity());
}

}  // namespace

TEST_CASE("checker thread: every operation once, in order, within its lag") {
  stream<Line>(100'017, false, false);
  stream<Word>(100'017, false, false);
}

TEST_CASE("checker thread: a producer or a worker that sleeps is woken") {
  stream<Line>(20'011, true, false);
  stream<Line>(20'011, false, true);
}

TEST_CASE("checker thread: drain with nothing pushed, twice, and destruction with work queued") {
  std::atomic<uint64_t> checked{0};
  {
    CheckerThread<Word> t([&](const Word*, size_t count) { checked += count; });
    t.drain();
    t.drain();
    CHECK(checked == 0);
    t.push(Word{1});
    t.drain();
    CHECK(checked == 1);
    for (uint64_t i = 0; i < 3000; ++i) t.push(Word{i});
  }  // stops the worker, which may not have checked them all
  // Only whole chunks handed over are checked: at most the 11 full ones of
  // the 3000, never the partial 12th, which nothing handed over.
  const uint64_t later = checked - 1;
  CHECK(later % CheckerThread<Word>::kChunkOps == 0);
  CHECK(later <= 3000 / CheckerThread<Word>::kChunkOps * CheckerThread<Word>::kChunkOps);
}

TEST_CASE("checker thread: what the check throws comes out of drain() once, and nothing after it is checked") {
  uint64_t last = 0;
  CheckerThread<Word> t([&](const Word* ops, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      if (ops[i].seq == 700) throw std::runtime_error("operation 700");
      last = ops[i].seq;
    }
  });
  for (uint64_t i = 1; i <= 5000; ++i) t.push(Word{i});
  CHECK_THROWS_WITH(t.drain(), "operation 700");
  CHECK(last == 699);
  t.drain();  // reported once
  CHECK(last == 699);
}

}  // namespace mmusim::test
