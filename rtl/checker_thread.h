// A worker thread that checks a stream of operations behind the simulation.
//
// The simulation's thread appends operations (push) into fixed chunks and hands
// each full chunk to the worker, which runs the check over it in order. At most
// kChunks chunks are in flight: when the worker is that far behind, push waits
// for it, so the worker lags by at most capacity() operations and nothing is
// allocated per operation. The threads meet once per chunk, not per operation,
// through two counters; a thread with nothing to do spins a while (a sleep and
// a wake-up cost tens of microseconds on a virtual machine, about a chunk's
// work) and then sleeps.
//
// drain() waits until every appended operation has been checked; after it, and
// until the next push, the caller may touch what the check touches. An
// exception the check throws is kept and rethrown by drain(); the operations
// after it are not checked.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mmusim {

template <class Op>
class CheckerThread {
 public:
  static constexpr size_t kChunkOps = 256;
  static constexpr size_t kChunks = 8;
  static constexpr size_t capacity() { return kChunkOps * kChunks; }

  // `check` runs on the worker, over consecutive operations in push order.
  explicit CheckerThread(std::function<void(const Op* ops, size_t n)> check)
      : check_(std::move(check)),
        chunks_(std::make_unique<Chunk[]>(kChunks)),
        spin_(std::thread::hardware_concurrency() > 1),
        thread_([this] { run(); }) {}

  // Stops the worker; operations not yet checked are dropped.
  ~CheckerThread() {
    stop_.store(true);
    wake(worker_sleeping_);
    thread_.join();
  }

  CheckerThread(const CheckerThread&) = delete;
  CheckerThread& operator=(const CheckerThread&) = delete;

  void push(const Op& op) {
    Chunk& c = chunks_[handed_local_ % kChunks];
    store(c.ops[c.n++], op);
    if (c.n == kChunkOps) hand_over();
  }

  void drain() {
    if (chunks_[handed_local_ % kChunks].n > 0) hand_over();
    wait_until(producer_sleeping_, [this] { return done_.load() == handed_local_; });
    if (failed_.load(std::memory_order_acquire) && error_)
      std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  // How long a thread with nothing to do spins before it sleeps: about one
  // or two chunks' work (256 RTL lookups take some 40 us). Longer, and on a
  // host whose cores are all busy a thread spins through the time slice the
  // other one needs.
  static constexpr std::chrono::microseconds kSpin{50};

  struct alignas(64) Chunk {
    std::array<Op, kChunkOps> ops;
    size_t n = 0;
  };

  // An operation of one whole cache line goes to memory around the cache (a
  // streaming store): the ring then does not take the simulation's own cache,
  // and rewriting a slot does not wait for the worker's copy of it to be
  // invalidated. The worker's reads, in order, are prefetched.
  static void store(Op& slot, const Op& op) {
#if defined(__SSE2__)
    if constexpr (sizeof(Op) == 64 && alignof(Op) == 64 && std::is_trivially_copyable_v<Op>) {
      auto* to = reinterpret_cast<__m128i*>(&slot);
      const auto* from = reinterpret_cast<const __m128i*>(&op);
      for (int i = 0; i < 4; ++i) _mm_stream_si128(to + i, _mm_load_si128(from + i));
      return;
    }
#endif
    slot = op;
  }

  // Gives the chunk being written to the worker, then waits until the next
  // one is free (the worker has checked it).
  void hand_over() {
#if defined(__SSE2__)
    _mm_sfence();  // the streaming stores before the counter that publishes them
#endif
    handed_.store(++handed_local_);
    wake(worker_sleeping_);
    wait_until(producer_sleeping_, [this] { return handed_local_ - done_.load() < kChunks; });
  }

  // Spins, then sleeps, until ready() (which reads the counters seq_cst).
  // The sleeper raises its flag before looking again and the other side
  // publishes its counter before looking at the flag, so one of them sees the
  // other: no wake-up is lost.
  template <class Ready>
  void wait_until(std::atomic<bool>& sleeping, Ready ready) {
    if (ready()) return;
    if (spin_) {
      const auto until = std::chrono::steady_clock::now() + kSpin;
      do {
        for (int i = 0; i < 64; ++i) {
          if (ready()) return;
          pause();
        }
      } while (std::chrono::steady_clock::now() < until);
    }
    std::unique_lock<std::mutex> lk(m_);
    sleeping.store(true);
    cv_.wait(lk, [&] { return ready() || stop_.load(); });
    sleeping.store(false);
  }

  void wake(const std::atomic<bool>& sleeping) {
    if (!sleeping.load()) return;
    { std::lock_guard<std::mutex> lk(m_); }  // the sleeper is in wait() or has not looked yet
    cv_.notify_all();
  }

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  void run() {
    size_t done = 0;
    for (;;) {
      wait_until(worker_sleeping_, [&] { return handed_.load() != done || stop_.load(); });
      if (stop_.load()) return;
      // The chunk is the worker's until done_ moves past it: the producer
      // writes only chunks fewer than kChunks behind done_.
      Chunk& c = chunks_[done % kChunks];
      if (!failed_.load(std::memory_order_relaxed)) {
        try {
          check_(c.ops.data(), c.n);
        } catch (...) {
          error_ = std::current_exception();
          failed_.store(true, std::memory_order_release);
        }
      }
      c.n = 0;
      done_.store(++done);
      wake(producer_sleeping_);
    }
  }

  std::function<void(const Op*, size_t)> check_;
  std::unique_ptr<Chunk[]> chunks_;
  bool spin_;  // only with a second host CPU to run the other thread
  size_t handed_local_ = 0;  // chunks handed over (the producer's copy of handed_)
  // The two counters: chunks handed over (the producer writes) and checked (the worker writes).
  alignas(64) std::atomic<size_t> handed_{0};
  alignas(64) std::atomic<size_t> done_{0};
  alignas(64) std::atomic<bool> worker_sleeping_{false}, producer_sleeping_{false}, stop_{false};
  std::atomic<bool> failed_{false};  // error_ is set (the worker writes it, drain() reads it)
  std::exception_ptr error_;
  std::mutex m_;
  std::condition_variable cv_;
  std::thread thread_;  // last: it starts once the rest is built
};

}  // namespace mmusim
