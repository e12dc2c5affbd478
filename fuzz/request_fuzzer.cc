// Request validation: a sequence of requests, as a client could send them,
// to every CPD silo RPC and to the EventStore service, for a trust of its
// own over a real event store.
//
// Frames (fuzz/harness.h): a frame with tag 255 sets the call metadata for
// the frames after it (body: actor, source platform and correlation id,
// separated by 0x00; bytes outside printable ASCII are dropped, as gRPC
// would not deliver them); any other tag calls Rpcs()[tag % Rpcs().size()]
// with the body as the serialized request. A body that does not parse as
// the request is skipped, as gRPC would refuse it before the service.
//
// Besides crashes, leaks and undefined behaviour, every call is checked for
// the API's promises:
//  - a refused request, and any read, appends nothing;
//  - an accepted write appends exactly the events it reports;
//  - no request makes the server fail with INTERNAL, UNKNOWN or DATA_LOSS;
//  - INVALID_ARGUMENT carries a FieldViolation naming the field;
//  - every event a CPD RPC appends decodes as a CPD event.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fuzz/harness.h"
#include "google/rpc/status.pb.h"
#include "projections/cpd_codec.h"
#include "throughline/eventstore/v1/errors.pb.h"

namespace throughline::fuzz {
namespace {

constexpr size_t kMaxCalls = 64;
constexpr uint8_t kMetadataTag = 255;

std::string Printable(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= 0x20 && c <= 0x7e) out.push_back(c);
  }
  return out;
}

bool HasFieldViolation(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return false;
  for (const google::protobuf::Any& detail : rich.details()) {
    eventstore::v1::FieldViolation violation;
    if (detail.UnpackTo(&violation) && !violation.field().empty()) return true;
  }
  return false;
}

void CheckAppendedEventsDecode(Sandbox& sandbox, const std::string& trust,
                               uint64_t from, uint64_t to) {
  absl::StatusOr<eventstore::LogPage> page = sandbox.store()->ReadLog(
      trust, from, eventstore::LogFilter(), to - from + 1);
  FUZZ_CHECK(page.ok(), page.status().ToString());
  FUZZ_CHECK(page->events.size() == to - from + 1,
             absl::StrCat(page->events.size(), " events read"));
  for (const eventstore::RecordedEvent& event : page->events) {
    absl::StatusOr<cpd::v1::CpdEvent> decoded =
        projections::DecodeCpdEvent(event.record);
    FUZZ_CHECK(decoded.ok(), decoded.status().ToString());
  }
}

void Run(Sandbox& sandbox, absl::string_view input) {
  CallMetadata metadata;
  metadata.trust = sandbox.NextTrust();
  const std::vector<Rpc>& rpcs = Rpcs();
  size_t calls = 0;
  for (const Frame& frame : SplitFrames(input, 2 * kMaxCalls)) {
    if (frame.tag == kMetadataTag) {
      std::vector<std::string> parts =
          absl::StrSplit(frame.body, absl::MaxSplits('\0', 2));
      parts.resize(3);
      metadata.actor = Printable(parts[0]);
      metadata.source_platform = Printable(parts[1]);
      metadata.correlation_id = Printable(parts[2]);
      continue;
    }
    if (++calls > kMaxCalls) break;
    const Rpc& rpc = rpcs[frame.tag % rpcs.size()];
    std::unique_ptr<google::protobuf::Message> request = rpc.new_request();
    if (!request->ParseFromArray(frame.body.data(),
                                 static_cast<int>(frame.body.size()))) {
      continue;
    }
    const uint64_t before = sandbox.Head(metadata.trust);
    const CallResult result = rpc.call(sandbox, metadata, *request);
    const uint64_t after = sandbox.Head(metadata.trust);
    const std::string context =
        absl::StrCat(rpc.name, " -> ", result.status.error_code(), " ",
                     result.status.error_message(),
                     "\nrequest: ", request->ShortDebugString());
    if (!result.status.ok() || !result.writes) {
      FUZZ_CHECK(after == before, context);
    } else {
      FUZZ_CHECK(after - before == result.appended,
                 absl::StrCat(context, "\nhead ", before, " -> ", after));
      const bool cpd = rpc.name.rfind("EventStore.", 0) != 0;
      if (cpd && after > before) {
        CheckAppendedEventsDecode(sandbox, metadata.trust, before + 1, after);
      }
    }
    const grpc::StatusCode code = result.status.error_code();
    FUZZ_CHECK(code != grpc::StatusCode::INTERNAL &&
                   code != grpc::StatusCode::UNKNOWN &&
                   code != grpc::StatusCode::DATA_LOSS,
               context);
    if (code == grpc::StatusCode::INVALID_ARGUMENT) {
      FUZZ_CHECK(HasFieldViolation(result.status), context);
    }
  }
}

}  // namespace
}  // namespace throughline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* sandbox = [] {
    throughline::fuzz::QuietLogs();
    return new throughline::fuzz::Sandbox(/*with_views=*/false);
  }();
  throughline::fuzz::Run(
      *sandbox, absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
