#include "verify/reference_model.h"

#include <algorithm>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "common/access_copy.h"

namespace mmusim {

const uint64_t* ReferenceModel::Page::find(unsigned index) const {
  for (unsigned k = 0; k < n_; ++k)
    if (index_[k] == index) return &value_[k];
  return nullptr;
}

uint64_t* ReferenceModel::Page::word(unsigned index) {
  for (unsigned k = 0; k < n_; ++k)
    if (index_[k] == index) return &value_[k];
  if (n_ == kSparseWords) return nullptr;
  index_[n_] = uint16_t(index);
  value_[n_] = 0;
  return &value_[n_++];
}

void ReferenceModel::Page::read(unsigned offset, unsigned len, uint8_t* out) const {
  if (bytes_) {
    copy_access_bytes(out, bytes_.get() + offset, len);
    return;
  }
  for (unsigned i = 0; i < len;) {  // word by word: an access may straddle two
    const unsigned at = offset + i, in_word = at % 8, n = std::min(len - i, 8 - in_word);
    uint64_t v = 0;
    if (const uint64_t* w = find(at / 8)) v = *w;
    std::memcpy(out + i, reinterpret_cast<const uint8_t*>(&v) + in_word, n);
    i += n;
  }
}

void ReferenceModel::Page::write(unsigned offset, unsigned len, const uint8_t* in) {
  for (unsigned i = 0; !bytes_ && i < len;) {
    const unsigned at = offset + i, in_word = at % 8, n = std::min(len - i, 8 - in_word);
    uint64_t* w = word(at / 8);
    if (!w) {  // full: every byte from now on
      bytes_.reset(new uint8_t[kPageSize]());
      for (unsigned k = 0; k < n_; ++k) std::memcpy(bytes_.get() + 8 * index_[k], &value_[k], 8);
      n_ = 0;
      break;
    }
    std::memcpy(reinterpret_cast<uint8_t*>(w) + in_word, in + i, n);
    i += n;
  }
  if (!bytes_) return;
  if (bytes_.use_count() > 1) {  // another page map's copy keeps the old bytes
    std::shared_ptr<uint8_t[]> own(new uint8_t[kPageSize]);
    std::memcpy(own.get(), bytes_.get(), kPageSize);
    bytes_ = std::move(own);
  }
  copy_access_bytes(bytes_.get() + offset, in, len);
}

ReferenceModel::ChunkPool::~ChunkPool() {
  for (void* slab : slabs_) ::munmap(slab, kSlabBytes);
}

ReferenceModel::Chunk* ReferenceModel::ChunkPool::make(const Chunk* copy_of) {
  void* at;
  if (free_) {
    at = free_;
    std::memcpy(&free_, at, sizeof free_);
  } else {
    if (end_ - next_ < std::ptrdiff_t(sizeof(Chunk))) {
      // Twice the size, to align a 2 MiB slab inside it for a huge page.
      void* m = ::mmap(nullptr, 2 * kSlabBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) throw std::bad_alloc();
      char* raw = static_cast<char*>(m);
      char* slab = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(raw) + kSlabBytes - 1) & ~(kSlabBytes - 1));
      if (slab > raw) ::munmap(raw, size_t(slab - raw));
      if (raw + 2 * kSlabBytes > slab + kSlabBytes) ::munmap(slab + kSlabBytes, size_t(raw + 2 * kSlabBytes - (slab + kSlabBytes)));
      madvise(slab, kSlabBytes, MADV_HUGEPAGE);  // a hint: without THP, 4 KiB pages
      slabs_.push_back(slab);
      next_ = slab;
      end_ = slab + kSlabBytes;
    }
    at = next_;
    next_ += sizeof(Chunk);
  }
  Chunk* c = copy_of ? new (at) Chunk(*copy_of) : new (at) Chunk;
  c->refs = 1;
  ++in_use_;
  return c;
}

void ReferenceModel::ChunkPool::release(Chunk* c) {
  if (--c->refs) return;
  c->~Chunk();
  --in_use_;
  std::memcpy(static_cast<void*>(c), &free_, sizeof free_);
  free_ = c;
}

ReferenceModel::PageMap::PageMap(const PageMap& o) : pool_(o.pool_), chunks_(o.chunks_) {
  for (auto& [index, chunk] : chunks_) ++chunk->refs;
}

ReferenceModel::PageMap::~PageMap() {
  for (auto& [index, chunk] : chunks_) pool_->release(chunk);
}

const ReferenceModel::Page* ReferenceModel::PageMap::find(uint64_t index) const {
  auto it = chunks_.find(index >> kChunkShift);
  return it == chunks_.end() ? nullptr : &it->second->pages[index & (kChunkPages - 1)];
}

ReferenceModel::Page& ReferenceModel::PageMap::for_write(uint64_t index, bool& copied) {
  Chunk*& chunk = chunks_[index >> kChunkShift];
  copied = false;
  if (!chunk) {
    chunk = pool_->make();
  } else if (chunk->refs > 1) {  // shared with another map since a fork
    Chunk* own = pool_->make(chunk);
    pool_->release(chunk);
    chunk = own;
    copied = true;
  }
  return chunk->pages[index & (kChunkPages - 1)];
}

void ReferenceModel::PageMap::erase(uint64_t first, uint64_t last) {
  auto erase_chunk = [&](uint64_t c) {
    const uint64_t lo = std::max(first, c << kChunkShift), hi = std::min(last, (c + 1) << kChunkShift);
    if (lo >= hi) return;
    auto it = chunks_.find(c);
    if (it == chunks_.end()) return;
    if (hi - lo == kChunkPages) {
      pool_->release(it->second);
      chunks_.erase(it);
      return;
    }
    bool copied;
    for (uint64_t i = lo; i < hi; ++i) for_write(i, copied) = Page{};
  };
  const uint64_t c0 = first >> kChunkShift, c1 = (last + kChunkPages - 1) >> kChunkShift;
  if (c1 - c0 <= chunks_.size()) {
    for (uint64_t c = c0; c < c1; ++c) erase_chunk(c);
  } else {  // a range larger than what was written: visit the chunks there are
    std::vector<uint64_t> in_range;
    for (const auto& [c, chunk] : chunks_)
      if (c >= c0 && c < c1) in_range.push_back(c);
    for (uint64_t c : in_range) erase_chunk(c);
  }
}

ReferenceModel::Proc& ReferenceModel::proc(Pid pid) { return procs_.try_emplace(pid, &pool_).first->second; }

void ReferenceModel::spawn(Pid pid) {
  drop_cache();
  procs_.insert_or_assign(pid, Proc(&pool_));
}

void ReferenceModel::remove(Pid pid) {
  drop_cache();
  procs_.erase(pid);
}

void ReferenceModel::exec(Pid pid) { spawn(pid); }

void ReferenceModel::fork(Pid parent, Pid child) {
  drop_cache();
  Proc copy = proc(parent);  // chunks are shared until someone writes
  procs_.insert_or_assign(child, std::move(copy));
}

const ReferenceModel::Region* ReferenceModel::find(const Proc& p, VAddr va) const {
  auto it = p.regions.upper_bound(va);
  if (it == p.regions.begin()) return nullptr;
  --it;
  return va < it->second.end ? &it->second : nullptr;
}

void ReferenceModel::split(Proc& p, VAddr at) {
  const Region* r = find(p, at);
  if (!r || r->start == at) return;
  Region hi = *r;
  hi.start = at;
  hi.pgoff = r->pgoff + ((at - r->start) >> kPageShift);
  p.regions[r->start].end = at;
  p.regions.emplace(at, hi);
}

void ReferenceModel::mmap(Pid pid, VAddr va, uint64_t len, Perms perms, bool shared) {
  drop_cache();
  Region r;
  r.start = va;
  r.end = va + len;
  r.perms = perms;
  if (shared) r.shared = std::make_shared<SharedRegion>(&pool_);
  proc(pid).regions.emplace(va, r);
}

void ReferenceModel::munmap(Pid pid, VAddr va, uint64_t len) {
  drop_cache();
  Proc& p = proc(pid);
  split(p, va);
  split(p, va + len);
  for (auto it = p.regions.lower_bound(va); it != p.regions.end() && it->second.start < va + len;)
    it = p.regions.erase(it);
  p.pages.erase(vpn_of(va), vpn_of(va + len));
}

void ReferenceModel::mprotect(Pid pid, VAddr va, uint64_t len, Perms perms) {
  drop_cache();
  Proc& p = proc(pid);
  split(p, va);
  split(p, va + len);
  for (auto it = p.regions.lower_bound(va); it != p.regions.end() && it->second.start < va + len; ++it)
    it->second.perms = perms;
}

// permits() when the access is not within the region of the last one (or
// its last byte's address wraps around).
bool ReferenceModel::permits_uncached(Pid pid, VAddr va, unsigned size, AccessType access) const {
  const Proc* proc = nullptr;
  for (VAddr a : {va, va + size - 1}) {
    RegionCache& c = region_cache_;
    if (c.pid != pid || a < c.start || a >= c.end) {
      if (!proc) {
        auto pit = procs_.find(pid);
        if (pit == procs_.end()) return false;
        proc = &pit->second;
      }
      const Region* r = find(*proc, a);
      if (!r) return false;
      const Perms& p = r->perms;
      c = RegionCache{pid, r->start, r->end,
                      uint8_t(p.r << unsigned(AccessType::Load) | p.w << unsigned(AccessType::Store) |
                              p.x << unsigned(AccessType::Fetch))};
    }
    if (!((c.allows >> unsigned(access)) & 1)) return false;
  }
  return true;
}

const ReferenceModel::Page* ReferenceModel::page_for_read(Proc& p, VAddr va) {
  const Region* r = find(p, va);
  if (r && r->shared) return r->shared->pages.find(r->pgoff + ((va - r->start) >> kPageShift));
  return p.pages.find(vpn_of(va));
}

ReferenceModel::Page& ReferenceModel::page_for_write(Pid pid, Proc& p, VAddr va) {
  const Region* r = find(p, va);
  bool copied;
  if (r && r->shared) return r->shared->pages.for_write(r->pgoff + ((va - r->start) >> kPageShift), copied);
  // Private memory: the other holders keep the old contents.
  Page& page = p.pages.for_write(vpn_of(va), copied);
  if (copied) drop_cache_chunk(pid, vpn_of(va) & ~(kChunkPages - 1));
  return page;
}

void ReferenceModel::drop_cache_chunk(Pid pid, Vpn first) {
  for (Vpn v = first; v < first + kChunkPages; ++v) {
    CacheLine& line = cache_line(v);
    if (line.pid == pid && line.vpn == v) line = CacheLine{};
  }
}

// load() when the page is not in the cache with all its bytes (dense), or
// the access crosses a page.
uint64_t ReferenceModel::load_uncached(Pid pid, VAddr va, unsigned size) {
  if (page_offset(va) + size <= kPageSize) {  // one page
    CacheLine& line = cache_line(vpn_of(va));
    const Page* page;
    if (line.pid == pid && line.vpn == vpn_of(va)) {
      page = line.page;
    } else {
      page = page_for_read(proc(pid), va);
      if (page) line = CacheLine{pid, vpn_of(va), const_cast<Page*>(page), false};
    }
    uint64_t v = 0;  // little-endian, as the host (see Cpu::access)
    if (page) page->read(unsigned(page_offset(va)), size, reinterpret_cast<uint8_t*>(&v));
    return v;
  }
  uint8_t bytes[8] = {};
  for (unsigned i = 0; i < size;) {
    const VAddr a = va + i;
    const unsigned n = unsigned(std::min<uint64_t>(size - i, kPageSize - page_offset(a)));
    CacheLine& line = cache_line(vpn_of(a));
    const Page* page;
    if (line.pid == pid && line.vpn == vpn_of(a)) {
      page = line.page;
    } else {
      page = page_for_read(proc(pid), a);
      // Pages that read as zeroes have no contents to cache yet.
      if (page) line = CacheLine{pid, vpn_of(a), const_cast<Page*>(page), false};
    }
    if (page) page->read(unsigned(page_offset(a)), n, bytes + i);
    i += n;
  }
  uint64_t v = 0;
  for (unsigned i = size; i-- > 0;) v = v << 8 | bytes[i];
  return v;
}

void ReferenceModel::store_uncached(Pid pid, VAddr va, unsigned size, uint64_t value) {
  for (unsigned i = 0; i < size;) {
    const VAddr a = va + i;
    const unsigned n = unsigned(std::min<uint64_t>(size - i, kPageSize - page_offset(a)));
    CacheLine& line = cache_line(vpn_of(a));
    Page* page;
    if (line.pid == pid && line.vpn == vpn_of(a) && line.writable) {
      page = line.page;
    } else {
      page = &page_for_write(pid, proc(pid), a);
      line = CacheLine{pid, vpn_of(a), page, true};
    }
    uint8_t bytes[8];
    for (unsigned k = 0; k < n; ++k) bytes[k] = uint8_t(value >> (8 * (i + k)));
    page->write(unsigned(page_offset(a)), n, bytes);
    i += n;
  }
}

}  // namespace mmusim
