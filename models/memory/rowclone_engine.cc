#include "memory/rowclone_engine.h"

#include "common/config.h"
#include "memory/phys_mem.h"

namespace mmusim {

RowCloneEngine::RowCloneEngine(const Config& cfg, PhysMem& mem)
    : mem_(mem),
      frames_per_row_(cfg.u64("rowclone.row_bytes") / kPageSize),
      rows_per_subarray_(cfg.u64("rowclone.rows_per_subarray")),
      banks_(cfg.u64("rowclone.banks")),
      fpm_(cfg.u64("rowclone.fpm_latency")),
      psm_(cfg.u64("rowclone.psm_latency")),
      fpm_nj_(double(cfg.u64("rowclone.fpm_energy_nj"))),
      psm_nj_(double(cfg.u64("rowclone.psm_energy_nj"))),
      zero_nj_(double(cfg.u64("rowclone.zero_energy_nj"))) {}

RowCloneEngine::Place RowCloneEngine::place(Ppn p) const {
  const uint64_t row = p / frames_per_row_;
  return {row % banks_, row / banks_ / rows_per_subarray_, p % frames_per_row_};
}

RowCloneEngine::Mode RowCloneEngine::mode(Ppn dst, Ppn src) const {
  const Place d = place(dst), s = place(src);
  if (d.bank != s.bank) return Mode::Psm;
  if (d.subarray == s.subarray && d.offset == s.offset) return Mode::Fpm;
  return Mode::PsmIntraBank;  // through a row of another bank: two PSM copies
}

Ppn RowCloneEngine::near_frame(Ppn src, uint64_t i) const {
  const Place s = place(src);
  const uint64_t row = (s.subarray * rows_per_subarray_ + i) * banks_ + s.bank;
  return row * frames_per_row_ + s.offset;
}

Cycles RowCloneEngine::copy_frames(Ppn dst, Ppn src, uint64_t frames) {
  Cycles t = 0;
  double nj = 0;
  for (uint64_t i = 0; i < frames; ++i) {
    mem_.copy_frame(dst + i, src + i);
    switch (mode(dst + i, src + i)) {
      case Mode::Fpm:
        t += fpm_, nj += fpm_nj_;
        ++stats_.fpm_copies;
        break;
      case Mode::Psm:
        t += psm_, nj += psm_nj_;
        ++stats_.psm_copies;
        break;
      case Mode::PsmIntraBank:
        t += 2 * psm_, nj += 2 * psm_nj_;
        ++stats_.psm_copies;
        ++stats_.psm_intra_bank;
        break;
    }
  }
  return counted_copy(frames, t, nj);
}

Cycles RowCloneEngine::zero_frames(Ppn dst, uint64_t frames) {
  for (uint64_t i = 0; i < frames; ++i) mem_.zero_frame(dst + i);
  stats_.fpm_zeroes += frames;  // from the subarray's zero row
  return counted_zero(frames, fpm_ * frames, zero_nj_ * double(frames));
}

}  // namespace mmusim
