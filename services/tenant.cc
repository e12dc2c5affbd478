#include "services/tenant.h"

#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "eventstore/format.h"

namespace throughline::services {

absl::StatusOr<std::string> TenantOf(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  const auto [begin, end] = metadata.equal_range(kTenantMetadataKey);
  if (begin == end) {
    return eventstore::InvalidField(
        "tenant", absl::StrCat("the request metadata key \"",
                               kTenantMetadataKey, "\" is required"));
  }
  if (std::next(begin) != end) {
    return eventstore::InvalidField(
        "tenant", absl::StrCat("the request metadata key \"",
                               kTenantMetadataKey, "\" is given twice"));
  }
  std::string tenant(begin->second.data(), begin->second.size());
  if (absl::Status s = eventstore::ValidateTenant(tenant); !s.ok()) return s;
  return tenant;
}

}  // namespace throughline::services
