// Conversion of event-store and service errors to gRPC statuses.
//
// The gRPC status code equals the absl code. Beside the message, which names
// the field, the status carries a google.rpc.Status in the
// `grpc-status-details-bin` trailer whose details hold a
// throughline.eventstore.v1.FieldViolation when the error concerns a field,
// and a throughline.eventstore.v1.RevisionConflict for a failed expected
// revision. A refusal because another node serves the trust (NotOwnerError
// in tenant.h) also carries a google.rpc.ErrorInfo: reason
// "TRUST_ON_OTHER_NODE", domain "throughline", metadata "trust",
// "owner_node" and "owner_address".

#ifndef THROUGHLINE_SERVICES_GRPC_STATUS_H_
#define THROUGHLINE_SERVICES_GRPC_STATUS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "services/tenant.h"

namespace throughline::services {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The owner named by a TRUST_ON_OTHER_NODE ErrorInfo in `status`'s details,
// for clients that follow the trust to its node.
std::optional<TenantOwner> OwnerFromGrpcStatus(const grpc::Status& status);

// The canonical name of `code`, e.g. "INVALID_ARGUMENT" ("UNKNOWN" for a
// value outside the canonical codes), as metrics and dead letters show it.
std::string GrpcCodeName(grpc::StatusCode code);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_GRPC_STATUS_H_
