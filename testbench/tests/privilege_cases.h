// Shared by the walker tests (C++ and RTL): the leaf permission check against
// the access's privilege, mstatus.SUM and MXR (privileged spec, "Virtual
// Address Translation Process" step 5), one row per rule, as a table of
// expected answers written out by hand.
#pragma once
#include <fmt/format.h>

#include <string>

#include "common/pte.h"
#include "mmu/page_table_walker.h"

namespace mmusim::test {

struct PrivilegeCase {
  uint64_t flags;  // the leaf's R/W/X/U (V is added)
  AccessContext ctx;
  AccessType access;
  bool allowed;
  // What a walk to this leaf answers: permitted, a permission fault, or (W
  // without R) a malformed PTE.
  WalkFault fault() const {
    if (allowed) return WalkFault::None;
    const bool w_without_r = (flags & Pte::W) && !(flags & Pte::R);
    return w_without_r ? WalkFault::Malformed : WalkFault::Permission;
  }
  std::string describe() const {
    return fmt::format("leaf {}{}{}{} {}-mode sum {} mxr {} {}", (flags & Pte::U) ? "U" : "-",
                       (flags & Pte::R) ? "R" : "-", (flags & Pte::W) ? "W" : "-", (flags & Pte::X) ? "X" : "-",
                       ctx.priv == Privilege::Supervisor ? 'S' : 'U', ctx.sum ? 1 : 0, ctx.mxr ? 1 : 0,
                       to_string(access));
  }
};

namespace privilege {
constexpr uint64_t R = Pte::R, W = Pte::W, X = Pte::X, U = Pte::U;
constexpr AccessType kLoad = AccessType::Load, kStore = AccessType::Store, kFetch = AccessType::Fetch;
constexpr AccessContext kUser{Privilege::User, false, false};
constexpr AccessContext kUserSum{Privilege::User, true, false};
constexpr AccessContext kUserMxr{Privilege::User, false, true};
constexpr AccessContext kSup{Privilege::Supervisor, false, false};
constexpr AccessContext kSupSum{Privilege::Supervisor, true, false};
constexpr AccessContext kSupMxr{Privilege::Supervisor, false, true};
constexpr AccessContext kSupSumMxr{Privilege::Supervisor, true, true};
}  // namespace privilege

inline constexpr PrivilegeCase kPrivilegeCases[] = {
    // U-mode needs U = 1, whatever SUM says.
    {privilege::R | privilege::U, privilege::kUser, privilege::kLoad, true},
    {privilege::R, privilege::kUser, privilege::kLoad, false},
    {privilege::R | privilege::W | privilege::U, privilege::kUser, privilege::kStore, true},
    {privilege::R | privilege::W, privilege::kUser, privilege::kStore, false},
    {privilege::X | privilege::U, privilege::kUser, privilege::kFetch, true},
    {privilege::X, privilege::kUser, privilege::kFetch, false},
    {privilege::R | privilege::W, privilege::kUserSum, privilege::kStore, false},
    {privilege::R | privilege::W | privilege::X | privilege::U, privilege::kUserSum, privilege::kFetch, true},
    // S-mode on a U = 0 page: allowed, by R/W/X as usual.
    {privilege::R, privilege::kSup, privilege::kLoad, true},
    {privilege::R | privilege::W, privilege::kSup, privilege::kStore, true},
    {privilege::X, privilege::kSup, privilege::kFetch, true},
    {privilege::R, privilege::kSup, privilege::kStore, false},
    {privilege::R, privilege::kSup, privilege::kFetch, false},
    {privilege::R | privilege::W | privilege::X, privilege::kSupSum, privilege::kFetch, true},
    // S-mode on a U = 1 page: loads and stores only with SUM, fetches never.
    {privilege::R | privilege::U, privilege::kSup, privilege::kLoad, false},
    {privilege::R | privilege::U, privilege::kSupSum, privilege::kLoad, true},
    {privilege::R | privilege::W | privilege::U, privilege::kSup, privilege::kStore, false},
    {privilege::R | privilege::W | privilege::U, privilege::kSupSum, privilege::kStore, true},
    {privilege::R | privilege::U, privilege::kSupSum, privilege::kStore, false},
    {privilege::X | privilege::U, privilege::kSup, privilege::kFetch, false},
    {privilege::X | privilege::U, privilege::kSupSum, privilege::kFetch, false},
    {privilege::R | privilege::W | privilege::X | privilege::U, privilege::kSupSumMxr, privilege::kFetch, false},
    // MXR: a load of an X-only page (R = 0, X = 1) reads, in either mode;
    // stores and fetches are unchanged, and SUM still rules U pages in S-mode.
    {privilege::X | privilege::U, privilege::kUser, privilege::kLoad, false},
    {privilege::X | privilege::U, privilege::kUserMxr, privilege::kLoad, true},
    {privilege::X | privilege::U, privilege::kUserMxr, privilege::kStore, false},
    {privilege::X | privilege::U, privilege::kUserMxr, privilege::kFetch, true},
    {privilege::X, privilege::kUserMxr, privilege::kLoad, false},
    {privilege::R | privilege::U, privilege::kUserMxr, privilege::kLoad, true},
    {privilege::X, privilege::kSup, privilege::kLoad, false},
    {privilege::X, privilege::kSupMxr, privilege::kLoad, true},
    {privilege::X | privilege::U, privilege::kSupMxr, privilege::kLoad, false},
    {privilege::X | privilege::U, privilege::kSupSumMxr, privilege::kLoad, true},
    // W without R stays reserved in every mode, MXR or not.
    {privilege::W | privilege::U, privilege::kUser, privilege::kStore, false},
    {privilege::W, privilege::kSupSum, privilege::kStore, false},
    {privilege::W | privilege::X | privilege::U, privilege::kUserMxr, privilege::kLoad, false},
    {privilege::W | privilege::X, privilege::kSupSumMxr, privilege::kLoad, false},
};

}  // namespace mmusim::test
