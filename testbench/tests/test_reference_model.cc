// The reference model on its own: loads return what was stored, byte for
// byte, whether a page keeps a few sparse words or has gone dense; accesses
// straddle words and pages; fork copies, and the copies diverge; shared
// regions are seen by both sides; munmap forgets. Pages live in chunks that a
// fork shares and the first write copies: exact chunk counts, and no stale
// page seen through the model's page cache after a copy.
#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>

#include "verify/reference_model.h"

namespace mmusim::test {

namespace {
constexpr Perms kRw{true, true, false};
}

TEST_CASE("reference model: stores and loads of every size and alignment, sparse then dense", "[verify]") {
  ReferenceModel m;
  m.spawn(1);
  m.mmap(1, 0x10000, 4 * kPageSize, kRw, false);
  // A byte-level shadow of the 16 KiB, written at random offsets and sizes,
  // some straddling 8-byte words and pages: far more than a sparse page holds.
  std::vector<uint8_t> shadow(4 * kPageSize, 0);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    const unsigned size = 1u << (rng() % 4);
    const uint64_t off = rng() % (shadow.size() - size + 1);
    const uint64_t value = rng();
    m.store(1, 0x10000 + off, size, value);
    for (unsigned k = 0; k < size; ++k) shadow[off + k] = uint8_t(value >> (8 * k));
    const uint64_t at = rng() % (shadow.size() - 8 + 1);
    uint64_t want = 0;
    for (unsigned k = 8; k-- > 0;) want = want << 8 | shadow[at + k];
    REQUIRE(m.load(1, 0x10000 + at, 8) == want);
  }
  // A page with one word written keeps it, and every other byte reads zero.
  m.mmap(1, 0x100000, kPageSize, kRw, false);
  m.store(1, 0x100000 + 4093, 2, 0xbeef);
  CHECK(m.load(1, 0x100000 + 4093, 2) == 0xbeef);
  CHECK(m.load(1, 0x100000 + 4088, 8) == uint64_t{0xbeef} << 40);
  CHECK(m.load(1, 0x100000, 8) == 0);
}

TEST_CASE("reference model: a page crossing store and load", "[verify]") {
  ReferenceModel m;
  m.spawn(1);
  m.mmap(1, 0x10000, 2 * kPageSize, kRw, false);
  m.store(1, 0x10000 + kPageSize - 3, 8, 0x1122334455667788);
  CHECK(m.load(1, 0x10000 + kPageSize - 3, 8) == 0x1122334455667788);
  CHECK(m.load(1, 0x10000 + kPageSize, 4) == 0x22334455);
  CHECK(m.load(1, 0x10000 + kPageSize - 3, 2) == 0x7788);
}

TEST_CASE("reference model: fork copies sparse and dense pages and the copies diverge", "[verify]") {
  ReferenceModel m;
  m.spawn(1);
  m.mmap(1, 0x10000, 2 * kPageSize, kRw, false);
  m.store(1, 0x10000, 8, 5);                                       // sparse
  for (unsigned w = 0; w < 512; ++w) m.store(1, 0x11000 + 8 * w, 8, w + 1);  // dense
  m.fork(1, 2);
  m.store(2, 0x10000, 8, 10);
  m.store(2, 0x11000 + 8 * 100, 8, 999);
  m.store(1, 0x10008, 4, 7);
  CHECK(m.load(1, 0x10000, 8) == 5);
  CHECK(m.load(2, 0x10000, 8) == 10);
  CHECK(m.load(2, 0x10008, 4) == 0);
  CHECK(m.load(1, 0x10008, 4) == 7);
  CHECK(m.load(1, 0x11000 + 8 * 100, 8) == 101);
  CHECK(m.load(2, 0x11000 + 8 * 100, 8) == 999);
  CHECK(m.load(2, 0x11000 + 8 * 511, 8) == 512);
}

TEST_CASE("reference model: shared regions are one memory and munmap forgets private pages", "[verify]") {
  ReferenceModel m;
  m.spawn(1);
  m.mmap(1, 0x10000, kPageSize, kRw, true);
  m.mmap(1, 0x20000, kPageSize, kRw, false);
  m.store(1, 0x20000, 8, 3);
  m.fork(1, 2);
  m.store(2, 0x10010, 8, 42);
  CHECK(m.load(1, 0x10010, 8) == 42);
  m.munmap(1, 0x20000, kPageSize);
  CHECK_FALSE(m.permits(1, 0x20000, 8, AccessType::Load));
  m.mmap(1, 0x20000, kPageSize, kRw, false);
  CHECK(m.load(1, 0x20000, 8) == 0);
  CHECK(m.load(2, 0x20000, 8) == 3);
}


TEST_CASE("reference model: fork shares chunks, the first write copies one, exit frees", "[verify]") {
  ReferenceModel m;
  constexpr uint64_t kChunkBytes = ReferenceModel::kChunkPages * kPageSize;
  constexpr VAddr kBase = 0x40000000;  // chunk-aligned
  m.spawn(1);
  m.mmap(1, kBase, 2 * kChunkBytes, kRw, false);
  for (uint64_t p = 0; p < 2 * ReferenceModel::kChunkPages; ++p) m.store(1, kBase + p * kPageSize, 8, p + 1);
  CHECK(m.chunks_in_use() == 2);
  m.fork(1, 2);
  CHECK(m.chunks_in_use() == 2);  // shared, nothing copied
  m.store(2, kBase, 8, 100);      // copies the first chunk only
  CHECK(m.chunks_in_use() == 3);
  m.store(2, kBase + kPageSize, 8, 101);  // the copy is the child's own now
  m.store(1, kBase, 8, 200);              // the parent is alone on the old one: no copy
  CHECK(m.chunks_in_use() == 3);
  CHECK(m.load(1, kBase, 8) == 200);
  CHECK(m.load(2, kBase, 8) == 100);
  CHECK(m.load(1, kBase + kPageSize, 8) == 2);
  CHECK(m.load(2, kBase + kPageSize, 8) == 101);
  CHECK(m.load(2, kBase + kChunkBytes, 8) == ReferenceModel::kChunkPages + 1);  // still shared
  m.remove(1);  // its first chunk goes; the second stays, the child's
  CHECK(m.chunks_in_use() == 2);
  CHECK(m.load(2, kBase + kChunkBytes + kPageSize, 8) == ReferenceModel::kChunkPages + 2);
  m.remove(2);
  CHECK(m.chunks_in_use() == 0);
}

TEST_CASE("reference model: no stale page after a chunk copy", "[verify]") {
  // The parent reads page B (cached), then writes page A of the same chunk,
  // which copies the chunk; the child, alone on the old chunk now, writes B
  // in place. The parent must still read its own B.
  ReferenceModel m;
  constexpr VAddr kA = 0x40000000, kB = kA + kPageSize;
  m.spawn(1);
  m.mmap(1, kA, 2 * kPageSize, kRw, false);
  m.store(1, kA, 8, 1);
  m.store(1, kB, 8, 2);
  m.fork(1, 2);
  CHECK(m.load(1, kB, 8) == 2);
  m.store(1, kA, 8, 3);
  m.store(2, kB, 8, 4);
  CHECK(m.load(1, kB, 8) == 2);
  CHECK(m.load(2, kB, 8) == 4);
  CHECK(m.load(2, kA, 8) == 1);
  CHECK(m.load(1, kA, 8) == 3);
  m.remove(2);  // frees the old chunk: the parent must not read through it
  CHECK(m.load(1, kB, 8) == 2);
  CHECK(m.chunks_in_use() == 1);
}

TEST_CASE("reference model: munmap of part of a shared chunk leaves the other side alone", "[verify]") {
  ReferenceModel m;
  constexpr uint64_t kChunkBytes = ReferenceModel::kChunkPages * kPageSize;
  constexpr VAddr kBase = 0x40000000;
  m.spawn(1);
  m.mmap(1, kBase, 2 * kChunkBytes, kRw, false);
  for (uint64_t p = 0; p < 2 * ReferenceModel::kChunkPages; ++p) m.store(1, kBase + p * kPageSize, 8, p + 1);
  m.fork(1, 2);
  m.munmap(2, kBase + kPageSize, kChunkBytes);  // pages 1..32: part of each chunk
  CHECK(m.chunks_in_use() == 4);                // both copied to be cut
  m.mmap(2, kBase + kPageSize, kChunkBytes, kRw, false);
  CHECK(m.load(2, kBase + kPageSize, 8) == 0);
  CHECK(m.load(2, kBase + kChunkBytes, 8) == 0);
  CHECK(m.load(2, kBase, 8) == 1);
  CHECK(m.load(2, kBase + (kChunkBytes + kPageSize), 8) == ReferenceModel::kChunkPages + 2);
  CHECK(m.load(1, kBase + kPageSize, 8) == 2);
  CHECK(m.load(1, kBase + kChunkBytes, 8) == ReferenceModel::kChunkPages + 1);
  m.munmap(1, kBase, 2 * kChunkBytes);  // whole chunks: dropped, not copied
  CHECK(m.chunks_in_use() == 2);
  // A huge range with little written in it visits only the chunks there are.
  m.munmap(2, 0, uint64_t{1} << 46);
  CHECK(m.chunks_in_use() == 0);
}

}  // namespace mmusim::test
