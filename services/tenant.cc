#include "services/tenant.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "services/auth/gate.h"

namespace throughline::services {

namespace {

constexpr char kOwnerPayload[] = "throughline/tenant-owner";

}  // namespace

absl::Status NotOwnerError(const TenantOwner& owner) {
  absl::Status status = eventstore::FieldError(
      absl::StatusCode::kFailedPrecondition, "tenant",
      absl::StrCat("trust ", owner.tenant, " is served by node ", owner.node,
                   owner.address.empty() ? std::string()
                                         : absl::StrCat(" at ", owner.address),
                   ", not by this node; send its calls there"));
  // Three length-prefixed parts: tenant, node, address.
  std::string payload;
  for (const std::string* part : {&owner.tenant, &owner.node, &owner.address}) {
    absl::StrAppend(&payload, part->size(), ":", *part);
  }
  status.SetPayload(kOwnerPayload, absl::Cord(payload));
  return status;
}

std::optional<TenantOwner> ErrorOwner(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kOwnerPayload);
  if (!payload.has_value()) return std::nullopt;
  std::string text(*payload);
  absl::string_view rest = text;
  std::string parts[3];
  for (std::string& part : parts) {
    const size_t colon = rest.find(':');
    size_t length = 0;
    if (colon == absl::string_view::npos ||
        !absl::SimpleAtoi(rest.substr(0, colon), &length) ||
        rest.size() < colon + 1 + length) {
      return std::nullopt;
    }
    part = std::string(rest.substr(colon + 1, length));
    rest.remove_prefix(colon + 1 + length);
  }
  return TenantOwner{parts[0], parts[1], parts[2]};
}

absl::StatusOr<std::string> TenantOf(const grpc::ServerContextBase& context,
                                     const TenantGate* gate) {
  absl::StatusOr<auth::Caller> caller = auth::Admit(context);
  if (!caller.ok()) return caller.status();
  if (caller->trust().empty()) {
    return absl::PermissionDeniedError(
        "this credential may not read or write a trust's data");
  }
  if (gate != nullptr) {
    if (absl::Status s = gate->Admit(caller->trust()); !s.ok()) return s;
  }
  return caller->trust();
}

}  // namespace throughline::services
