// SPDX-License-Identifier: Apache-2.0
// oracle_factories.h — internal: one factory per oracle file (used by registry.cc only).
#pragma once

#include <memory>

#include "harness/oracles/oracle.h"

namespace ifz::harness::oracles {

std::unique_ptr<Oracle> make_lifetime_oracle();
std::unique_ptr<Oracle> make_deadlock_oracle();
std::unique_ptr<Oracle> make_fatal_oracle(const rt::Profile& profile);
std::unique_ptr<Oracle> make_gil_oracle();
std::unique_ptr<Oracle> make_pending_call_oracle(const rt::Profile& profile);
std::unique_ptr<Oracle> make_finalize_oracle();
std::unique_ptr<Oracle> make_fork_oracle();
std::unique_ptr<Oracle> make_interp_id_oracle();
std::unique_ptr<Oracle> make_pending_reentry_oracle();
std::unique_ptr<Oracle> make_forced_exit_oracle();
std::unique_ptr<Oracle> make_finalizing_gil_oracle();
std::unique_ptr<Oracle> make_atexit_order_oracle();
std::unique_ptr<Oracle> make_signal_oracle(const rt::Profile& profile);

/// Finding with kind/oracle/phase/message/detail filled.
Finding make_finding(const char* kind, const char* oracle, std::string phase, std::string message,
                     std::string detail);

}  // namespace ifz::harness::oracles
