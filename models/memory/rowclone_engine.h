// kernel.copy_engine = rowclone: copies inside the DRAM (RowClone, Seshadri
// et al., MICRO 2013). Physical memory is one channel and rank of
// rowclone.banks banks; consecutive rows of rowclone.row_bytes go to
// consecutive banks, and each bank is divided into subarrays of
// rowclone.rows_per_subarray rows. A 4 KiB copy between frames at the same
// offset of rows in one subarray is a Fast Parallel Mode copy (two
// back-to-back activations: rowclone.fpm_latency); between banks, a
// Pipelined Serial Mode copy over the internal bus (rowclone.psm_latency);
// within a bank across subarrays, two PSM copies through a row of another
// bank. Zeroing is an FPM copy from a zero row each subarray keeps.
// Simplification: an FPM copy moves the whole row; the model, like the
// paper's evaluation of 4 KiB pages, does not charge for the rest of it.
#pragma once
#include "memory/copy_engine.h"

namespace mmusim {

class RowCloneEngine : public CopyEngine {
 public:
  RowCloneEngine(const Config& cfg, PhysMem& mem);
  const char* name() const override { return "rowclone"; }

  enum class Mode : uint8_t { Fpm, Psm, PsmIntraBank };
  // How a 4 KiB copy from frame src to frame dst is done.
  Mode mode(Ppn dst, Ppn src) const;

 protected:
  Cycles copy_frames(Ppn dst, Ppn src, uint64_t frames) override;
  Cycles zero_frames(Ppn dst, uint64_t frames) override;
  uint64_t near_count() const override { return rows_per_subarray_; }
  Ppn near_frame(Ppn src, uint64_t i) const override;

 private:
  struct Place {
    uint64_t bank, subarray, offset;  // offset: the frame's index within its row
  };
  Place place(Ppn p) const;

  PhysMem& mem_;
  uint64_t frames_per_row_, rows_per_subarray_, banks_;
  Cycles fpm_, psm_;
  double fpm_nj_, psm_nj_, zero_nj_;
};

}  // namespace mmusim
