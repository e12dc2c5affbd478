// How a call names its tenant. Until credentials carry the tenant, a client
// names it in the request metadata key below; the value is validated by
// eventstore::ValidateTenant.

#ifndef THROUGHLINE_SERVICES_TENANT_H_
#define THROUGHLINE_SERVICES_TENANT_H_

#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace throughline::services {

inline constexpr char kTenantMetadataKey[] = "throughline-tenant";

// The validated tenant of a call: InvalidArgument naming "tenant" when the
// metadata key is missing, repeated or malformed.
absl::StatusOr<std::string> TenantOf(const grpc::ServerContextBase& context);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_TENANT_H_
