// The copy engines (kernel.copy_engine: cpu, dma, rowclone): each one's cost
// of a copy and a zeroing, exactly; the bytes really moved; RowClone's mode
// decided by where the frames lie; copy-aware allocation choosing a frame in
// the source's subarray, and falling back when none is free.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "common/config.h"
#include "memory/cpu_copy_engine.h"
#include "memory/dma_engine.h"
#include "memory/frame_allocator.h"
#include "memory/phys_mem.h"
#include "memory/rowclone_engine.h"
#include "sim_harness.h"

namespace mmusim::test {

namespace {

struct EngineBench {
  Config cfg;
  Clock clock{1000};
  explicit EngineBench(std::initializer_list<const char*> sets = {}) {
    cfg.set("mem.size=64M");
    cfg.set("mem.latency=40");
    cfg.set("mem.copy_bytes_per_cycle=4");
    cfg.set("mem.zero_bytes_per_cycle=16");
    for (const char* s : sets) cfg.set(s);
    cfg.validate();
  }
};

void fill(PhysMem& mem, Ppn f, uint8_t seed) {
  std::vector<uint8_t> page(kPageSize);
  for (size_t i = 0; i < page.size(); ++i) page[i] = uint8_t(seed + i * 7);
  mem.write(frame_addr(f), page.data(), page.size());
}

bool same_page(const PhysMem& mem, Ppn a, Ppn b) {
  std::vector<uint8_t> x(kPageSize), y(kPageSize);
  mem.read(frame_addr(a), x.data(), x.size());
  mem.read(frame_addr(b), y.data(), y.size());
  return x == y;
}

bool zero_page(const PhysMem& mem, Ppn a) {
  std::vector<uint8_t> x(kPageSize), z(kPageSize, 0);
  mem.read(frame_addr(a), x.data(), x.size());
  return x == z;
}

uint64_t u(const RunResult& r, const char* key) { return r.stats.at(key).get<uint64_t>(); }

// The `copy` column of the last cow_copy row of a --faults CSV ("" if none).
std::string cow_copy_column(const std::string& csv) {
  std::ifstream in(csv);
  std::string line, cow;
  while (std::getline(in, line))
    if (line.find(",cow_copy,") != std::string::npos) cow = line;
  std::vector<std::string> f;
  std::stringstream ss(cow);
  for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
  return f.size() > 9 ? f[9] : "";
}

}  // namespace

TEST_CASE("copy engine cpu: one access then the bytes at the copy or the zeroing bandwidth", "[engine]") {
  EngineBench b;
  PhysMem mem("mem", b.cfg, b.clock);
  CpuCopyEngine e(b.cfg, mem);
  fill(mem, 5, 3);
  CHECK(e.copy(9, 5) == 40 + 4096 / 4);
  CHECK(same_page(mem, 9, 5));
  CHECK(e.zero(5) == 40 + 4096 / 16);
  CHECK(zero_page(mem, 5));
  CHECK(e.copy(1024, 512, 512) == 40 + (2u << 20) / 4);  // a huge page: one stream
  const CopyEngineStats& s = e.stats();
  CHECK(s.copies == 2);
  CHECK(s.zeroes == 1);
  CHECK(s.bytes_copied == 4096 + (2u << 20));
  CHECK(s.copy_cycles == 40 + 1024 + 40 + (2u << 20) / 4);
  CHECK(s.copy_energy_nj == 3600.0 * 513);  // RowClone's baseline: 3.6 uJ a page
  CHECK(s.zero_energy_nj == 2000.0);
}

TEST_CASE("copy engine dma: setup then transfer then completion by polling or interrupt", "[engine]") {
  EngineBench b;
  PhysMem mem("mem", b.cfg, b.clock);
  DmaEngine e(b.cfg, mem);
  fill(mem, 7, 11);
  CHECK(e.copy(8, 7) == 1000 + 4096 / 8 + 800);  // defaults: setup, 8 bytes a cycle, polled
  CHECK(same_page(mem, 8, 7));
  CHECK(e.zero(7) == 1000 + 512 + 800);
  CHECK(zero_page(mem, 7));
  CHECK(e.stats().dma_descriptors == 2);
  CHECK(e.stats().copy_energy_nj == 3600.0);

  EngineBench irq({"dma.completion=interrupt", "dma.interrupt=3000", "dma.setup=100", "dma.bytes_per_cycle=32"});
  PhysMem mem2("mem2", irq.cfg, irq.clock);
  DmaEngine e2(irq.cfg, mem2);
  CHECK(e2.copy(8, 7, 2) == 100 + 8192 / 32 + 3000);  // one descriptor for a run of frames
  CHECK(e2.stats().dma_descriptors == 1);
}

TEST_CASE("copy engine dma: with the defaults the CPU copies a 4 KiB page faster and DMA a 16 KiB one", "[engine]") {
  EngineBench b({"mem.latency=100", "mem.copy_bytes_per_cycle=3"});  // mmusim's defaults
  PhysMem mem("mem", b.cfg, b.clock);
  DmaEngine e(b.cfg, mem);
  CHECK(mem.bulk_cycles(4096) < e.transfer_cycles(4096));     // 1466 vs 2312
  CHECK(mem.bulk_cycles(16384) > e.transfer_cycles(16384));   // 5562 vs 3848
  // break-even (Intel's DTO library: about 8 KiB): between 7 and 9 KiB
  CHECK(mem.bulk_cycles(7 * 1024) < e.transfer_cycles(7 * 1024));
  CHECK(mem.bulk_cycles(9 * 1024) > e.transfer_cycles(9 * 1024));
}

TEST_CASE("copy engine rowclone: FPM within a subarray and PSM between banks and two PSMs within a bank", "[engine]") {
  // defaults: 8 KiB rows (2 frames), 8 banks, 512 rows a subarray: frame f is
  // in row f/2, bank (f/2) % 8, subarray (f/2)/8/512, at offset f % 2.
  EngineBench b;
  PhysMem mem("mem", b.cfg, b.clock);
  RowCloneEngine e(b.cfg, mem);
  using Mode = RowCloneEngine::Mode;
  CHECK(e.mode(16, 0) == Mode::Fpm);            // row 8: bank 0, subarray 0, offset 0
  CHECK(e.mode(1, 0) == Mode::PsmIntraBank);    // the same row, the other offset
  CHECK(e.mode(2, 0) == Mode::Psm);             // row 1: bank 1
  CHECK(e.mode(8192, 0) == Mode::PsmIntraBank); // row 4096: bank 0, subarray 1
  CHECK(e.mode(8192 + 16, 8192) == Mode::Fpm);
  fill(mem, 0, 5);
  CHECK(e.copy(16, 0) == 324);
  CHECK(same_page(mem, 16, 0));
  CHECK(e.copy(2, 0) == 1980);
  CHECK(e.copy(1, 0) == 2 * 1980);
  CHECK(same_page(mem, 1, 0));
  CHECK(e.zero(16) == 324);  // from the subarray's zero row
  CHECK(zero_page(mem, 16));
  const CopyEngineStats& s = e.stats();
  CHECK(s.fpm_copies == 1);
  CHECK(s.psm_copies == 2);
  CHECK(s.psm_intra_bank == 1);
  CHECK(s.fpm_zeroes == 1);
  CHECK(s.copy_energy_nj == 48.0 + 1125.0 + 2 * 1125.0);
  CHECK(s.zero_energy_nj == 48.0);
}

TEST_CASE("frame allocator: alloc_at takes a given free frame and alloc() then passes over it", "[engine][memory]") {
  FrameAllocator fa(64);
  CHECK(fa.alloc_at(10, FrameUse::Data) == Ppn{10});  // beyond the bump pointer
  CHECK_FALSE(fa.alloc_at(10, FrameUse::Data));       // in use now
  CHECK_FALSE(fa.alloc_at(64, FrameUse::Data));       // beyond memory
  const Ppn a = *fa.alloc(FrameUse::Data);
  CHECK(a == 0);
  CHECK(fa.put(a));
  CHECK(fa.alloc_at(a, FrameUse::Data) == a);  // a listed free frame
  std::vector<Ppn> got;
  while (auto p = fa.alloc(FrameUse::Data)) got.push_back(*p);
  CHECK(got.size() == 62);  // every frame but 0 and 10, each once
  CHECK(std::find(got.begin(), got.end(), Ppn{10}) == got.end());
  CHECK(std::find(got.begin(), got.end(), a) == got.end());
  CHECK(fa.stats().data_in_use == 64);
}

namespace {
const char* kForkWrite =
    "1 mmap 0x10000 16K rw\n"
    "1 store 0x10000 1\n"
    "1 store 0x11000 2\n"
    "1 fork 2\n"
    "2 store 0x10000 3\n"
    "2 load 0x11000 expect=2\n"
    "1 load 0x10000 expect=1\n"
    "2 exit\n"
    "1 exit\n";
}

TEST_CASE("copy engine rowclone: copy-aware allocation puts the COW copy in the source's subarray", "[engine][kernel]") {
  TempFile csv("", ".csv");
  const RunResult r = simulate(kForkWrite, {"kernel.copy_engine=rowclone", "kernel.copy_aware_alloc=true"}, nullptr,
                               csv.path());
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "faults.cow_copy") == 1);
  CHECK(u(r, "engine.copies") == 1);
  CHECK(u(r, "engine.fpm_copies") == 1);
  CHECK(u(r, "engine.psm_copies") == 0);
  CHECK(u(r, "engine.placed_near") == 1);
  CHECK(u(r, "engine.placed_far") == 0);
  CHECK(u(r, "verify.mismatches") == 0);
  CHECK(r.stats.at("engine.name") == "rowclone");
  // the fault's copy column is the engine's time: one FPM copy
  CHECK(cow_copy_column(csv.path()) == "324");
}

TEST_CASE("copy engine rowclone: with no free frame in the subarray the copy goes anywhere by PSM", "[engine][kernel]") {
  // One row a subarray: the only frame "near" a page is its own row's.
  const RunResult r = simulate(kForkWrite, {"kernel.copy_engine=rowclone", "kernel.copy_aware_alloc=true",
                                            "rowclone.rows_per_subarray=1"});
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "engine.placed_near") == 0);
  CHECK(u(r, "engine.placed_far") == 1);
  CHECK(u(r, "engine.fpm_copies") == 0);
  CHECK(u(r, "engine.psm_copies") == 1);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("copy engine dma: every copy and zeroing goes through it (page tables too)", "[engine][kernel]") {
  TempFile csv("", ".csv");
  const RunResult r = simulate(kForkWrite, {"kernel.copy_engine=dma"}, nullptr, csv.path());
  REQUIRE(r.exit_code == 0);
  // 2 data pages zeroed on first touch, and every page-table frame of both processes
  CHECK(u(r, "engine.zeroes") == u(r, "memory.pt_frames_peak") + 2);
  CHECK(u(r, "engine.copies") == 1);
  CHECK(u(r, "engine.dma_descriptors") == u(r, "engine.zeroes") + 1);
  CHECK(u(r, "engine.bytes_zeroed") == 4096 * u(r, "engine.zeroes"));
  CHECK(r.stats.at("memory.copy_energy_nj").get<double>() == 3600.0 + 2000.0 * double(u(r, "engine.zeroes")));
  // the COW fault's copy column is the transfer: setup, 4096 bytes at 8 a cycle, polled completion
  CHECK(cow_copy_column(csv.path()) == std::to_string(1000 + 512 + 800));
}

}  // namespace mmusim::test
