// A RISC-V Sv39/Sv48 page-table walker with a page-walk cache (PWC) of
// non-leaf PTEs and hardware A/D update, for user- and supervisor-mode
// accesses (the request carries the privilege and mstatus.SUM and MXR).
//
// Behaviour (bit-exact with the C++ walker, models/mmu/page_table_walker.cc,
// whose top comment is the specification):
//   * A walk starts at the root (level Levels-1) or, with PwcEntries > 0, at
//     the PWC entry of the lowest level that hits (probes of levels 0 ..
//     Levels-2; one hit or one miss counted per walk).
//   * One PTE read per level. V = 0: not_valid. W without R: malformed. A
//     pointer (R = W = X = 0) at level 0, or with U, A or D set (reserved in
//     a non-leaf PTE): malformed; else descend, inserting
//     the pointer into the PWC (refresh in place, else the first invalid
//     entry, else the least recently used: a hit and an insert are uses), and
//     with nonleaf_wp_i RSW bit 8 write-protects the rest of the walk.
//   * A leaf: a superpage whose PPN has any of its low 9*level bits set is
//     malformed; R/W/X/U forbidding the access, or a store below a
//     write-protecting pointer, is a permission fault (nothing written).
//     U-mode needs U = 1; S-mode on a U = 1 page faults on a fetch always and
//     on a load or store unless SUM; S-mode on a U = 0 page is allowed. A
//     load needs R, or X with MXR; a store R and W; a fetch X;
//     otherwise, if A = 0 or (store and D = 0), the PTE is written back with A
//     (and D for a store) set: one memory write.
//   * The response is the last PTE read (after the A/D update), its address
//     and level, the fault, whether a pointer write-protected the walk, the
//     number of reads, whether it wrote, and whether the PWC hit or missed.
//
// Exact LRU: the C++ PWC stamps each use with a counter and evicts the
// smallest stamp once every entry is valid. Here an age matrix does the same
// with no counter to overflow: older_q[i*PwcN + j] = entry i was used before entry j.
// A use of i clears row i and sets column i. Once every entry is valid, each
// has been used since the last flush, so the matrix orders them as the
// stamps do, and the victim is the one entry older than all others.
//
// Interface: a request is accepted (req_valid_i && req_ready_o) only when
// idle. The memory port carries one request at a time: mem_req_valid_o until
// mem_req_ready_i, then one mem_rsp_valid_i answers it (read data for a read,
// an acknowledgement for a write). rsp_valid_o is high for the one cycle the
// answer is valid. pwc_flush_i (a pulse between walks) invalidates the PWC.
//
// Faulty variants for the lockstep checker's own tests (never in a normal
// build): PTW_BUG_ALIGN checks superpage alignment at levels 2 and up only,
// PTW_BUG_LOST_DIRTY drops the write-back of a store that finds A set and
// D clear, PTW_BUG_STALE_PWC does not flush PWC entry 0, PTW_BUG_SUM does
// not latch SUM (an S-mode load or store on a U = 1 page always faults).
//
// Style: lowRISC (clk_i, rst_ni asynchronous active low, *_i / *_o ports,
// _d / _q registers, always_ff holding only reset and q <= d), kept to what
// yosys 0.23's read_verilog -sv -formal reads (scripts/prove): no package
// import, no unpacked-array copies (the PWC's fields are flat vectors), no
// type casts, and the assertions as immediate asserts at each rising edge.
module ptw #(
  parameter int unsigned Levels     = 3,    // 3: Sv39, 4: Sv48
  parameter int unsigned PwcEntries = 16,   // 0: no page-walk cache
  parameter int unsigned VpnWidth   = 52,   // the simulator's VPNs (64-bit VAs)
  parameter int unsigned PpnWidth   = 44,
  parameter int unsigned AsidWidth  = 16,
  localparam int unsigned PaWidth   = PpnWidth + 12,
  localparam int unsigned PwcN      = (PwcEntries > 0) ? PwcEntries : 1,
  localparam int unsigned PrefixW   = VpnWidth - 9,  // the VPN above one level's 9 bits
  localparam int unsigned ReadsW    = 3
) (
  input  logic                 clk_i,
  // The assertions' "disable iff (!rst_ni)" is a synchronous use of the reset.
  /* verilator lint_off SYNCASYNCNET */
  input  logic                 rst_ni,
  /* verilator lint_on SYNCASYNCNET */

  input  logic                 nonleaf_wp_i,   // mmu.nonleaf_wp

  // Walk request.
  input  logic                 req_valid_i,
  output logic                 req_ready_o,
  input  logic [VpnWidth-1:0]  req_vpn_i,
  input  logic [AsidWidth-1:0] req_asid_i,
  input  logic [PpnWidth-1:0]  req_root_i,     // frame of the root table (satp.PPN)
  input  logic [1:0]           req_access_i,   // AccLoad, AccStore, AccFetch
  input  logic                 req_priv_i,     // 0: U-mode, 1: S-mode (M-mode does not translate)
  input  logic                 req_sum_i,      // mstatus.SUM: S-mode may load/store U = 1 pages
  input  logic                 req_mxr_i,      // mstatus.MXR: a load may read an X-only page

  // Invalidate the page-walk cache (the kernel rewrote or freed a table).
  input  logic                 pwc_flush_i,

  // Memory: one PTE read or write at a time.
  output logic                 mem_req_valid_o,
  input  logic                 mem_req_ready_i,
  output logic [PaWidth-1:0]   mem_req_addr_o,
  output logic                 mem_req_we_o,
  output logic [63:0]          mem_req_wdata_o,
  input  logic                 mem_rsp_valid_i,
  input  logic [63:0]          mem_rsp_rdata_i,

  // Walk result.
  output logic                 rsp_valid_o,
  output logic [1:0]           rsp_fault_o,    // FaultNone ... FaultMalformed
  output logic [63:0]          rsp_pte_o,      // the last PTE read, after the A/D update
  output logic [PaWidth-1:0]   rsp_pte_addr_o,
  output logic [1:0]           rsp_level_o,
  output logic                 rsp_wp_o,       // a pointer on the way had WP (nonleaf_wp_i)
  output logic [ReadsW-1:0]    rsp_mem_reads_o,
  output logic                 rsp_mem_write_o,
  output logic                 rsp_pwc_hit_o,
  output logic                 rsp_pwc_miss_o,
  output logic [AsidWidth-1:0] rsp_asid_o
);
  // The access that caused the walk (mmusim::AccessType).
  localparam logic [1:0] AccLoad  = 2'd0;
  localparam logic [1:0] AccStore = 2'd1;
  localparam logic [1:0] AccFetch = 2'd2;

  // What the walk found (mmusim::WalkFault).
  localparam logic [1:0] FaultNone      = 2'd0;  // a leaf PTE allows the access
  localparam logic [1:0] FaultNotValid  = 2'd1;  // V = 0 at some level
  localparam logic [1:0] FaultPerm      = 2'd2;  // R/W/X/U with priv/SUM/MXR (or nonleaf_wp above) forbid the access
  localparam logic [1:0] FaultMalformed = 2'd3;  // W without R, a pointer at level 0 or with U/A/D, a misaligned superpage

  // PTE bits (privileged spec; Pte in models/common/pte.h).
  localparam int unsigned PteV  = 0;
  localparam int unsigned PteR  = 1;
  localparam int unsigned PteW  = 2;
  localparam int unsigned PteX  = 3;
  localparam int unsigned PteU  = 4;
  localparam int unsigned PteA  = 6;
  localparam int unsigned PteD  = 7;
  localparam int unsigned PteWp = 8;   // RSW bit 8: write-protects what lies below (mmu.nonleaf_wp)
  localparam int unsigned PpnLsb = 10;

  // VPN bits translated by one level (512 PTEs per table), page levels 0..3.
  localparam int unsigned LevelBits = 9;
  localparam int unsigned LevelW    = 2;

  localparam int unsigned IdxW = (PwcN > 1) ? $clog2(PwcN) : 1;

  typedef enum logic [2:0] {
    StIdle, StProbe, StRead, StReadWait, StWrite, StWriteWait, StDone
  } state_e;

  // The PWC key of the table at `level` that covers `vpn`.
  /* verilator lint_off UNUSEDSIGNAL */  // the shifted-out top bits
  function automatic logic [PrefixW-1:0] prefix_of(logic [VpnWidth-1:0] vpn, logic [LevelW-1:0] level);
    logic [VpnWidth-1:0] shifted;
    shifted = vpn >> (LevelBits * ({30'b0, level} + 1));
    prefix_of = shifted[PrefixW-1:0];
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  // ---------------------------------------------------------------------------
  // Registers
  state_e                 state_q, state_d;
  logic [VpnWidth-1:0]    vpn_q, vpn_d;
  logic [AsidWidth-1:0]   asid_q, asid_d;
  logic [PpnWidth-1:0]    root_q, root_d;
  logic [1:0]                access_q, access_d;
  logic                   priv_q, priv_d;      // 1: S-mode
  logic                   sum_q, sum_d;
  logic                   mxr_q, mxr_d;
  logic [PpnWidth-1:0]    table_q, table_d;
  logic [LevelW-1:0]      level_q, level_d;
  logic                   wp_q, wp_d;
  logic [63:0]            pte_q, pte_d;
  logic [PaWidth-1:0]     pte_addr_q, pte_addr_d;
  logic [1:0]                 fault_q, fault_d;
  logic [ReadsW-1:0]      reads_q, reads_d;
  logic                   wrote_q, wrote_d;
  logic                   pwc_hit_q, pwc_hit_d, pwc_miss_q, pwc_miss_d;

  logic [PwcN-1:0]        pwc_valid_q, pwc_valid_d;
  logic [PwcN*PpnWidth-1:0] pwc_root_q, pwc_root_d;
  logic [PwcN*PrefixW-1:0] pwc_prefix_q, pwc_prefix_d;
  logic [PwcN*LevelW-1:0] pwc_level_q, pwc_level_d;
  logic [PwcN*PpnWidth-1:0] pwc_next_q, pwc_next_d;
  logic [PwcN-1:0]        pwc_wp_q, pwc_wp_d;
  logic [PwcN*PwcN-1:0] older_q, older_d;  // [i*PwcN + j]: entry i used before entry j

  // ---------------------------------------------------------------------------
  // The PTE being answered, decoded
  logic [63:0]         pte;
  logic                pte_is_v, pte_is_r, pte_is_w, pte_is_x, pte_is_u, pte_is_a, pte_is_d, pte_is_leaf;
  logic [PpnWidth-1:0] pte_ppn;
  logic                misaligned, permits, priv_permits, is_store, needs_update, wp_next;
  logic [63:0]         pte_updated;

  assign pte      = mem_rsp_rdata_i;
  assign pte_is_v    = pte[PteV];
  assign pte_is_r    = pte[PteR];
  assign pte_is_w    = pte[PteW];
  assign pte_is_x    = pte[PteX];
  assign pte_is_u    = pte[PteU];
  assign pte_is_a    = pte[PteA];
  assign pte_is_d    = pte[PteD];
  assign pte_is_leaf = pte_is_r | pte_is_w | pte_is_x;
  assign pte_ppn  = pte[PpnLsb +: PpnWidth];
  assign is_store = access_q == AccStore;
  assign wp_next  = wp_q | (nonleaf_wp_i & pte[PteWp]);

  always_comb begin
    logic [PpnWidth-1:0] low;
    low = (PpnWidth'(1) << (LevelBits * 32'(level_q))) - PpnWidth'(1);
`ifdef PTW_BUG_ALIGN
    if (level_q < 2) low = '0;
`endif
    misaligned = (pte_ppn & low) != '0;
  end

  // U-mode needs U; S-mode never fetches from a U page and loads or stores
  // there only with SUM.
  assign priv_permits = priv_q ? (~pte_is_u | (sum_q & (access_q != AccFetch))) : pte_is_u;

  always_comb begin
    unique case (access_q)
      AccLoad:  permits = pte_is_r | (mxr_q & pte_is_x);
      AccStore: permits = pte_is_r & pte_is_w;
      AccFetch: permits = pte_is_x;
      default:  permits = 1'b0;
    endcase
    permits = permits & pte_is_v & priv_permits & ~(pte_is_w & ~pte_is_r);
  end

`ifdef PTW_BUG_LOST_DIRTY
  assign needs_update = ~pte_is_a;
`else
  assign needs_update = ~pte_is_a | (is_store & ~pte_is_d);
`endif
  assign pte_updated = pte | (64'(1) << PteA) | (is_store ? (64'(1) << PteD) : 64'(0));

  // ---------------------------------------------------------------------------
  // PWC probe: the lowest level that hits, the lowest entry within it (keys
  // are unique among valid entries: an insert of a present key refreshes it).
  logic                pwc_hit;
  logic [IdxW-1:0] pwc_hit_idx;
  logic [LevelW-1:0]   pwc_hit_level;

  always_comb begin
    pwc_hit       = 1'b0;
    pwc_hit_idx   = '0;
    pwc_hit_level = '0;
    if (PwcEntries > 0) begin
      for (int l = (Levels) - 2; l >= 0; l--) begin
        for (int i = (PwcN) - 1; i >= 0; i--) begin
          if (pwc_valid_q[i] && pwc_level_q[i*LevelW +: LevelW] == LevelW'(l) && pwc_root_q[i*PpnWidth +: PpnWidth] == root_q &&
              pwc_prefix_q[i*PrefixW +: PrefixW] == prefix_of(vpn_q, LevelW'(l))) begin
            pwc_hit       = 1'b1;
            pwc_hit_idx   = IdxW'(i);
            pwc_hit_level = LevelW'(l);
          end
        end
      end
    end
  end

  // PWC insert slot for the pointer being answered: the entry with its key,
  // else the first invalid one, else the least recently used.
  logic [LevelW-1:0]   ins_level;
  logic [PrefixW-1:0]  ins_prefix;
  logic [IdxW-1:0] ins_idx;

  assign ins_level  = level_q - LevelW'(1);
  assign ins_prefix = prefix_of(vpn_q, ins_level);

  // The least recently used entry: the one used before every other.
  logic [IdxW-1:0] lru_idx;
  always_comb begin
    logic oldest;
    lru_idx = '0;
    oldest  = 1'b0;
    for (int i = (PwcN) - 1; i >= 0; i--) begin
      oldest = 1'b1;
      for (int j = 0; j < (PwcN); j++) begin
        if (j != i && !older_q[i*PwcN + j]) oldest = 1'b0;
      end
      if (oldest) lru_idx = IdxW'(i);
    end
  end

  always_comb begin
    logic found;
    found   = 1'b0;
    ins_idx = '0;
    for (int i = (PwcN) - 1; i >= 0; i--) begin
      if (pwc_valid_q[i] && pwc_level_q[i*LevelW +: LevelW] == ins_level && pwc_prefix_q[i*PrefixW +: PrefixW] == ins_prefix &&
          pwc_root_q[i*PpnWidth +: PpnWidth] == root_q) begin
        found   = 1'b1;
        ins_idx = IdxW'(i);
      end
    end
    if (!found) begin
      for (int i = (PwcN) - 1; i >= 0; i--) begin
        if (!pwc_valid_q[i]) begin
          found   = 1'b1;
          ins_idx = IdxW'(i);
        end
      end
    end
    if (!found) ins_idx = lru_idx;
  end

  // ---------------------------------------------------------------------------
  // Next state
  logic pwc_use;                       // an entry is used this cycle (hit or insert)
  logic [IdxW-1:0] pwc_use_idx;
  logic pwc_insert;
  int unsigned pwc_use_at;
  assign pwc_use_at = {{(32-IdxW){1'b0}}, pwc_use_idx};

  always_comb begin
    state_d    = state_q;
    vpn_d      = vpn_q;
    asid_d     = asid_q;
    root_d     = root_q;
    access_d   = access_q;
    priv_d     = priv_q;
    sum_d      = sum_q;
    mxr_d      = mxr_q;
    table_d    = table_q;
    level_d    = level_q;
    wp_d       = wp_q;
    pte_d      = pte_q;
    pte_addr_d = pte_addr_q;
    fault_d    = fault_q;
    reads_d    = reads_q;
    wrote_d    = wrote_q;
    pwc_hit_d  = pwc_hit_q;
    pwc_miss_d = pwc_miss_q;
    pwc_use     = 1'b0;
    pwc_use_idx = '0;
    pwc_insert  = 1'b0;

    unique case (state_q)
      StIdle: begin
        if (req_valid_i) begin
          vpn_d      = req_vpn_i;
          asid_d     = req_asid_i;
          root_d     = req_root_i;
          access_d   = req_access_i;
          priv_d     = req_priv_i;
`ifdef PTW_BUG_SUM
          sum_d      = 1'b0 & req_sum_i;  // the input is wired, its value dropped
`else
          sum_d      = req_sum_i;
`endif
          mxr_d      = req_mxr_i;
          table_d    = req_root_i;
          level_d    = LevelW'(Levels - 1);
          wp_d       = 1'b0;
          fault_d    = FaultNone;
          reads_d    = '0;
          wrote_d    = 1'b0;
          pwc_hit_d  = 1'b0;
          pwc_miss_d = 1'b0;
          state_d    = (PwcEntries > 0) ? StProbe : StRead;
        end
      end
      StProbe: begin
        if (pwc_hit) begin
          table_d     = pwc_next_q[pwc_hit_idx*PpnWidth +: PpnWidth];
          level_d     = pwc_hit_level;
          wp_d        = pwc_wp_q[pwc_hit_idx];
          pwc_hit_d   = 1'b1;
          pwc_use     = 1'b1;
          pwc_use_idx = pwc_hit_idx;
        end else begin
          pwc_miss_d  = 1'b1;
        end
        state_d = StRead;
      end
      StRead: begin
        pte_addr_d = {table_q, 9'(vpn_q >> (LevelBits * 32'(level_q))), 3'b000};
        if (mem_req_ready_i) state_d = StReadWait;
      end
      StReadWait: begin
        if (mem_rsp_valid_i) begin
          reads_d = reads_q + ReadsW'(1);
          pte_d   = pte;
          state_d = StDone;
          if (!pte_is_v) begin
            fault_d = FaultNotValid;
          end else if (pte_is_w && !pte_is_r) begin
            fault_d = FaultMalformed;
          end else if (!pte_is_leaf) begin
            if (level_q == '0 || pte_is_u || pte_is_a || pte_is_d) begin
              fault_d = FaultMalformed;
            end else begin
              table_d = pte_ppn;
              level_d = level_q - LevelW'(1);
              wp_d    = wp_next;
              state_d = StRead;
              if (PwcEntries > 0) begin
                pwc_insert  = 1'b1;
                pwc_use     = 1'b1;
                pwc_use_idx = ins_idx;
              end
            end
          end else if (level_q != '0 && misaligned) begin
            fault_d = FaultMalformed;
          end else if (!permits || (wp_q && is_store)) begin
            fault_d = FaultPerm;
          end else if (needs_update) begin
            pte_d   = pte_updated;
            state_d = StWrite;
          end
        end
      end
      StWrite: begin
        if (mem_req_ready_i) state_d = StWriteWait;
      end
      StWriteWait: begin
        if (mem_rsp_valid_i) begin
          wrote_d = 1'b1;
          state_d = StDone;
        end
      end
      StDone: state_d = StIdle;
      default: state_d = StIdle;
    endcase
  end

  // PWC contents and the age matrix.
  always_comb begin
    pwc_valid_d  = pwc_valid_q;
    pwc_root_d   = pwc_root_q;
    pwc_prefix_d = pwc_prefix_q;
    pwc_level_d  = pwc_level_q;
    pwc_next_d   = pwc_next_q;
    pwc_wp_d     = pwc_wp_q;
    older_d      = older_q;
    if (pwc_insert) begin
      pwc_valid_d[ins_idx]  = 1'b1;
      pwc_root_d[ins_idx*PpnWidth +: PpnWidth]   = root_q;
      pwc_prefix_d[ins_idx*PrefixW +: PrefixW] = ins_prefix;
      pwc_level_d[ins_idx*LevelW +: LevelW]  = ins_level;
      pwc_next_d[ins_idx*PpnWidth +: PpnWidth]   = pte_ppn;
      pwc_wp_d[ins_idx]     = wp_next;
    end
    if (pwc_use) begin
      for (int j = 0; j < (PwcN); j++) begin
        if (j != pwc_use_at) begin
          older_d[pwc_use_at*PwcN + j] = 1'b0;
          older_d[j*PwcN + pwc_use_at] = 1'b1;
        end
      end
    end
    if (pwc_flush_i) begin
`ifdef PTW_BUG_STALE_PWC
      pwc_valid_d = pwc_valid_d & PwcN'(1);
`else
      pwc_valid_d = '0;
`endif
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q      <= StIdle;
      vpn_q        <= '0;
      asid_q       <= '0;
      root_q       <= '0;
      access_q     <= AccLoad;
      priv_q       <= 1'b0;
      sum_q        <= 1'b0;
      mxr_q        <= 1'b0;
      table_q      <= '0;
      level_q      <= '0;
      wp_q         <= 1'b0;
      pte_q        <= '0;
      pte_addr_q   <= '0;
      fault_q      <= FaultNone;
      reads_q      <= '0;
      wrote_q      <= 1'b0;
      pwc_hit_q    <= 1'b0;
      pwc_miss_q   <= 1'b0;
      pwc_valid_q  <= '0;
      pwc_wp_q     <= '0;
      pwc_root_q   <= '0;
      pwc_prefix_q <= '0;
      pwc_level_q  <= '0;
      pwc_next_q   <= '0;
      older_q      <= '0;
    end else begin
      state_q      <= state_d;
      vpn_q        <= vpn_d;
      asid_q       <= asid_d;
      root_q       <= root_d;
      access_q     <= access_d;
      priv_q       <= priv_d;
      sum_q        <= sum_d;
      mxr_q        <= mxr_d;
      table_q      <= table_d;
      level_q      <= level_d;
      wp_q         <= wp_d;
      pte_q        <= pte_d;
      pte_addr_q   <= pte_addr_d;
      fault_q      <= fault_d;
      reads_q      <= reads_d;
      wrote_q      <= wrote_d;
      pwc_hit_q    <= pwc_hit_d;
      pwc_miss_q   <= pwc_miss_d;
      pwc_valid_q  <= pwc_valid_d;
      pwc_wp_q     <= pwc_wp_d;
      pwc_root_q   <= pwc_root_d;
      pwc_prefix_q <= pwc_prefix_d;
      pwc_level_q  <= pwc_level_d;
      pwc_next_q   <= pwc_next_d;
      older_q      <= older_d;
    end
  end

  // ---------------------------------------------------------------------------
  // Outputs
  assign req_ready_o     = state_q == StIdle;
  assign mem_req_valid_o = (state_q == StRead) || (state_q == StWrite);
  assign mem_req_we_o    = state_q == StWrite;
  assign mem_req_addr_o  = (state_q == StRead) ? {table_q, 9'(vpn_q >> (LevelBits * 32'(level_q))), 3'b000}
                                               : pte_addr_q;
  assign mem_req_wdata_o = pte_q;

  assign rsp_valid_o     = state_q == StDone;
  assign rsp_fault_o     = fault_q;
  assign rsp_pte_o       = pte_q;
  assign rsp_pte_addr_o  = pte_addr_q;
  assign rsp_level_o     = level_q;
  assign rsp_wp_o        = wp_q;
  assign rsp_mem_reads_o = reads_q;
  assign rsp_mem_write_o = wrote_q;
  assign rsp_pwc_hit_o   = pwc_hit_q;
  assign rsp_pwc_miss_o  = pwc_miss_q;
  assign rsp_asid_o      = asid_q;

  // ---------------------------------------------------------------------------
  // Assertions (simulation: verilator --assert; formal: yosys read_verilog -sv -formal)
`ifndef SYNTHESIS
  // Immediate assertions at each rising edge, out of reset (Verilator's --assert
  // and yosys's read_verilog -formal both read this form).
  always @(posedge clk_i) begin
    if (rst_ni) begin
      // One outstanding memory request: no new request while one waits for its answer.
      if ((state_q == StReadWait || state_q == StWriteWait)) OneOutstandingRequest: assert (!mem_req_valid_o);
      // The level only decreases within a walk (from the first read to the answer).
      if ((state_q != StIdle && state_q != StProbe && state_d != StIdle)) LevelOnlyDecreases: assert (level_d <= level_q);
      // A walk ends within Levels reads: never a read beyond the last level.
      if ((state_q == StRead)) ReadWithinLevels: assert (reads_q < ReadsW'(Levels));
      if (rsp_valid_o) AnswerAfterOneToLevelsReads: assert ((reads_q >= ReadsW'(1) && reads_q <= ReadsW'(Levels)));
      // A PWC hit never returns a leaf: it yields a table above the leaf level
      // lowest at level 0 and the walk goes on to read memory.
      if ((state_q == StProbe && pwc_hit)) PwcHitNeverALeaf: assert ((pwc_hit_level <= LevelW'(Levels - 2) && state_d == StRead));
      // A U-mode walk answers with a leaf of U = 0 only as a fault, and an
      // S-mode fetch never succeeds on a U = 1 page (privileged spec, step 5).
      if ((rsp_valid_o && !priv_q && fault_q == FaultNone)) UserLeafHasU: assert (pte_q[PteU]);
      if ((rsp_valid_o && priv_q && access_q == AccFetch && fault_q == FaultNone))
        SupervisorNeverFetchesUser: assert (!pte_q[PteU]);
      // Only a permitted access writes, and only to set A (and D for a store).
      if ((mem_req_valid_o && mem_req_we_o)) WriteOnlyWhenPermitted: assert ((fault_q == FaultNone && pte_q[PteA] && (!is_store || pte_q[PteD])));
      // Exactly one of hit and miss when there is a PWC; neither without one.
      if (rsp_valid_o) PwcHitXorMiss: assert (((PwcEntries > 0) ? (pwc_hit_q != pwc_miss_q) : (!pwc_hit_q && !pwc_miss_q)));
      // The PWC is flushed between walks only.
      if (pwc_flush_i) FlushBetweenWalks: assert (state_q == StIdle);
    end
  end
`endif

endmodule
