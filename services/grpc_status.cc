#include "services/grpc_status.h"

#include <optional>
#include <string>

#include "eventstore/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "throughline/eventstore/v1/errors.pb.h"

namespace throughline::services {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());

  google::rpc::Status rich;
  rich.set_code(static_cast<int>(code));
  rich.set_message(message);
  if (std::optional<std::string> field = eventstore::ErrorField(status)) {
    eventstore::v1::FieldViolation violation;
    violation.set_field(*field);
    const std::string prefix = *field + ": ";
    violation.set_description(message.rfind(prefix, 0) == 0
                                  ? message.substr(prefix.size())
                                  : message);
    rich.add_details()->PackFrom(violation);
  }
  if (std::optional<eventstore::RevisionConflict> conflict =
          eventstore::ErrorRevisionConflict(status)) {
    eventstore::v1::RevisionConflict detail;
    detail.set_stream(conflict->stream);
    detail.set_expected(conflict->expected);
    detail.set_stream_exists(conflict->stream_exists);
    detail.set_actual_revision(conflict->actual_revision);
    rich.add_details()->PackFrom(detail);
  }
  if (std::optional<TenantOwner> owner = ErrorOwner(status)) {
    google::rpc::ErrorInfo info;
    info.set_reason(kNotOwnerReason);
    info.set_domain(kErrorDomain);
    (*info.mutable_metadata())["trust"] = owner->tenant;
    (*info.mutable_metadata())["owner_node"] = owner->node;
    (*info.mutable_metadata())["owner_address"] = owner->address;
    rich.add_details()->PackFrom(info);
  }
  if (rich.details_size() == 0) return grpc::Status(code, message);
  return grpc::Status(code, message, rich.SerializeAsString());
}

std::optional<TenantOwner> OwnerFromGrpcStatus(const grpc::Status& status) {
  google::rpc::Status rich;
  if (status.ok() || !rich.ParseFromString(status.error_details())) {
    return std::nullopt;
  }
  for (const google::protobuf::Any& detail : rich.details()) {
    google::rpc::ErrorInfo info;
    if (!detail.UnpackTo(&info) || info.reason() != kNotOwnerReason) continue;
    const auto& metadata = info.metadata();
    auto get = [&](const char* key) {
      auto it = metadata.find(key);
      return it == metadata.end() ? std::string() : it->second;
    };
    return TenantOwner{get("trust"), get("owner_node"), get("owner_address")};
  }
  return std::nullopt;
}

std::string GrpcCodeName(grpc::StatusCode code) {
  // gRPC's codes are absl's, value for value.
  std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

}  // namespace throughline::services
