#include "verify/reference_model.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace mmusim {

ReferenceModel::Page::Page(const Page& o) : n_(o.n_) {
  std::copy(o.index_, o.index_ + n_, index_);
  std::copy(o.value_, o.value_ + n_, value_);
  if (o.bytes_) {
    bytes_.reset(new uint8_t[kPageSize]);
    std::memcpy(bytes_.get(), o.bytes_.get(), kPageSize);
  }
}

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
    std::memcpy(out, bytes_.get() + offset, len);
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
  if (bytes_) std::memcpy(bytes_.get() + offset, in, len);
}

ReferenceModel::Proc& ReferenceModel::proc(Pid pid) { return procs_[pid]; }

void ReferenceModel::spawn(Pid pid) {
  drop_cache();
  procs_[pid] = Proc{};
}

void ReferenceModel::remove(Pid pid) {
  drop_cache();
  procs_.erase(pid);
}

void ReferenceModel::exec(Pid pid) { spawn(pid); }

void ReferenceModel::fork(Pid parent, Pid child) {
  drop_cache();
  Proc copy = proc(parent);  // page references are shared until someone writes
  procs_[child] = std::move(copy);
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
  if (shared) r.shared = std::make_shared<SharedRegion>();
  proc(pid).regions.emplace(va, r);
}

void ReferenceModel::munmap(Pid pid, VAddr va, uint64_t len) {
  drop_cache();
  Proc& p = proc(pid);
  split(p, va);
  split(p, va + len);
  for (auto it = p.regions.lower_bound(va); it != p.regions.end() && it->second.start < va + len;)
    it = p.regions.erase(it);
  for (Vpn v = vpn_of(va); v < vpn_of(va + len); ++v) p.pages.erase(v);
}

void ReferenceModel::mprotect(Pid pid, VAddr va, uint64_t len, Perms perms) {
  drop_cache();
  Proc& p = proc(pid);
  split(p, va);
  split(p, va + len);
  for (auto it = p.regions.lower_bound(va); it != p.regions.end() && it->second.start < va + len; ++it)
    it->second.perms = perms;
}

bool ReferenceModel::permits(Pid pid, VAddr va, unsigned size, AccessType access) const {
  const Proc* proc = nullptr;
  for (VAddr a : {va, va + size - 1}) {
    const Region* r = region_cache_;
    if (!r || region_cache_pid_ != pid || a < r->start || a >= r->end) {
      if (!proc) {
        auto pit = procs_.find(pid);
        if (pit == procs_.end()) return false;
        proc = &pit->second;
      }
      r = find(*proc, a);
      if (!r) return false;
      region_cache_pid_ = pid;
      region_cache_ = r;
    }
    const bool ok = access == AccessType::Store ? r->perms.w
                    : access == AccessType::Load ? r->perms.r
                                                 : r->perms.x;
    if (!ok) return false;
  }
  return true;
}

const ReferenceModel::Page* ReferenceModel::page_for_read(Proc& p, VAddr va) {
  const Region* r = find(p, va);
  if (r && r->shared) {
    auto it = r->shared->pages.find(r->pgoff + ((va - r->start) >> kPageShift));
    return it == r->shared->pages.end() ? nullptr : it->second.get();
  }
  auto it = p.pages.find(vpn_of(va));
  return it == p.pages.end() ? nullptr : it->second.get();
}

ReferenceModel::Page& ReferenceModel::page_for_write(Proc& p, VAddr va) {
  const Region* r = find(p, va);
  PageRef* ref;
  if (r && r->shared) {
    ref = &r->shared->pages[r->pgoff + ((va - r->start) >> kPageShift)];
  } else {
    ref = &p.pages[vpn_of(va)];
    // Private memory: the other holders keep the old contents.
    if (*ref && ref->use_count() > 1) *ref = std::make_shared<Page>(**ref);
  }
  if (!*ref) *ref = std::make_shared<Page>();
  return **ref;
}

uint64_t ReferenceModel::load(Pid pid, VAddr va, unsigned size) {
  if (page_offset(va) + size <= kPageSize) {  // the common case: one page
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

void ReferenceModel::store(Pid pid, VAddr va, unsigned size, uint64_t value) {
  for (unsigned i = 0; i < size;) {
    const VAddr a = va + i;
    const unsigned n = unsigned(std::min<uint64_t>(size - i, kPageSize - page_offset(a)));
    CacheLine& line = cache_line(vpn_of(a));
    Page* page;
    if (line.pid == pid && line.vpn == vpn_of(a) && line.writable) {
      page = line.page;
    } else {
      page = &page_for_write(proc(pid), a);
      line = CacheLine{pid, vpn_of(a), page, true};
    }
    uint8_t bytes[8];
    for (unsigned k = 0; k < n; ++k) bytes[k] = uint8_t(value >> (8 * (i + k)));
    page->write(unsigned(page_offset(a)), n, bytes);
    i += n;
  }
}

}  // namespace mmusim
