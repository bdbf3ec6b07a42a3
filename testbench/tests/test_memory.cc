// PhysMem (sparse frames, TLM status, bulk timing) and FrameAllocator (refcounts, reuse).
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "common/config.h"
#include "memory/frame_allocator.h"
#include "memory/host_prefaulter.h"
#include "memory/phys_mem.h"

#include <tlm_utils/simple_initiator_socket.h>

namespace mmusim::test {

namespace {
struct MemBench {
  Config cfg;
  Clock clock{1000};  // 1 ns cycles
  MemBench() {
    cfg.set("mem.size=1M");
    cfg.set("mem.latency=40");
    cfg.set("mem.copy_bytes_per_cycle=16");
  }
};

// Stands in for the Mmu: an initiator bound to the memory's socket.
struct Initiator : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Initiator> socket{"socket"};
  explicit Initiator(PhysMem& mem) : sc_core::sc_module("initiator") {
    socket.bind(mem.socket);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);  // elaborate: bind the sockets
  }
};

tlm::tlm_response_status transact(Initiator& mem, tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len,
                                  sc_core::sc_time& delay) {
  tlm::tlm_generic_payload t;
  t.set_command(cmd);
  t.set_address(addr);
  t.set_data_ptr(static_cast<unsigned char*>(data));
  t.set_data_length(len);
  t.set_streaming_width(len);
  t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  mem.socket->b_transport(t, delay);
  return t.get_response_status();
}
}  // namespace

TEST_CASE("memory: physical memory accesses are timed, checked and stored sparsely", "[memory]") {
  MemBench b;
  PhysMem mem("mem", b.cfg, b.clock);
  Initiator cpu(mem);
  CHECK(mem.frames() == 256);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  uint64_t v = 0x1122334455667788, r = 0;
  CHECK(transact(cpu, tlm::TLM_WRITE_COMMAND, 0x3008, &v, 8, delay) == tlm::TLM_OK_RESPONSE);
  CHECK(transact(cpu, tlm::TLM_READ_COMMAND, 0x3008, &r, 8, delay) == tlm::TLM_OK_RESPONSE);
  CHECK(r == v);
  CHECK(b.clock.to_cycles(delay) == 80);  // two accesses of mem.latency
  CHECK(mem.host_frames() == 1);          // only the written frame costs host memory
  // Never-written memory reads as zeroes without costing host memory.
  r = 1;
  CHECK(transact(cpu, tlm::TLM_READ_COMMAND, 0x50000, &r, 8, delay) == tlm::TLM_OK_RESPONSE);
  CHECK(r == 0);
  CHECK(mem.host_frames() == 1);
  // Outside memory: an address error, nothing done, no crash.
  CHECK(transact(cpu, tlm::TLM_READ_COMMAND, 1 << 20, &r, 8, delay) == tlm::TLM_ADDRESS_ERROR_RESPONSE);
  CHECK(transact(cpu, tlm::TLM_WRITE_COMMAND, (1 << 20) - 4, &v, 8, delay) == tlm::TLM_ADDRESS_ERROR_RESPONSE);
  // An access crossing frames lands in both.
  CHECK(transact(cpu, tlm::TLM_WRITE_COMMAND, 0x4ffc, &v, 8, delay) == tlm::TLM_OK_RESPONSE);
  CHECK(mem.read64(0x4ffc) == v);
  CHECK(mem.host_frames() == 3);
}

TEST_CASE("memory: physical memory transport_dbg peeks without time, copy and zero move bytes at the configured bandwidth",
          "[memory]") {
  MemBench b;
  PhysMem mem("mem", b.cfg, b.clock);
  Initiator cpu(mem);
  mem.write64(frame_addr(5) + 16, 0xfeed);
  tlm::tlm_generic_payload t;
  uint64_t r = 0;
  t.set_command(tlm::TLM_READ_COMMAND);
  t.set_address(frame_addr(5) + 16);
  t.set_data_ptr(reinterpret_cast<unsigned char*>(&r));
  t.set_data_length(8);
  t.set_streaming_width(8);
  CHECK(cpu.socket->transport_dbg(t) == 8);
  CHECK(r == 0xfeed);
  CHECK(mem.copy_frame(9, 5) == 40 + 4096 / 16);
  CHECK(mem.read64(frame_addr(9) + 16) == 0xfeed);
  CHECK(mem.zero_frame(5) == 40 + 4096 / 16);
  CHECK(mem.read64(frame_addr(5) + 16) == 0);
  CHECK(mem.frame_is_zero_backed(5));
  // Both frames were written: their host pages stay for the frames' next use.
  CHECK(mem.host_frames() == 2);
  // Frame 5 written again: its dead contents are gone, the new word is there.
  mem.write64(frame_addr(5) + 8, 7);
  CHECK(mem.read64(frame_addr(5) + 16) == 0);
  CHECK(mem.read64(frame_addr(5) + 8) == 7);
  CHECK(mem.host_frames() == 2);
}

TEST_CASE("memory: a frame's copy carries every byte, over a frame that held other contents", "[memory]") {
  MemBench b;
  PhysMem mem("mem", b.cfg, b.clock);
  std::vector<uint8_t> page(kPageSize), old(kPageSize, 0xa5), got(kPageSize);
  for (uint64_t i = 0; i < kPageSize; ++i) page[i] = uint8_t(i * 7 + i / 256);  // no two 16-byte chunks alike
  mem.write(frame_addr(3), page.data(), kPageSize);
  mem.write(frame_addr(4), old.data(), kPageSize);
  mem.copy_frame(4, 3);
  mem.read(frame_addr(4), got.data(), kPageSize);
  CHECK(got == page);
  // The source is unchanged, and a later write to the copy is the copy's alone.
  mem.write64(frame_addr(4), 1);
  mem.read(frame_addr(3), got.data(), kPageSize);
  CHECK(got == page);
  CHECK(mem.read64(frame_addr(4)) == 1);
  CHECK(mem.read64(frame_addr(4) + 8) == mem.read64(frame_addr(3) + 8));
}

TEST_CASE("memory: the frame allocator's refcounts, peaks, LIFO reuse, exhaustion", "[memory]") {
  FrameAllocator fa(8);
  const Ppn reserved = fa.reserve();
  CHECK(fa.reserved(reserved));
  CHECK(fa.stats().in_use == 0);  // kernel-reserved frames are not counted
  auto a = fa.alloc(FrameUse::Data), t = fa.alloc(FrameUse::PageTable);
  REQUIRE(a);
  REQUIRE(t);
  CHECK(fa.refcount(*a) == 1);
  fa.get(*a);
  CHECK(fa.refcount(*a) == 2);
  CHECK(fa.stats().shared == 1);
  CHECK_FALSE(fa.put(*a));
  CHECK(fa.stats().shared == 0);
  CHECK(fa.stats().in_use == 2);
  CHECK(fa.stats().data_peak == 1);
  CHECK(fa.stats().pt_peak == 1);
  CHECK(fa.put(*a));  // freed
  CHECK(fa.use(*a) == FrameUse::Free);
  auto again = fa.alloc(FrameUse::Data);
  CHECK(again == a);  // the frame just freed is handed out first
  std::vector<Ppn> rest;
  while (auto f = fa.alloc(FrameUse::Data)) rest.push_back(*f);
  CHECK(rest.size() == 8 - 3);
  CHECK(fa.free_frames() == 0);
  CHECK(fa.stats().failed == 1);
  CHECK(fa.stats().peak == 7);
  CHECK_FALSE(fa.alloc(FrameUse::Data).has_value());
  CHECK(fa.put(rest.back()));
  CHECK_THROWS_AS(fa.put(rest.back()), std::logic_error);  // a reference dropped twice is a kernel bug
}

namespace {
// Of `len` bytes at `at`, how many 4 KiB pages the host has backed (mincore).
size_t resident_pages(uint8_t* at, size_t len) {
  std::vector<unsigned char> v(len / 4096);
  REQUIRE(mincore(at, len, v.data()) == 0);
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

// Waits for the helper to have populated `n` blocks, or to have given up.
// Generous: it waits on the host, not on a clock the test asserts.
void wait_populated(const HostPrefaulter& p, uint64_t n) {
  for (int i = 0; i < 60'000 && p.blocks_populated() < n && !p.failed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}
}  // namespace

TEST_CASE("memory: the host prefaulter backs the blocks after the last first write, no further", "[memory]") {
  constexpr size_t kBlock = size_t{2} << 20, kBlocks = 8;
  // Blocks aligned as PhysMem's are, so that no huge page (THP "always",
  // khugepaged) can straddle a populated block and an empty one.
  const size_t mapped = (kBlocks + 1) * kBlock;
  void* m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  REQUIRE(m != MAP_FAILED);
  auto* base = static_cast<uint8_t*>(m) + (kBlock - reinterpret_cast<uintptr_t>(m) % kBlock) % kBlock;
  const size_t block_pages = kBlock / 4096;
  {
    HostPrefaulter p(base, kBlocks * kBlock, kBlock, 3 * kBlock);  // at most 3 blocks ahead
    // The first write of block 0: the window is as large as what was written
    // so far, one block (a small run stays small).
    p.first_write(0);
    wait_populated(p, 1);
    if (p.failed()) {
      // A host without MADV_POPULATE_WRITE (before Linux 5.14): the helper
      // gives up at once and touches nothing; the model runs on unhelped.
      WARN("this host refuses MADV_POPULATE_WRITE: the prefaulter is off");
      CHECK(p.blocks_populated() == 0);
      CHECK(resident_pages(base, kBlocks * kBlock) == 0);
    } else {
      CHECK(p.blocks_populated() == 1);
      CHECK(resident_pages(base + kBlock, kBlock) == block_pages);
      CHECK(resident_pages(base + 2 * kBlock, (kBlocks - 2) * kBlock) == 0);
      // Writes within a block already seen move nothing.
      p.first_write(4096);
      p.first_write(kBlock - 1);
      // Block 1: two blocks written, a window of two.
      p.first_write(kBlock + 4096);
      wait_populated(p, 3);
      CHECK(p.blocks_populated() == 3);
      CHECK(resident_pages(base + 2 * kBlock, 2 * kBlock) == 2 * block_pages);
      CHECK(resident_pages(base + 4 * kBlock, (kBlocks - 4) * kBlock) == 0);
      // Back to block 0 (a freed frame reused): blocks 1-3 are populated already.
      p.first_write(100);
      // The last block: nothing after it to populate, and nothing past the range.
      p.first_write((kBlocks - 1) * kBlock);
      // Block 5: a window of three (the limit), reaching the last block.
      p.first_write(5 * kBlock);
      wait_populated(p, 5);
      CHECK(p.blocks_populated() == 5);
      CHECK(resident_pages(base + 6 * kBlock, 2 * kBlock) == 2 * block_pages);
      CHECK(resident_pages(base + 4 * kBlock, 2 * kBlock) == 0);
      // Populated memory reads as zeroes, as fresh memory does.
      CHECK(base[kBlock] == 0);
      CHECK(base[3 * kBlock + 12345] == 0);
      CHECK(base[8 * kBlock - 1] == 0);
    }
  }  // the helper stops with the prefaulter, before the memory goes
  munmap(m, mapped);
}

TEST_CASE("memory: PhysMem prefaults host memory only with a second CPU for the helper", "[memory]") {
  cpu_set_t all;
  REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
  MemBench b, off;
  b.cfg.set("mem.host_prefault=16M");
  off.cfg.set("mem.host_prefault=0");
  if (CPU_COUNT(&all) >= 2) {
    CHECK(HostPrefaulter::host_has_spare_cpu());
    PhysMem mem("mem", b.cfg, b.clock);
    CHECK(mem.host_prefaulting());
  } else {
    WARN("this process may run on one CPU only: the two-CPU case is not checked");
  }
  {
    PhysMem mem("mem_off", off.cfg, off.clock);
    CHECK_FALSE(mem.host_prefaulting());
  }
  // Confined to one CPU (as by taskset -c), the process gets no helper.
  int first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  const bool spare = HostPrefaulter::host_has_spare_cpu();
  bool prefaulting = true;
  {
    PhysMem mem("mem_one_cpu", b.cfg, b.clock);
    prefaulting = mem.host_prefaulting();
  }
  REQUIRE(sched_setaffinity(0, sizeof all, &all) == 0);
  CHECK_FALSE(spare);
  CHECK_FALSE(prefaulting);
}

}  // namespace mmusim::test
