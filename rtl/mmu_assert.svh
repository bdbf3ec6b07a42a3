// Assertion macros of the RTL (tlb.sv, and any module that includes this):
// one text per property, read by two tools that accept different SVA.
//
//   In the simulator's build (Verilator --assert): concurrent assertions with
//   "disable iff (!rst_ni)" and an "else $error" naming the failure, which
//   the adapters turn into a run that stops with exit 1.
//   yosys 0.23 (read_verilog -formal, scripts/prove): no "@(...)" inside a
//   property, no "|->" / "|=>", no action blocks; only immediate assert /
//   assume in a clocked always block (with $past and $stable). Each macro
//   expands to that form, checked at the same rising clk_i edges out of reset.
//
// The macros expect clk_i and rst_ni (active low) in the including module.
//
//   `MMU_ASSERT(Name, Prop, Msg): the boolean Prop holds at every rising edge
//       out of reset ("a |-> b" with a boolean a is written "!(a) || (b)").
//       Msg is $error's parenthesized argument list: ("fmt %0d", x).
//   `MMU_ASSUME_NEXT(Name, Ante, Cons, Msg): Ante at one edge implies Cons at
//       the next ("Ante |=> Cons"). A rule for the module's environment:
//       checked in simulation (the adapter must follow it), assumed in formal
//       proofs (the solver drives the inputs and must follow it too).
//   `MMU_ASSUME_FORMAL(Name, Prop): a rule for the environment that only the
//       formal proofs need (not checked in simulation, where directed tests
//       break it on purpose to see an assertion fire).

`ifndef MMU_ASSERT_SVH
`define MMU_ASSERT_SVH

`ifdef YOSYS

`define MMU_ASSERT(Name, Prop, Msg) \
  always @(posedge clk_i) begin if (rst_ni) begin Name: assert (Prop); end end
`define MMU_ASSUME_NEXT(Name, Ante, Cons, Msg) \
  always @(posedge clk_i) begin \
    if (rst_ni && $past(rst_ni) && $past(Ante)) begin Name: assume (Cons); end \
  end
`define MMU_ASSUME_FORMAL(Name, Prop) \
  always @(posedge clk_i) begin if (rst_ni) begin Name: assume (Prop); end end

`else

`define MMU_ASSERT(Name, Prop, Msg) \
  Name: assert property (@(posedge clk_i) disable iff (!rst_ni) Prop) else $error Msg;
`define MMU_ASSUME_NEXT(Name, Ante, Cons, Msg) \
  Name: assert property (@(posedge clk_i) disable iff (!rst_ni) Ante |=> Cons) else $error Msg;
`define MMU_ASSUME_FORMAL(Name, Prop)

`endif

`endif  // MMU_ASSERT_SVH
