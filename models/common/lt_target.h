// A loosely-timed TLM-2.0 target that is its own forward interface: its
// target sockets bind to the module itself, so a b_transport through the
// socket is one virtual call (tlm_utils::simple_target_socket adds a callback
// object and a member-function-pointer call per hop, which was a tenth of
// the instructions of an access that hits in the TLB).
#pragma once
#include <systemc>
#include <tlm>

namespace mmusim {

class LooselyTimedTarget : public tlm::tlm_fw_transport_if<> {
 public:
  // Only the blocking interface is modelled: an initiator that uses the
  // non-blocking one is a wiring error.
  tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase&, sc_core::sc_time&) override {
    SC_REPORT_ERROR("/mmusim/tlm", "nb_transport_fw: this target is loosely timed (b_transport only)");
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return tlm::TLM_COMPLETED;
  }
  // No direct memory interface: every access is timed and counted.
  bool get_direct_mem_ptr(tlm::tlm_generic_payload&, tlm::tlm_dmi& dmi) override {
    dmi.allow_none();
    return false;
  }
};

}  // namespace mmusim
