// JSON rendering and checking for the `throughline` CLI.
//
// Every message is printed in protobuf's JSON mapping (json_util), never by
// hand, so the output follows the .proto: proto field names, 64-bit integers
// as strings, timestamps in RFC 3339, enums by name. One readability change
// is made on top, generically on the JSON: an event whose content type is
// JSON shows its data as the JSON value, and one whose content type names a
// protobuf message compiled into the binary ("application/x-protobuf;
// proto=throughline.cpd.v1.ObservationRecorded") shows its data as that
// message in the JSON mapping, instead of base64.

#ifndef THROUGHLINE_TOOLS_CLI_JSON_H_
#define THROUGHLINE_TOOLS_CLI_JSON_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace throughline::cli {

// True when `content_type` is a JSON media type: "application/json" or any
// "<type>/<subtype>+json", ignoring case, surrounding spaces and parameters
// such as "; charset=utf-8".
bool IsJsonContentType(absl::string_view content_type);

// The full message name of a protobuf content type: "application/x-protobuf"
// or "application/protobuf" (any case) with a "proto=<full.Name>" parameter
// (optionally quoted); nullopt for any other content type.
std::optional<std::string> ProtobufContentTypeMessage(
    absl::string_view content_type);

// OK when `text` is exactly one JSON value (surrounding whitespace allowed);
// otherwise InvalidArgument with the parser's explanation.
absl::Status ValidateJson(absl::string_view text);

// `message` as one line of JSON (no trailing newline) in protobuf's JSON
// mapping with proto field names and fields at their default values
// included. Then, in every JSON object of the result that has a string
// "content_type" and a string "data", the base64 data is replaced by:
//  * for a JSON content type (IsJsonContentType), the JSON value it decodes
//    to;
//  * for a protobuf content type (ProtobufContentTypeMessage) naming a
//    message in the generated descriptor pool (compiled into the binary),
//    that message parsed from it, as a JSON object in the same mapping.
// Data that does not decode (bad base64, invalid JSON, an unknown message
// type, bytes that do not parse) stays as base64. Internal if json_util
// fails.
absl::StatusOr<std::string> MessageToJsonLine(
    const google::protobuf::Message& message);

}  // namespace throughline::cli

#endif  // THROUGHLINE_TOOLS_CLI_JSON_H_
