// How a call names its tenant. Until credentials carry the tenant, a client
// names it in the request metadata key below; the value is validated by
// eventstore::ValidateTenant.

#ifndef THROUGHLINE_SERVICES_TENANT_H_
#define THROUGHLINE_SERVICES_TENANT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace throughline::services {

inline constexpr char kTenantMetadataKey[] = "throughline-tenant";

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

// The validated tenant of a call: InvalidArgument naming "tenant" when the
// metadata key is missing, repeated or malformed; then, when `gate` is set,
// the gate's refusal if this server does not serve the tenant.
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
