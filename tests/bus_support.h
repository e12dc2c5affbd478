// Helpers for the message bus tests: a small JetStream client (read a whole
// stream, publish with headers) and waiting for conditions with deadlines.

#ifndef THROUGHLINE_TESTS_BUS_SUPPORT_H_
#define THROUGHLINE_TESTS_BUS_SUPPORT_H_

#include <nats/nats.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace throughline::testing {

struct StreamMessage {
  uint64_t sequence = 0;
  std::string subject;
  std::string data;
  std::map<std::string, std::string> headers;  // First value of each.

  // The header's value, or "" if absent.
  std::string Header(const std::string& key) const;
};

// A test's own connection to NATS (no reconnect: a test that kills the
// server makes a new client after restarting it).
class JetStreamClient {
 public:
  static absl::StatusOr<std::unique_ptr<JetStreamClient>> Connect(
      const std::string& url);
  ~JetStreamClient();

  // Every message of `stream` in sequence order; NotFound if the stream
  // does not exist.
  absl::StatusOr<std::vector<StreamMessage>> ReadAll(const std::string& stream);
  // The stream's message count (0 if it does not exist).
  uint64_t Count(const std::string& stream);
  // Publishes to JetStream and waits for the acknowledgement.
  absl::Status Publish(const std::string& subject, const std::string& data,
                       const std::map<std::string, std::string>& headers = {});
  // The stream's configured duplicate window and replicas.
  absl::StatusOr<std::pair<absl::Duration, int64_t>> StreamSettings(
      const std::string& stream);

  jsCtx* js() { return js_; }

 private:
  JetStreamClient() = default;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

// Polls `condition` every 50 ms until it holds or `timeout` passes; returns
// whether it held.
bool WaitFor(const std::function<bool()>& condition,
             absl::Duration timeout = absl::Seconds(60));

}  // namespace throughline::testing

#endif  // THROUGHLINE_TESTS_BUS_SUPPORT_H_
