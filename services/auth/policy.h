// The authorisation table: for every RPC the server serves, who may call it.
// ONE table, keyed by the full method name; a method without a rule is
// refused to everyone (deny by default), and tests/auth_test.cc fails when
// a method of any service in the descriptor pool has no rule. A new RPC
// gets its line in policy.cc. The role matrix in docs/security.md is this
// table in prose.
//
// The table decides by role (and, for platform writers, silo) only. What a
// role may see within its trust — a school leader's schools, a staff
// member's own record — is checked by the handler (services/auth/gate.h
// ScopeError), because it depends on the request.

#ifndef THROUGHLINE_SERVICES_AUTH_POLICY_H_
#define THROUGHLINE_SERVICES_AUTH_POLICY_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "throughline/auth/v1/auth.pb.h"

namespace throughline::services::auth {

namespace v1 = ::throughline::auth::v1;

struct Rule {
  // Served by gRPC itself and callable without a credential (health
  // checks, reflection): they hold no trust's data.
  bool is_public = false;
  // Bit (1 << role) for each role that may call it.
  uint32_t roles = 0;
  // Platform writers may call it when their silos include this one.
  v1::Silo silo = v1::SILO_UNSPECIFIED;
};

// Every rule, keyed by "/package.Service/Method".
const absl::flat_hash_map<std::string, Rule>& Rules();

// OK when `principal` may call `method`; PERMISSION_DENIED otherwise (also
// for a method without a rule).
absl::Status Permit(const v1::Principal& principal, absl::string_view method);

// True for a method needing no credential.
bool IsPublic(absl::string_view method);

}  // namespace throughline::services::auth

#endif  // THROUGHLINE_SERVICES_AUTH_POLICY_H_
