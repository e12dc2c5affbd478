// Generic recording for the `throughline` CLI: finds the RPCs of the CPD
// services (package throughline.cpd.v1) in the compiled-in descriptor pool,
// builds their requests from protobuf JSON and `field.path=value`
// assignments by reflection, and calls them with grpc::GenericStub. No code
// here knows any particular RPC: a new RPC in the .proto files is recordable
// as soon as it is compiled in.

#ifndef THROUGHLINE_TOOLS_CLI_RECORD_H_
#define THROUGHLINE_TOOLS_CLI_RECORD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace throughline::cli {

// The package whose services `record` calls.
inline constexpr char kCpdPackage[] = "throughline.cpd.v1";
// The response every recording RPC returns.
inline constexpr char kRecordResponseType[] =
    "throughline.cpd.v1.RecordResponse";

// Every unary RPC of every service of kCpdPackage, ordered by service name
// and then as declared.
std::vector<const google::protobuf::MethodDescriptor*> CpdMethods();

// The recording RPCs among CpdMethods(): those returning RecordResponse.
std::vector<const google::protobuf::MethodDescriptor*> RecordingMethods();

// The CPD RPC named `name`: "Rpc", "Service.Rpc" or
// "throughline.cpd.v1.Service.Rpc". With `recording_only`, only recording
// RPCs. InvalidArgument for an unknown or ambiguous name, with a hint.
absl::StatusOr<const google::protobuf::MethodDescriptor*> FindCpdMethod(
    absl::string_view name, bool recording_only);

// "Service.Rpc" of `method`.
std::string ShortMethodName(const google::protobuf::MethodDescriptor& method);

// The HTTP/2 path of `method`: "/throughline.cpd.v1.Service/Rpc".
std::string MethodPath(const google::protobuf::MethodDescriptor& method);

// A new, empty message of `type` (the generated class when linked in).
std::unique_ptr<google::protobuf::Message> NewMessage(
    const google::protobuf::Descriptor& type);

// Merges `json` (protobuf's JSON mapping of `message`'s type, proto or JSON
// field names) into `message`. InvalidArgument with the parser's reason.
absl::Status MergeJson(absl::string_view json,
                       google::protobuf::Message* message);

// Applies one "field.path=value" assignment to `message`:
//  * the path is made of proto (or JSON) field names joined by '.'; a
//    repeated message field takes an index, "ratings[0]" (the index may be
//    the current size, to append); a map field takes a key,
//    "parameters[scope]";
//  * scalar values are written as text: numbers, true/false, enum value
//    names (full, "STAFF_ROLE_TEACHER", or without the type's prefix, in
//    any case, '-' for '_': "teacher", "early-career-teacher");
//  * a repeated scalar field without an index takes comma-separated values
//    (replacing its contents; empty value = empty list);
//  * a google.protobuf.Timestamp takes an RFC 3339 time;
//  * any message, repeated or map field also takes JSON (an object, or for
//    a repeated or map field an array or object), replacing its contents.
// InvalidArgument naming the path, and for an unknown field listing the
// fields there are.
absl::Status ApplyAssignment(absl::string_view assignment,
                             google::protobuf::Message* message);
absl::Status SetField(absl::string_view path, absl::string_view value,
                      google::protobuf::Message* message);

// One line per recording RPC: "Service.Rpc  field, field (Type), ...".
std::vector<std::string> DescribeRecordingMethods();

// Every settable field path of `method`'s request with its type, one line
// each, after a heading line.
std::vector<std::string> DescribeRequestFields(
    const google::protobuf::MethodDescriptor& method);

// The name of the event a recording request carries: the message type of
// its one message field other than occurred_at, e.g. "ObservationRecorded";
// empty when there is none.
std::string PayloadTypeName(const google::protobuf::Message& request);

// Metadata sent with a call.
struct CallMetadata {
  // The bearer token; its principal's trust is the tenant of the call.
  std::string token;
  std::string actor;            // Omitted when empty.
  std::string source_platform;  // Omitted when empty.
};

// Adds `metadata` to `context` as "authorization: Bearer <token>",
// "throughline-actor" and "throughline-source-platform".
void AddCallMetadata(const CallMetadata& metadata,
                     grpc::ClientContext* context);

// Calls unary `method` with `request` over `channel` through
// grpc::GenericStub and parses the reply into `response` (of the method's
// output type). Blocks until the call ends.
grpc::Status CallUnary(const std::shared_ptr<grpc::Channel>& channel,
                       grpc::ClientContext* context,
                       const google::protobuf::MethodDescriptor& method,
                       const google::protobuf::Message& request,
                       google::protobuf::Message* response);

}  // namespace throughline::cli

#endif  // THROUGHLINE_TOOLS_CLI_RECORD_H_
