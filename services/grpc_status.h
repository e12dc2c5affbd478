// Conversion of event-store and service errors to gRPC statuses.
//
// The gRPC status code equals the absl code. Beside the message, which names
// the field, the status carries a google.rpc.Status in the
// `grpc-status-details-bin` trailer whose details hold a
// throughline.eventstore.v1.FieldViolation when the error concerns a field,
// and a throughline.eventstore.v1.RevisionConflict for a failed expected
// revision.

#ifndef THROUGHLINE_SERVICES_GRPC_STATUS_H_
#define THROUGHLINE_SERVICES_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace throughline::services {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The canonical name of `code`, e.g. "INVALID_ARGUMENT" ("UNKNOWN" for a
// value outside the canonical codes), as metrics and dead letters show it.
std::string GrpcCodeName(grpc::StatusCode code);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_GRPC_STATUS_H_
