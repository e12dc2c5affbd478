// What the fuzz targets share: the framing of a fuzz input into a sequence of
// tagged parts, a real event store in a temporary directory that is recycled
// now and then so that a long run stays small, a fresh trust per input, and
// the table of every RPC the request fuzzer can call.
//
// Input framing (docs/fuzzing.md): an input is a sequence of frames
//
//   tag (1 byte)  length (2 bytes, little-endian)  body (length bytes)
//
// A length past the end of the input is cut to what is left, so every byte
// string is a valid input. Each target says what its tags mean.

#ifndef THROUGHLINE_FUZZ_HARNESS_H_
#define THROUGHLINE_FUZZ_HARNESS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "eventstore/event_store.h"
#include "google/protobuf/message.h"
#include "grpcpp/server.h"
#include "projections/fact_store.h"
#include "projections/projector.h"
#include "services/auth/auth_store.h"
#include "services/auth/gate.h"
#include "services/cpd/command_runner.h"
#include "services/cpd/silo_services.h"
#include "services/event_store_service.h"
#include "services/privacy/personal_data.h"

// Reports a broken invariant as a crash, so that libFuzzer keeps the input.
#define FUZZ_CHECK(condition, ...)                                           \
  do {                                                                       \
    if (!(condition)) {                                                      \
      ::throughline::fuzz::Fail(__FILE__, __LINE__, #condition,              \
                                ::throughline::fuzz::Describe(__VA_ARGS__)); \
    }                                                                        \
  } while (false)

namespace throughline::fuzz {

[[noreturn]] void Fail(const char* file, int line, const char* condition,
                       const std::string& detail);
inline std::string Describe() { return ""; }
inline std::string Describe(const std::string& detail) { return detail; }

struct Frame {
  uint8_t tag = 0;
  absl::string_view body;
};

// Splits `input` into frames (see the top of this file).
std::vector<Frame> SplitFrames(absl::string_view input, size_t max_frames);
// Appends one frame to `out`; `body` is cut to 65535 bytes.
void AppendFrame(uint8_t tag, absl::string_view body, std::string* out);

// Silences protobuf's log (a fuzzer makes it complain on every input) and
// gRPC's; call once at start.
void QuietLogs();

// The CPD silo services over one CommandRunner.
struct Silos {
  explicit Silos(services::cpd::CommandRunner* runner);
  services::cpd::OrganisationService organisation;
  services::cpd::StaffDirectoryService staff;
  services::cpd::ObservationService observation;
  services::cpd::CoachingService coaching;
  services::cpd::AppraisalService appraisal;
  services::cpd::CpdProgrammeService programme;
  services::cpd::PlanningService planning;
};

// A real event store (RocksDB, unsynced) in a temporary directory, with the
// EventStore gRPC service over it on an in-process channel (no network).
// Every Recycle() interval it is closed, deleted and opened afresh, so that a
// long run does not fill the disk; each input uses a trust of its own, so no
// input sees another's events.
class Sandbox {
 public:
  // Opens the first store; aborts if it cannot.
  explicit Sandbox(bool with_views);
  ~Sandbox();

  // Starts the next input: recycles the store when due and returns a fresh
  // trust name.
  std::string NextTrust();

  eventstore::EventStore* store() { return store_.get(); }
  services::cpd::CommandRunner* runner() { return runner_.get(); }
  Silos* silos() { return silos_.get(); }
  services::EventStoreService* event_store_service() {
    return event_store_service_.get();
  }
  services::v1::EventStore::Stub* event_store_stub() { return stub_.get(); }
  // The views' state and the projector (only with_views).
  projections::FactStore* facts() { return facts_.get(); }
  projections::Projector* projector() { return projector_.get(); }

  // The trust's log head (0 when empty). Aborts on a store error.
  uint64_t Head(const std::string& trust);

  // The bearer token of the trust's admin, minted by NextTrust: every call
  // an input makes carries a real credential through the real gate.
  const std::string& TokenFor(const std::string& trust) const;
  const services::auth::Gate& gate() const { return *gate_; }

 private:
  void Open();
  void Close();

  const bool with_views_;
  std::string dir_;
  uint64_t inputs_ = 0;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<services::auth::AuthStore> auth_;
  std::unique_ptr<services::auth::Gate> gate_;
  std::string trust_;
  std::string token_;
  std::unique_ptr<services::privacy::PersonalData> personal_data_;
  std::unique_ptr<services::cpd::CommandRunner> runner_;
  std::unique_ptr<Silos> silos_;
  std::unique_ptr<services::EventStoreService> event_store_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<services::v1::EventStore::Stub> stub_;
  std::unique_ptr<projections::FactStore> facts_;
  std::unique_ptr<projections::Projector> projector_;
};

// A server-side context as the services see it for a call of `method`
// ("/package.Service/Method") from the admin of `trust` with the given
// metadata, as gRPC and the gate deliver it, for calling a service method
// directly.
class DirectContext {
 public:
  DirectContext(const Sandbox& sandbox, const std::string& method,
                const std::string& trust, const std::string& actor = "",
                const std::string& source_platform = "",
                const std::string& correlation_id = "");
  ~DirectContext();
  grpc::ServerContext* get() { return &context_; }

 private:
  grpc::ServerContext context_;
  struct Spouse;
  std::unique_ptr<Spouse> spouse_;
};

// What a call did, for the invariants the request fuzzer checks.
struct CallResult {
  grpc::Status status;
  // Whether the RPC may append (false for reads).
  bool writes = false;
  // For writes answered OK: how many events it says it appended (0 when it
  // was a retry of an earlier request).
  uint64_t appended = 0;
};

// One RPC a fuzz input can call, with the trust and metadata of the call.
struct CallMetadata {
  std::string trust;
  std::string actor;
  std::string source_platform;
  std::string correlation_id;
};
struct Rpc {
  std::string
      name;  // "Service.Method", e.g. "ObservationService.RecordObservation"
  std::function<std::unique_ptr<google::protobuf::Message>()> new_request;
  std::function<CallResult(Sandbox&, const CallMetadata&,
                           const google::protobuf::Message&)>
      call;
};

// Every RPC of the CPD silo services and of the EventStore service except
// the streaming Subscribe, in a fixed order (a request input's tag indexes
// it, modulo its size).
const std::vector<Rpc>& Rpcs();

}  // namespace throughline::fuzz

#endif  // THROUGHLINE_FUZZ_HARNESS_H_
