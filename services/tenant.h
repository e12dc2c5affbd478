// The tenant of a call: the trust of the caller's credential, as admitted by
// the server's gate (services/auth/gate.h). No header chosen by the client
// names it.

#ifndef THROUGHLINE_SERVICES_TENANT_H_
#define THROUGHLINE_SERVICES_TENANT_H_

#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace throughline::services {

// The trust of the admitted caller; UNAUTHENTICATED or PERMISSION_DENIED as
// the gate decided (also PERMISSION_DENIED for a principal without a trust,
// which the authorisation table never lets this far).
absl::StatusOr<std::string> TenantOf(const grpc::ServerContextBase& context);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_TENANT_H_
