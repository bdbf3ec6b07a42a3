// The C++ TLB. See tlb.h for the interface; the exact replacement rules are
// written out here so that the RTL TLB (rtl/) can match them bit for bit.
//
// Organisation
//   sets = entries / ways. Slot (set, way) lives at slots_[set * ways + way].
//   An entry of page level L (0: 4 KiB, 1: 2 MiB, 2: 1 GiB, 3: 512 GiB) lives
//   in set (vpn >> 9*L) % sets. A lookup probes, for each level that holds at
//   least one valid entry (level 0 first), the one set that level maps vpn to.
//   An entry matches when its level is L, (entry.vpn >> 9*L) == (vpn >> 9*L),
//   and (entry.asid == asid or the entry is global).
//
// Choosing the way of a fill (every policy)
//   1. An entry of the same level with the same vpn at that level and the same
//      ASID (or both global) is overwritten in place: no duplicate, no eviction.
//   2. Else the lowest-numbered invalid way of the set.
//   3. Else the policy's victim (below); the victim's page is evicted
//      (stats.evictions).
//   Invalidations clear valid bits only; they leave the replacement state
//   (lru stamps, plru bits, fifo pointer, random state) as it was.
//
// Replacement policies
//   lru    exact LRU. Each hit and each fill (including an in-place update and a
//          fill into an invalid way) makes the way the most recently used; the
//          victim is the least recently used way of the set.
//   plru   tree pseudo-LRU, ways = 2^k, (ways - 1) bits per set, see "PLRU" below.
//          Hits and fills (any of the three cases above) update the bits.
//   fifo   one pointer per set, reset to 0. The victim is the way it points to;
//          a fill that evicts (case 3) advances it: ptr = (ptr + 1) % ways.
//          Hits, in-place updates and fills into invalid ways leave it unchanged.
//   random one xorshift64* generator for the whole TLB (see rng_next). Only a fill
//          that evicts (case 3) draws: state = step(state), victim =
//          ((state * 0x2545F4914F6CDD1D) >> 32) % ways. Hits do not draw.
//          Initial state = splitmix64(seed), or 0x9E3779B97F4A7C15 if that is 0.
//
// PLRU (bit-exact description)
//   Per set a binary tree of ways-1 bits b[0 .. ways-2] in heap order: node 0 is
//   the root, the children of node i are 2i+1 (left) and 2i+2 (right); the ways
//   are the leaves, way w being leaf node (ways - 1 + w), so ways 0 .. ways/2-1
//   are under the root's left child. All bits are 0 at reset (victim = way 0).
//   b[i] = 0 means the pseudo-LRU side of node i is its LEFT subtree,
//   b[i] = 1 means it is its RIGHT subtree.
//   Access (hit or fill) of way w, with k = log2(ways): walk from the root,
//     n = 0; for d = 0 .. k-1: dir = (w >> (k-1-d)) & 1   (1 = go right)
//                              b[n] = !dir                 (point away from w)
//                              n = 2n + 1 + dir
//   Victim: n = 0; while n < ways-1: n = 2n + 1 + b[n]; victim = n - (ways-1).
//   (Equivalently the victim's way number is, MSB first, the bits b[] read along
//   the path the walk takes.) With ways = 1 there are no bits and the victim is 0.
#include "mmu/tlb.h"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace mmusim {

namespace {

constexpr unsigned kMaxLevel = 3;

constexpr bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline bool same_page(Vpn a, Vpn b, unsigned level) {
  return (a >> (kVpnBitsPerLevel * level)) == (b >> (kVpnBitsPerLevel * level));
}

}  // namespace

ReplacementPolicy parse_policy(const std::string& name) {
  if (name == "lru") return ReplacementPolicy::Lru;
  if (name == "plru") return ReplacementPolicy::Plru;
  if (name == "fifo") return ReplacementPolicy::Fifo;
  if (name == "random") return ReplacementPolicy::Random;
  throw std::invalid_argument("unknown TLB replacement policy '" + name +
                              "' (expected lru, plru, fifo or random)");
}

Tlb::Tlb(const TlbParams& p)
    : name_(p.name),
      entries_(p.entries),
      ways_(p.ways),
      sets_(0),
      set_mask_(0),
      sets_pow2_(false),
      latency_(p.latency),
      policy_(p.policy),
      rng_(0) {
  const unsigned entries = p.entries, ways = p.ways;
  const ReplacementPolicy policy = p.policy;
  const std::string who = "TLB '" + name_ + "': ";
  if (entries == 0) throw std::invalid_argument(who + "entries must be at least 1");
  if (ways == 0) throw std::invalid_argument(who + "ways must be at least 1");
  if (ways > entries)
    throw std::invalid_argument(who + "ways (" + std::to_string(ways) +
                                ") must not exceed entries (" + std::to_string(entries) + ")");
  if (entries % ways != 0)
    throw std::invalid_argument(who + "entries (" + std::to_string(entries) +
                                ") must be a multiple of ways (" + std::to_string(ways) + ")");
  if (policy == ReplacementPolicy::Plru && !is_pow2(ways))
    throw std::invalid_argument(who + "plru needs a power-of-two number of ways, not " +
                                std::to_string(ways));
  sets_ = entries / ways;
  sets_pow2_ = is_pow2(sets_);
  set_mask_ = sets_pow2_ ? sets_ - 1 : 0;
  slots_.assign(entries, Slot{});
  if (policy == ReplacementPolicy::Plru) plru_.assign(size_t{sets_} * (ways - 1), 0);
  if (policy == ReplacementPolicy::Fifo) fifo_next_.assign(sets_, 0);
  rng_ = splitmix64(p.seed);
  if (rng_ == 0) rng_ = 0x9E3779B97F4A7C15ull;
}

unsigned Tlb::set_of(Vpn vpn, unsigned level) const {
  const uint64_t tag = vpn >> (kVpnBitsPerLevel * level);
  return static_cast<unsigned>(sets_pow2_ ? (tag & set_mask_) : (tag % sets_));
}

const TlbEntry* Tlb::slot(unsigned set, unsigned way) const {
  if (set >= sets_ || way >= ways_) return nullptr;
  const Slot& s = at(set, way);
  return s.valid ? &s.entry : nullptr;
}

uint64_t Tlb::rng_next(uint64_t x) {
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  return x;
}

unsigned Tlb::rng_pick(uint64_t state, unsigned ways) {
  return static_cast<unsigned>(((state * 0x2545F4914F6CDD1Dull) >> 32) % ways);
}

void Tlb::touch(unsigned set, unsigned way) {
  switch (policy_) {
    case ReplacementPolicy::Lru:
      at(set, way).stamp = ++clock_;
      break;
    case ReplacementPolicy::Plru: {
      if (ways_ == 1) break;
      uint8_t* b = &plru_[size_t{set} * (ways_ - 1)];
      unsigned n = 0;
      for (unsigned half = ways_ >> 1, lo = 0; half != 0; half >>= 1) {
        const unsigned dir = way >= lo + half ? 1u : 0u;  // 1: w is in the right subtree
        b[n] = static_cast<uint8_t>(dir ^ 1u);            // point away from w
        lo += dir * half;
        n = 2 * n + 1 + dir;
      }
      break;
    }
    case ReplacementPolicy::Fifo:
    case ReplacementPolicy::Random:
      break;
  }
}

unsigned Tlb::choose_victim(unsigned set) const {
  for (unsigned w = 0; w < ways_; ++w)
    if (!at(set, w).valid) return w;
  switch (policy_) {
    case ReplacementPolicy::Lru: {
      unsigned victim = 0;
      uint64_t oldest = at(set, 0).stamp;
      for (unsigned w = 1; w < ways_; ++w)
        if (at(set, w).stamp < oldest) oldest = at(set, w).stamp, victim = w;
      return victim;
    }
    case ReplacementPolicy::Plru: {
      const uint8_t* b = plru_.data() + size_t{set} * (ways_ - 1);
      unsigned n = 0;
      while (n < ways_ - 1) n = 2 * n + 1 + b[n];
      return n - (ways_ - 1);
    }
    case ReplacementPolicy::Fifo:
      return fifo_next_[set];
    case ReplacementPolicy::Random:
      return rng_pick(rng_next(rng_), ways_);
  }
  return 0;
}

unsigned Tlb::victim_way(Vpn vpn, unsigned level) const {
  return choose_victim(set_of(vpn, level));
}

const TlbEntry* Tlb::lookup(Vpn vpn, Asid asid) {
  for (unsigned level = 0; level <= kMaxLevel; ++level) {
    if (level_count_[level] == 0) continue;
    const unsigned set = set_of(vpn, level);
    Slot* s = &slots_[size_t{set} * ways_];
    for (unsigned w = 0; w < ways_; ++w, ++s) {
      if (s->valid && s->entry.level == level && same_page(s->entry.vpn, vpn, level) &&
          (s->entry.asid == asid || s->entry.global())) {
        ++stats_.hits;
        touch(set, w);
        return &s->entry;
      }
    }
  }
  ++stats_.misses;
  return nullptr;
}

unsigned Tlb::slot_of(const TlbEntry* e) const {
  // e is the entry of a Slot (its first member): that slot's index.
  const auto* s = reinterpret_cast<const Slot*>(reinterpret_cast<const char*>(e) - offsetof(Slot, entry));
  return static_cast<unsigned>(s - slots_.data());
}

bool Tlb::fill(const TlbEntry& e) {
  if (e.level > kMaxLevel)
    throw std::invalid_argument("TLB '" + name_ + "': page level " + std::to_string(e.level) +
                                " out of range 0..3");
  ++epoch_;
  ++stats_.fills;
  const unsigned set = set_of(e.vpn, e.level);
  // 1. Same page, same ASID (or both global): update in place.
  for (unsigned w = 0; w < ways_; ++w) {
    Slot& s = at(set, w);
    if (s.valid && s.entry.level == e.level && same_page(s.entry.vpn, e.vpn, e.level) &&
        (s.entry.asid == e.asid || (s.entry.global() && e.global()))) {
      s.entry = e;
      touch(set, w);
      return false;
    }
  }
  // 2./3. Lowest invalid way, else the policy's victim.
  const unsigned way = choose_victim(set);
  Slot& s = at(set, way);
  const bool evicted = s.valid;
  if (evicted) {
    ++stats_.evictions;
    --level_count_[s.entry.level];
    if (policy_ == ReplacementPolicy::Fifo) fifo_next_[set] = (way + 1) % ways_;
    if (policy_ == ReplacementPolicy::Random) rng_ = rng_next(rng_);
  }
  s.entry = e;
  s.valid = true;
  ++level_count_[e.level];
  touch(set, way);
  return evicted;
}

void Tlb::drop(Slot& s) {
  s.valid = false;
  --level_count_[s.entry.level];
}

void Tlb::invalidate_all() {
  ++epoch_;
  ++stats_.flush_all;
  for (Slot& s : slots_) s.valid = false;
  for (unsigned& c : level_count_) c = 0;
}

void Tlb::invalidate_asid(Asid asid) {
  ++epoch_;
  ++stats_.flush_asid;
  for (Slot& s : slots_)
    if (s.valid && s.entry.asid == asid && !s.entry.global()) drop(s);
}

void Tlb::invalidate_page(Vpn vpn) {
  ++epoch_;
  ++stats_.flush_page;
  for (unsigned level = 0; level <= kMaxLevel; ++level) {
    if (level_count_[level] == 0) continue;
    const unsigned set = set_of(vpn, level);
    for (unsigned w = 0; w < ways_; ++w) {
      Slot& s = at(set, w);
      if (s.valid && s.entry.level == level && same_page(s.entry.vpn, vpn, level)) drop(s);
    }
  }
}

void Tlb::invalidate_page_asid(Vpn vpn, Asid asid) {
  ++epoch_;
  ++stats_.flush_page;
  for (unsigned level = 0; level <= kMaxLevel; ++level) {
    if (level_count_[level] == 0) continue;
    const unsigned set = set_of(vpn, level);
    for (unsigned w = 0; w < ways_; ++w) {
      Slot& s = at(set, w);
      if (s.valid && s.entry.level == level && same_page(s.entry.vpn, vpn, level) &&
          (s.entry.asid == asid || s.entry.global()))
        drop(s);
    }
  }
}

void Tlb::visit(const std::function<void(const TlbEntry&)>& fn) const {
  for (const Slot& s : slots_)
    if (s.valid) fn(s.entry);
}

}  // namespace mmusim
