// What the relay and the ingestion share about NATS JetStream: the bus
// options, subject naming, an owning connection, stream set-up, error
// conversion and retry backoff. docs/bus.md is the contract in prose.

#ifndef THROUGHLINE_SERVICES_BUS_NATS_UTIL_H_
#define THROUGHLINE_SERVICES_BUS_NATS_UTIL_H_

#include <nats/nats.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace throughline::services::bus {

// Subject prefixes; every subject of the bus is under "throughline.".
inline constexpr char kOutboundPrefix[] = "throughline.ev.";
inline constexpr char kInboundPrefix[] = "throughline.in.";
inline constexpr char kDeadLetterPrefix[] = "throughline.dlq.";
// Events with personal data in clear, for trusts that turned it on
// (docs/bus.md#clear-personal-data). A second token of its own, so that no
// filter on the outbound subjects (the relay's resume check, a restore)
// ever sees these messages.
inline constexpr char kClearPrefix[] = "throughline.clear.";

// Header names. Nats-Msg-Id is JetStream's own (dedupe).
inline constexpr char kMsgIdHeader[] = "Nats-Msg-Id";
inline constexpr char kTenantHeader[] = "Throughline-Tenant";
inline constexpr char kStreamHeader[] = "Throughline-Stream";
inline constexpr char kTypeHeader[] = "Throughline-Type";
inline constexpr char kContentTypeHeader[] = "Throughline-Content-Type";
inline constexpr char kPositionHeader[] = "Throughline-Position";
inline constexpr char kRevisionHeader[] = "Throughline-Revision";
inline constexpr char kOccurredAtHeader[] = "Throughline-Occurred-At";
inline constexpr char kRecordedAtHeader[] = "Throughline-Recorded-At";
inline constexpr char kCorrelationHeader[] = "Throughline-Correlation-Id";
inline constexpr char kCausationHeader[] = "Throughline-Causation-Id";
inline constexpr char kActorHeader[] = "Throughline-Actor";
inline constexpr char kSourcePlatformHeader[] = "Throughline-Source-Platform";
// SHA-256 (lowercase hex) of the event's stored record, so that a restore can
// check it rebuilt the record byte for byte (docs/bus.md).
inline constexpr char kRecordDigestHeader[] = "Throughline-Record-Sha256";
// The tenant's hash chain at the event's position (lowercase hex; format.h),
// so that a restore can check its chain head against the source's.
inline constexpr char kChainHashHeader[] = "Throughline-Chain-Hash";
inline constexpr char kErrorCodeHeader[] = "Throughline-Error-Code";
inline constexpr char kErrorHeader[] = "Throughline-Error";
inline constexpr char kErrorFieldHeader[] = "Throughline-Error-Field";
inline constexpr char kOriginalSubjectHeader[] = "Throughline-Original-Subject";
inline constexpr char kOriginalSequenceHeader[] =
    "Throughline-Original-Sequence";
inline constexpr char kOriginalMsgIdHeader[] = "Throughline-Original-Msg-Id";

// The bus settings taken from the server configuration.
struct BusOptions {
  std::string nats_url;  // Comma-separated URLs.
  std::string stream = "THROUGHLINE_EVENTS";
  std::string inbound_stream = "THROUGHLINE_INBOUND";
  std::string dead_letter_stream = "THROUGHLINE_DEAD_LETTERS";
  // Stream of the clear subjects (kClearPrefix).
  std::string clear_stream = "THROUGHLINE_EVENTS_CLEAR";
  int replicas = 1;
  absl::Duration duplicate_window = absl::Seconds(120);
  absl::Duration retry_max = absl::Seconds(30);
  // How long one JetStream request (publish, ack, stream call) may wait.
  absl::Duration request_timeout = absl::Seconds(5);
};

// `text` as one subject token: every character outside [A-Za-z0-9_-]
// becomes '_' ("." would split the token; "*" and ">" are wildcards).
std::string SubjectToken(absl::string_view text);

// `text` as a header value: control characters (CR, LF, ...) become spaces.
std::string HeaderValue(absl::string_view text);

// Converts a NATS failure to a Status: Unavailable for connection trouble
// and timeouts, NotFound for JetStream "not found" errors, Internal
// otherwise. The message starts with `what` and includes the library's last
// error text.
absl::Status NatsError(absl::string_view what, natsStatus status,
                       jsErrCode js_code = static_cast<jsErrCode>(0));

// A NATS connection with its JetStream context. The library reconnects by
// itself, forever, after the first successful connect.
class NatsConnection {
 public:
  // Connects to `options.nats_url` (comma-separated servers). `name` is the
  // client name the NATS server shows. Unavailable when no server answers.
  static absl::StatusOr<std::unique_ptr<NatsConnection>> Connect(
      const BusOptions& options, const std::string& name);

  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  natsConnection* connection() { return connection_; }
  jsCtx* js() { return js_; }
  // True while connected (not reconnecting, not closed).
  bool connected();
  // True once the connection is closed for good.
  bool closed();

 private:
  NatsConnection() = default;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
};

// Creates the stream `name` with `subjects` (file storage, limits retention,
// the options' replicas and duplicate window), or updates an existing one
// to that configuration.
absl::Status EnsureStream(jsCtx* js, const std::string& name,
                          const std::vector<std::string>& subjects,
                          const BusOptions& options);

// A header's first value, or "" when the message has none.
std::string GetHeader(natsMsg* msg, const char* key);

// Exponential backoff from 100 ms doubling up to `max`.
class Backoff {
 public:
  explicit Backoff(absl::Duration max) : max_(max) {}
  // The next wait.
  absl::Duration Next();
  void Reset() { next_ = absl::Milliseconds(100); }

 private:
  const absl::Duration max_;
  absl::Duration next_ = absl::Milliseconds(100);
};

// The last error of a bus component, as shown by GetBusStatus.
struct LastError {
  std::string message;  // Empty when the last attempt succeeded.
  absl::Time time = absl::InfinitePast();
};

// A stop flag that sleepers can wait on.
class StopSignal {
 public:
  void Stop();
  bool stopped() const;
  // Sleeps for `d` or until Stop; returns stopped().
  bool SleepFor(absl::Duration d) const;

 private:
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace throughline::services::bus

#endif  // THROUGHLINE_SERVICES_BUS_NATS_UTIL_H_
