// Types and constants of the RTL TLB (tlb.sv).
//
// The replacement policies and invalidation kinds are those of the C++ TLB
// (models/mmu/tlb.cc); the comment at the top of that file is the bit-exact
// specification both implementations follow.
package tlb_pkg;

  // Replacement policy of a set once all its ways are valid.
  typedef enum logic [1:0] {
    ReplLru  = 2'd0,  // exact least recently used (hits and fills count as uses)
    ReplPlru = 2'd1,  // tree pseudo-LRU, ways = 2^k, ways-1 bits per set
    ReplFifo = 2'd2   // one round-robin pointer per set, advanced by evictions only
  } repl_e;

  // Invalidation kinds: the flavours of RISC-V sfence.vma.
  typedef enum logic [1:0] {
    InvAll     = 2'd0,  // every entry
    InvAsid    = 2'd1,  // non-global entries of one ASID (global entries survive)
    InvVpn     = 2'd2,  // entries mapping one VPN, in every ASID
    InvVpnAsid = 2'd3   // entries mapping one VPN in one ASID, and global entries mapping it
  } inv_e;

  // Page levels: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB.
  localparam int unsigned PageLevels = 4;
  localparam int unsigned LevelW     = 2;
  // VPN bits translated by one page-table level (512 PTEs per table).
  localparam int unsigned LevelBits  = 9;
  // The leaf PTE's low 8 bits, kept in each entry: V R W X U G A D.
  localparam int unsigned FlagsW     = 8;
  localparam int unsigned FlagG      = 5;  // the global bit within the flags

endpackage
