// A set-associative, ASID-tagged TLB with superpage support.
//
// Behaviour (bit-exact with the C++ TLB, models/mmu/tlb.cc, whose top comment
// is the specification):
//   * Entries / Ways sets; slot (set, way). An entry of page level L (0: 4 KiB,
//     1: 2 MiB, 2: 1 GiB, 3: 512 GiB) lives in set (vpn >> 9L) mod Sets.
//   * Lookup probes, for every level L, the set L maps the VPN to; an entry
//     matches when its level is L, its VPN equals the looked-up one above bit 9L
//     and its ASID equals the looked-up one or it is global (G). The smallest
//     level wins, then the lowest way. A hit updates the replacement state.
//   * Fill: an entry of the same level, page and ASID (or both global) is
//     overwritten in place; else the lowest invalid way of the set is used; else
//     the policy's victim is evicted. Every fill updates lru/plru state; fifo
//     advances its pointer only when a fill evicts.
//   * Invalidations clear valid bits only and leave the replacement state alone.
//
// Interface: one operation per cycle. Each of the three request ports has a
// valid/ready handshake; when several are valid at once, invalidation wins over
// fill, and fill over lookup (ready is low for the loser). An accepted request
// takes effect at the clock edge that accepts it; its response (rsp_* for a
// lookup, fill_* for a fill, inv_done_o) is registered and valid in the cycle
// after: a lookup takes LookupLatency = 1 cycle.
//
// Style: lowRISC (clk_i, rst_ni asynchronous active low, *_i / *_o ports,
// _d / _q registers, always_ff holding only reset and register writes).
// Registers are written only when a request enables them, as lowRISC's
// prim_flop_en and prim_ram_1p are: the entry payloads and the valid bits are
// memories written by index, the replacement state is written for the one set
// a hit or a fill uses, the response registers by their request. A lookup
// writes only its response and its set's replacement state, in the hardware
// and in the verilated model, whose evaluation is the RTL TLB's cost in a
// co-simulation (rtl/README.md, "Speed of the TLB").
`include "mmu_assert.svh"

module tlb #(
  parameter int unsigned Entries   = 64,
  parameter int unsigned Ways      = 4,     // Ways = Entries: fully associative
  parameter int unsigned VpnWidth  = 36,    // Sv48; the simulator builds it with 52 (64-bit VAs)
  parameter int unsigned PpnWidth  = 44,
  parameter int unsigned AsidWidth = 16,
  parameter tlb_pkg::repl_e Policy = tlb_pkg::ReplPlru,
  localparam int unsigned Sets     = Entries / Ways,
  localparam int unsigned SetW     = (Sets > 1) ? $clog2(Sets) : 1,
  localparam int unsigned WayW     = (Ways > 1) ? $clog2(Ways) : 1,
  // The package's constants the ports use (yosys 0.23, which scripts/prove
  // reads this file with, has no "import").
  localparam int unsigned FlagsW   = tlb_pkg::FlagsW,
  localparam int unsigned LevelW   = tlb_pkg::LevelW
) (
  input  logic                 clk_i,
  // The assertions' "disable iff (!rst_ni)" is a synchronous use of the reset.
  /* verilator lint_off SYNCASYNCNET */
  input  logic                 rst_ni,
  /* verilator lint_on SYNCASYNCNET */

  // Lookup: VPN + ASID -> hit and the matching entry, one cycle later.
  input  logic                 lookup_valid_i,
  output logic                 lookup_ready_o,
  input  logic [VpnWidth-1:0]  lookup_vpn_i,
  input  logic [AsidWidth-1:0] lookup_asid_i,
  output logic                 rsp_valid_o,
  output logic                 rsp_hit_o,
  output logic [VpnWidth-1:0]  rsp_vpn_o,     // the entry's VPN as it was filled
  output logic [PpnWidth-1:0]  rsp_ppn_o,     // the page's first 4 KiB frame
  output logic [AsidWidth-1:0] rsp_asid_o,
  output logic [FlagsW-1:0]    rsp_flags_o,   // permissions: V R W X U G A D
  output logic [LevelW-1:0]    rsp_level_o,   // page size: 4 KiB << 9 * level
  output logic [SetW-1:0]      rsp_set_o,     // where the hit was
  output logic [WayW-1:0]      rsp_way_o,

  // Fill: install a translation.
  input  logic                 fill_valid_i,
  output logic                 fill_ready_o,
  input  logic [VpnWidth-1:0]  fill_vpn_i,
  input  logic [PpnWidth-1:0]  fill_ppn_i,
  input  logic [AsidWidth-1:0] fill_asid_i,
  input  logic [FlagsW-1:0]    fill_flags_i,
  input  logic [LevelW-1:0]    fill_level_i,
  output logic                 fill_done_o,
  output logic [SetW-1:0]      fill_set_o,    // the slot written
  output logic [WayW-1:0]      fill_way_o,
  output logic                 fill_update_o, // an entry of the same page and ASID was overwritten
  output logic                 fill_evict_o,  // a valid entry of another page was evicted

  // Invalidation (sfence.vma).
  input  logic                 inv_valid_i,
  output logic                 inv_ready_o,
  input  tlb_pkg::inv_e        inv_kind_i,
  input  logic [VpnWidth-1:0]  inv_vpn_i,
  input  logic [AsidWidth-1:0] inv_asid_i,
  output logic                 inv_done_o
);

  localparam int unsigned PageLevels = tlb_pkg::PageLevels;
  localparam int unsigned LevelBits  = tlb_pkg::LevelBits;
  localparam int unsigned FlagG      = tlb_pkg::FlagG;
  localparam bit          SetsPow2 = (Sets & (Sets - 1)) == 0;
  localparam int unsigned TreeK    = (Ways > 1) ? $clog2(Ways) : 0;  // plru tree depth
  localparam int unsigned PlruW    = (Ways > 1) ? Ways - 1 : 1;      // plru bits per set

  typedef struct packed {
    logic [VpnWidth-1:0]  vpn;
    logic [PpnWidth-1:0]  ppn;
    logic [AsidWidth-1:0] asid;
    logic [FlagsW-1:0]    flags;
    logic [LevelW-1:0]    level;
  } entry_t;

  // (The functions assign their name rather than "return": yosys 0.23 has no
  // "return".)

  // The set a page of `level` containing `vpn` lives in.
  function automatic logic [SetW-1:0] set_of(logic [VpnWidth-1:0] vpn, logic [LevelW-1:0] level);
    logic [VpnWidth-1:0] tag;
    tag = vpn >> (LevelBits * level);
    if (Sets == 1)     set_of = '0;
    else if (SetsPow2) set_of = tag[SetW-1:0];
    else               set_of = SetW'(tag % VpnWidth'(Sets));
  endfunction

  // Whether `a` and `b` lie in the same page of `level`.
  function automatic logic same_page(logic [VpnWidth-1:0] a, logic [VpnWidth-1:0] b,
                                     logic [LevelW-1:0] level);
    logic [VpnWidth-1:0] mask;
    mask = {VpnWidth{1'b1}} << (LevelBits * level);
    same_page = ((a ^ b) & mask) == '0;
  endfunction

  // The lowest set bit of `v` (0 if none).
  function automatic logic [WayW-1:0] lowest_way(logic [Ways-1:0] v);
    lowest_way = '0;
    for (int w = Ways - 1; w >= 0; w--) begin
      if (v[w]) lowest_way = WayW'(w);
    end
  endfunction

  ///////////
  // State //
  ///////////

  // Valid bits, and the entry payloads as one memory per field (written by
  // fills, read by index: a lookup reads the Ways slots of one set per level).
  logic [Ways-1:0]      valid_q [Sets] /* verilator public_flat_rd */;
  logic [VpnWidth-1:0]  vpn_q   [Sets][Ways] /* verilator public_flat_rd */;
  logic [PpnWidth-1:0]  ppn_q   [Sets][Ways] /* verilator public_flat_rd */;
  logic [AsidWidth-1:0] asid_q  [Sets][Ways] /* verilator public_flat_rd */;
  // The G bit takes part in matching and is kept apart from the other flags
  // (perm_q: D A U X W R V, the flags without G).
  logic                 global_q [Sets][Ways] /* verilator public_flat_rd */;
  logic [FlagsW-2:0]    perm_q   [Sets][Ways] /* verilator public_flat_rd */;
  logic [LevelW-1:0]    level_q [Sets][Ways] /* verilator public_flat_rd */;
  // The page levels a valid entry may have: a fill of level L sets bit L, an
  // invalidation of everything clears them all. A lookup probes only these
  // levels (no entry of another level can match): without superpages, the
  // Ways slots of one set instead of one set per level.
  logic [PageLevels-1:0] level_seen_q;

  ////////////////
  // Handshakes //
  ////////////////

  logic lookup_go, fill_go, inv_go;
  assign inv_ready_o    = 1'b1;
  assign fill_ready_o   = ~inv_valid_i;
  assign lookup_ready_o = ~inv_valid_i & ~fill_valid_i;
  assign inv_go         = inv_valid_i;
  assign fill_go        = fill_valid_i & fill_ready_o;
  assign lookup_go      = lookup_valid_i & lookup_ready_o;

  ////////////
  // Lookup //
  ////////////

  logic [SetW-1:0]   lk_set   [PageLevels];
  logic [Ways-1:0]   lk_match [PageLevels];
  logic              lk_hit;
  logic [LevelW-1:0] lk_level;
  logic [WayW-1:0]   lk_way;
  logic [SetW-1:0]   lk_hit_set;

  // (The compares are only evaluated for a request, and only at the levels an
  // entry may have: cheaper to simulate, and the same answers.)
  always_comb begin
    for (int unsigned l = 0; l < PageLevels; l++) begin
      lk_set[l]   = set_of(lookup_vpn_i, LevelW'(l));
      lk_match[l] = '0;
      if (lookup_valid_i && level_seen_q[l]) begin
        for (int unsigned w = 0; w < Ways; w++) begin
          lk_match[l][w] = valid_q[lk_set[l]][w] &&
                           level_q[lk_set[l]][w] == LevelW'(l) &&
                           same_page(vpn_q[lk_set[l]][w], lookup_vpn_i, LevelW'(l)) &&
                           (asid_q[lk_set[l]][w] == lookup_asid_i || global_q[lk_set[l]][w]);
        end
      end
    end
  end

  // The smallest page level wins, then the lowest way.
  always_comb begin
    lk_hit   = 1'b0;
    lk_level = '0;
    lk_way   = '0;
    for (int l = PageLevels - 1; l >= 0; l--) begin
      if (|lk_match[l]) begin
        lk_hit   = 1'b1;
        lk_level = LevelW'(l);
        lk_way   = lowest_way(lk_match[l]);
      end
    end
    lk_hit_set = lk_set[lk_level];
  end

  //////////
  // Fill //
  //////////

  logic [SetW-1:0] fill_set;
  logic [Ways-1:0] fill_match, fill_free;
  logic            fill_update, fill_evict;
  logic [WayW-1:0] fill_way, victim_way;

  assign fill_set = set_of(fill_vpn_i, fill_level_i);

  always_comb begin
    fill_match = '0;
    if (fill_valid_i) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        fill_match[w] = valid_q[fill_set][w] &&
                        level_q[fill_set][w] == fill_level_i &&
                        same_page(vpn_q[fill_set][w], fill_vpn_i, fill_level_i) &&
                        (asid_q[fill_set][w] == fill_asid_i ||
                         (global_q[fill_set][w] && fill_flags_i[FlagG]));
      end
    end
    fill_free = ~valid_q[fill_set];
  end

  // 1. same page and ASID: in place; 2. the lowest invalid way; 3. the victim.
  always_comb begin
    fill_update = |fill_match;
    fill_evict  = ~fill_update & ~(|fill_free);
    if (fill_update)     fill_way = lowest_way(fill_match);
    else if (|fill_free) fill_way = lowest_way(fill_free);
    else                 fill_way = victim_way;
  end

  //////////////////
  // Invalidation //
  //////////////////

  // Every slot is compared: an entry of level L mapping the VPN can only be in
  // the set L maps the VPN to, so this is the C++ TLB's per-level probe.
  logic [Ways-1:0] inv_hit [Sets];

  always_comb begin
    for (int unsigned s = 0; s < Sets; s++) inv_hit[s] = '0;
    if (inv_valid_i) begin
      for (int unsigned s = 0; s < Sets; s++) begin
        for (int unsigned w = 0; w < Ways; w++) begin
          case (inv_kind_i)  // every kind listed: no "unique" check needed
            tlb_pkg::InvAll:     inv_hit[s][w] = 1'b1;
            tlb_pkg::InvAsid:    inv_hit[s][w] = asid_q[s][w] == inv_asid_i && !global_q[s][w];
            tlb_pkg::InvVpn:     inv_hit[s][w] = same_page(vpn_q[s][w], inv_vpn_i, level_q[s][w]);
            tlb_pkg::InvVpnAsid: inv_hit[s][w] = same_page(vpn_q[s][w], inv_vpn_i, level_q[s][w]) &&
                                                 (asid_q[s][w] == inv_asid_i || global_q[s][w]);
            default:             inv_hit[s][w] = 1'b0;
          endcase
        end
      end
    end
  end

  /////////////////
  // Replacement //
  /////////////////

  // The way a hit or a fill uses this cycle.
  logic            touch;
  logic [SetW-1:0] touch_set;
  logic [WayW-1:0] touch_way;
  assign touch     = fill_go | (lookup_go & lk_hit);
  assign touch_set = fill_go ? fill_set : lk_hit_set;
  assign touch_way = fill_go ? fill_way : lk_way;

  if (Policy == tlb_pkg::ReplLru) begin : g_lru
    // Exact LRU as a rank per way: 0 = most recently used, Ways-1 = the victim.
    // The ranks of a set are a permutation; a use moves the way to rank 0 and
    // ages the ways that were more recent than it.
    logic [WayW-1:0] rank_q [Sets][Ways];
    logic [WayW-1:0] rank_d [Ways];  // the touched set's next ranks

    always_comb begin
      victim_way = '0;
      for (int unsigned w = 0; w < Ways; w++) begin
        if (rank_q[fill_set][w] == WayW'(Ways - 1)) victim_way = WayW'(w);
      end
    end

    always_comb begin
      for (int unsigned w = 0; w < Ways; w++) begin
        rank_d[w] = rank_q[touch_set][w];
        if (WayW'(w) == touch_way) begin
          rank_d[w] = '0;
        end else if (rank_q[touch_set][w] < rank_q[touch_set][touch_way]) begin
          rank_d[w] = rank_q[touch_set][w] + 1'b1;
        end
      end
    end

    // At reset way w has rank w (no way has been used; only invalid ways are
    // chosen until the set is full, and by then every way has been used).
    // (Arrays are copied element by element: yosys 0.23 copies no whole array.)
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        for (int unsigned s = 0; s < Sets; s++) begin
          for (int unsigned w = 0; w < Ways; w++) rank_q[s][w] <= WayW'(w);
        end
      end else if (touch) begin
        for (int unsigned w = 0; w < Ways; w++) rank_q[touch_set][w] <= rank_d[w];
      end
    end

`ifndef SYNTHESIS
    // The ranks of the set just used stay a permutation.
    logic [Ways-1:0] rank_seen;
    always_comb begin
      rank_seen = '0;
      for (int unsigned w = 0; w < Ways; w++) rank_seen[rank_q[touch_set][w]] = 1'b1;
    end
    `MMU_ASSERT(LruRanksPermutation, &rank_seen,
                ("tlb: lru ranks of set %0d are not a permutation", touch_set))
`endif

  end else if (Policy == tlb_pkg::ReplPlru) begin : g_plru
    // Tree pseudo-LRU: bit b[i] of node i (heap order, root 0, children 2i+1
    // and 2i+2) is 0 when the pseudo-LRU side is the left subtree. Node i at
    // depth d is (2^d - 1) + j, j being the top d bits of the ways below it.
    logic [PlruW-1:0] plru_q [Sets];
    logic [PlruW-1:0] plru_d;  // the touched set's next tree bits

    always_comb begin
      victim_way = '0;
      for (int unsigned d = 0; d < TreeK; d++) begin
        for (int unsigned j = 0; j < (1 << d); j++) begin
          if ((victim_way >> (TreeK - d)) == WayW'(j)) begin
            victim_way[TreeK-1-d] = plru_q[fill_set][(1 << d) - 1 + j];
          end
        end
      end
    end

    always_comb begin
      plru_d = plru_q[touch_set];
      for (int unsigned d = 0; d < TreeK; d++) begin
        for (int unsigned j = 0; j < (1 << d); j++) begin
          if ((touch_way >> (TreeK - d)) == WayW'(j)) begin
            plru_d[(1 << d) - 1 + j] = ~touch_way[TreeK-1-d];  // point away
          end
        end
      end
    end

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        for (int unsigned s = 0; s < Sets; s++) plru_q[s] <= '0;
      end else if (touch) begin
        plru_q[touch_set] <= plru_d;
      end
    end

  end else begin : g_fifo
    // One pointer per set, advanced by a fill that evicts.
    logic [WayW-1:0] fifo_q [Sets];
    logic [WayW-1:0] fifo_d;  // the filled set's next pointer

    assign victim_way = fifo_q[fill_set];

    always_comb begin
      fifo_d = (fill_way == WayW'(Ways - 1)) ? '0 : fill_way + 1'b1;
    end

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        for (int unsigned s = 0; s < Sets; s++) fifo_q[s] <= '0;
      end else if (fill_go && fill_evict) begin
        fifo_q[fill_set] <= fifo_d;
      end
    end

    logic unused_touch;
    assign unused_touch = ^{touch, touch_set, touch_way};
  end

  ///////////////
  // Registers //
  ///////////////

  logic   rsp_valid_q, rsp_hit_q, fill_done_q, inv_done_q;
  entry_t rsp_entry_q;
  logic [SetW-1:0] rsp_set_q, fill_set_q;
  logic [WayW-1:0] rsp_way_q, fill_way_q;
  logic fill_update_q, fill_evict_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int unsigned s = 0; s < Sets; s++) valid_q[s] <= '0;
      level_seen_q <= '0;
      rsp_valid_q <= 1'b0;
      fill_done_q <= 1'b0;
      inv_done_q  <= 1'b0;
    end else begin
      // An invalidation clears the valid bits it hits; a fill sets one (a
      // lookup changes none: the registers are written only when enabled).
      if (inv_go) begin
        for (int unsigned s = 0; s < Sets; s++) valid_q[s] <= valid_q[s] & ~inv_hit[s];
        if (inv_kind_i == tlb_pkg::InvAll) level_seen_q <= '0;
      end
      if (fill_go) begin
        valid_q[fill_set][fill_way] <= 1'b1;
        level_seen_q[fill_level_i]  <= 1'b1;
      end
      rsp_valid_q <= lookup_go;
      fill_done_q <= fill_go;
      inv_done_q  <= inv_go;
    end
  end

  // Response payloads: no reset, qualified by their valid bits, written only
  // by their request. (The entry is read from the memories at the edge, a
  // concatenation in entry_t's field order: yosys 0.23 reads no "'{...}".)
  always_ff @(posedge clk_i) begin
    if (lookup_go) begin
      rsp_hit_q   <= lk_hit;
      rsp_entry_q <= {vpn_q[lk_hit_set][lk_way], ppn_q[lk_hit_set][lk_way],
                      asid_q[lk_hit_set][lk_way],
                      perm_q[lk_hit_set][lk_way][FlagsW-2:FlagG], global_q[lk_hit_set][lk_way],
                      perm_q[lk_hit_set][lk_way][FlagG-1:0],
                      level_q[lk_hit_set][lk_way]};
      rsp_set_q   <= lk_hit_set;
      rsp_way_q   <= lk_way;
    end
    if (fill_go) begin
      fill_set_q    <= fill_set;
      fill_way_q    <= fill_way;
      fill_update_q <= fill_update;
      fill_evict_q  <= fill_evict;
    end
  end

  // The payload memories.
  always_ff @(posedge clk_i) begin
    if (fill_go) begin
      vpn_q[fill_set][fill_way]   <= fill_vpn_i;
      ppn_q[fill_set][fill_way]   <= fill_ppn_i;
      asid_q[fill_set][fill_way]  <= fill_asid_i;
      global_q[fill_set][fill_way] <= fill_flags_i[FlagG];
      perm_q[fill_set][fill_way]   <= {fill_flags_i[FlagsW-1:FlagG+1], fill_flags_i[FlagG-1:0]};
      level_q[fill_set][fill_way] <= fill_level_i;
    end
  end

  assign rsp_valid_o   = rsp_valid_q;
  assign rsp_hit_o     = rsp_hit_q;
  assign rsp_vpn_o     = rsp_entry_q.vpn;
  assign rsp_ppn_o     = rsp_entry_q.ppn;
  assign rsp_asid_o    = rsp_entry_q.asid;
  assign rsp_flags_o   = rsp_entry_q.flags;
  assign rsp_level_o   = rsp_entry_q.level;
  assign rsp_set_o     = rsp_set_q;
  assign rsp_way_o     = rsp_way_q;
  assign fill_done_o   = fill_done_q;
  assign fill_set_o    = fill_set_q;
  assign fill_way_o    = fill_way_q;
  assign fill_update_o = fill_update_q;
  assign fill_evict_o  = fill_evict_q;
  assign inv_done_o    = inv_done_q;

  ////////////////
  // Assertions //
  ////////////////

`ifndef SYNTHESIS
  // (The properties are written once, in a form both Verilator and yosys 0.23
  // read: mmu_assert.svh. scripts/prove proves them; rtl/README.md, Formal.)

  // At most one way hits per page level. (This holds while software uses the G
  // bit consistently, as the RISC-V privileged spec requires: a page global in
  // one address space is global in all. Across levels the smallest page wins.)
  logic [PageLevels-1:0] lk_one_hit;
  always_comb begin
    for (int unsigned l = 0; l < PageLevels; l++) lk_one_hit[l] = $onehot0(lk_match[l]);
  end
  `MMU_ASSERT(LookupAtMostOneHit, !lookup_go || &lk_one_hit,
              ("tlb: lookup of vpn %h asid %h hits more than one way of a level",
               lookup_vpn_i, lookup_asid_i))

  // A fill of a page and ASID already present overwrites that one entry: the
  // set never holds the same page and ASID twice.
  `MMU_ASSERT(FillNoDuplicate, !fill_go || $onehot0(fill_match),
              ("tlb: fill of vpn %h asid %h matches ways %b", fill_vpn_i, fill_asid_i, fill_match))

  // Only a fill into a full set evicts.
  logic fill_set_full;
  assign fill_set_full = &valid_q[fill_set];
  `MMU_ASSERT(FillEvictsOnlyWhenFull, !(fill_go && fill_evict) || fill_set_full,
              ("tlb: eviction from set %0d with a free way", fill_set))

  // Requests held while not ready keep their payload.
  `MMU_ASSUME_NEXT(LookupHeld, lookup_valid_i && !lookup_ready_o,
                   lookup_valid_i && $stable(lookup_vpn_i) && $stable(lookup_asid_i),
                   ("tlb: lookup request changed while not ready"))
  `MMU_ASSUME_NEXT(FillHeld, fill_valid_i && !fill_ready_o,
                   fill_valid_i && $stable(fill_vpn_i) && $stable(fill_ppn_i) &&
                   $stable(fill_asid_i) && $stable(fill_flags_i) && $stable(fill_level_i),
                   ("tlb: fill request changed while not ready"))
`endif

`ifdef FORMAL
  // The environment of scripts/prove's bounded proofs.

  // They start from reset (the payload memories have none: only valid bits
  // make their contents matter).
  initial begin
    StartInReset: assume (!rst_ni);
  end

  // Software uses the G bit consistently: a fill never leaves two valid
  // entries of one page and level with different G bits (the entry it
  // overwrites in place, of the same ASID, aside). LookupAtMostOneHit and
  // FillNoDuplicate rest on this; simulation does not check it
  // (test_rtl_tlb.cc breaks it to see LookupAtMostOneHit fire).
  logic [Ways-1:0] fill_g_conflict;
  always_comb begin
    for (int unsigned w = 0; w < Ways; w++) begin
      fill_g_conflict[w] = valid_q[fill_set][w] &&
                           level_q[fill_set][w] == fill_level_i &&
                           same_page(vpn_q[fill_set][w], fill_vpn_i, fill_level_i) &&
                           global_q[fill_set][w] != fill_flags_i[FlagG] &&
                           asid_q[fill_set][w] != fill_asid_i;
    end
  end
  `MMU_ASSUME_FORMAL(FillGlobalConsistent, !fill_go || fill_g_conflict == '0)

  // Skipping the levels level_seen_q does not mark loses no hit: every valid
  // entry's level is marked. (Proved, not checked in simulation, where it
  // would read every slot at every evaluation; a lost hit would also show as
  // a lockstep divergence.)
  logic valid_levels_seen;
  always_comb begin
    valid_levels_seen = 1'b1;
    for (int unsigned s = 0; s < Sets; s++) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        if (valid_q[s][w] && !level_seen_q[level_q[s][w]]) valid_levels_seen = 1'b0;
      end
    end
  end
  `MMU_ASSERT(ValidLevelsSeen, valid_levels_seen,
              ("tlb: a valid entry's page level is not in level_seen_q"))

  // What the depth must reach for the proofs to mean something (scripts/prove
  // --cover reports the step each is first reached at).
  logic inv_any_hit;
  always_comb begin
    inv_any_hit = 1'b0;
    for (int unsigned s = 0; s < Sets; s++) inv_any_hit = inv_any_hit | (|(valid_q[s] & inv_hit[s]));
  end
  always @(posedge clk_i) begin
    if (rst_ni) begin
      CoverEvict:         cover (fill_go && fill_evict);
      CoverUpdateInPlace: cover (fill_go && fill_update);
      CoverSuperpageHit:  cover (lookup_go && lk_hit && lk_level != '0);
      CoverInvalidate:    cover (inv_go && inv_kind_i == tlb_pkg::InvVpnAsid && inv_any_hit);
    end
  end
`endif

endmodule
