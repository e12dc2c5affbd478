#include "services/tenant.h"

#include "services/auth/gate.h"

namespace throughline::services {

absl::StatusOr<std::string> TenantOf(const grpc::ServerContextBase& context) {
  absl::StatusOr<auth::Caller> caller = auth::Admit(context);
  if (!caller.ok()) return caller.status();
  if (caller->trust().empty()) {
    return absl::PermissionDeniedError(
        "this credential may not read or write a trust's data");
  }
  return caller->trust();
}

}  // namespace throughline::services
