// The tenant of a call: the trust of the caller's credential, as admitted by
// the server's gate (services/auth/gate.h). No header chosen by the client
// names it.

#ifndef THROUGHLINE_SERVICES_TENANT_H_
#define THROUGHLINE_SERVICES_TENANT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace throughline::services {

// Decides whether this server serves a tenant (in a cluster, each trust is
// served by one node; docs/operations.md).
class TenantGate {
 public:
  virtual ~TenantGate() = default;
  // OK when this server serves `tenant` (already validated). Otherwise the
  // refusal to return: NotOwnerError when another node serves it,
  // Unavailable when that cannot be decided right now.
  virtual absl::Status Admit(const std::string& tenant) const = 0;
};

// The trust of the admitted caller; UNAUTHENTICATED or PERMISSION_DENIED as
// the gate decided (also PERMISSION_DENIED for a principal without a trust,
// which the authorisation table never lets this far). Then, when `gate` is
// set, the gate's refusal if this server does not serve the trust.
absl::StatusOr<std::string> TenantOf(const grpc::ServerContextBase& context,
                                     const TenantGate* gate = nullptr);

// Where a trust is served, when it is not here.
struct TenantOwner {
  std::string tenant;
  std::string node;     // The owner's node id.
  std::string address;  // Its advertised gRPC address ("" if unknown).
};
// FailedPrecondition "tenant: trust T is served by node N at ADDRESS ...",
// carrying `owner` so that the gRPC status gets a google.rpc.ErrorInfo with
// reason kNotOwnerReason (see grpc_status.h).
absl::Status NotOwnerError(const TenantOwner& owner);
// The owner attached by NotOwnerError, if any.
std::optional<TenantOwner> ErrorOwner(const absl::Status& status);

inline constexpr char kNotOwnerReason[] = "TRUST_ON_OTHER_NODE";
inline constexpr char kErrorDomain[] = "throughline";

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_TENANT_H_
