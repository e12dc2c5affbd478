// Gate: authenticates every call and applies the authorisation table
// (policy.h) before a handler runs, and hands the handler the caller.
//
// The server installs Gate's interceptor (NewInterceptorFactory). For each
// call it reads the credential — `authorization: Bearer <token>` metadata,
// else a client certificate registered for a principal (mTLS) — checks the
// method's rule, and leaves its verdict in the call's metadata under a key
// chosen at random per process, which no client can know or forge. Handlers
// call Admit(context) first: it returns the caller, or the status to answer
// with (UNAUTHENTICATED, PERMISSION_DENIED). A server without the
// interceptor therefore refuses every call. The tenant of a call is the
// principal's trust; nothing the client sends names it — but for the
// server's own in-process bus ingestion (ROLE_INTERNAL), whose trust is the
// bus subject's, sent as metadata "throughline-tenant".

#ifndef THROUGHLINE_SERVICES_AUTH_GATE_H_
#define THROUGHLINE_SERVICES_AUTH_GATE_H_

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"
#include "services/auth/auth_store.h"
#include "throughline/auth/v1/auth.pb.h"

namespace throughline::services::auth {

// The metadata key by which the in-process bus ingestion names the trust.
inline constexpr char kInternalTenantKey[] = "throughline-tenant";

// Who is calling, once admitted.
struct Caller {
  v1::Principal principal;
  std::string token_id;
  // "/package.Service/Method".
  std::string method;

  const std::string& trust() const { return principal.trust(); }
  v1::Role role() const { return principal.role(); }
};

class Gate {
 public:
  // `store` must outlive the gate and every server using its interceptors.
  explicit Gate(AuthStore* store) : store_(store) {}

  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory() const;

  // The verdict for a call of `method` with `metadata` and the
  // connection's `auth_context` (may be null).
  storage::Verdict Decide(
      absl::string_view method,
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
      const grpc::AuthContext* auth_context) const;

  // The metadata entry (key, value) by which the verdict for `method`
  // reaches Admit. The interceptor adds it to every call; code that calls a
  // handler directly, without a server (the fuzzers), adds it itself.
  std::pair<std::string, std::string> VerdictEntry(
      absl::string_view method,
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
      const grpc::AuthContext* auth_context) const;

  AuthStore* store() const { return store_; }

 private:
  AuthStore* const store_;
};

// The caller of the call `context` serves, or UNAUTHENTICATED /
// PERMISSION_DENIED (as decided by the gate, or UNAUTHENTICATED when no gate
// saw the call).
absl::StatusOr<Caller> Admit(const grpc::ServerContextBase& context);

// The PERMISSION_DENIED for a request outside the caller's scope. It names
// the field but never says whether what it names exists.
absl::Status OutOfScope(absl::string_view field);

// True when a school leader `caller` leads `school_id`; true for roles that
// see every school of their trust (admin, trust leader, auditor).
bool SeesSchool(const Caller& caller, absl::string_view school_id);

}  // namespace throughline::services::auth

#endif  // THROUGHLINE_SERVICES_AUTH_GATE_H_
