#include "services/grpc_status.h"

#include <optional>
#include <string>

#include "eventstore/errors.h"
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
  if (rich.details_size() == 0) return grpc::Status(code, message);
  return grpc::Status(code, message, rich.SerializeAsString());
}

std::string GrpcCodeName(grpc::StatusCode code) {
  // gRPC's codes are absl's, value for value.
  std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

}  // namespace throughline::services
