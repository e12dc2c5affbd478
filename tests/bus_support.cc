#include "tests/bus_support.h"

#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace throughline::testing {
namespace {

absl::Status Error(const std::string& what, natsStatus s, jsErrCode code) {
  return absl::UnavailableError(
      absl::StrCat(what, ": ", natsStatus_GetText(s), " (", code, ")"));
}

}  // namespace

std::string StreamMessage::Header(const std::string& key) const {
  auto it = headers.find(key);
  return it == headers.end() ? "" : it->second;
}

absl::StatusOr<std::unique_ptr<JetStreamClient>> JetStreamClient::Connect(
    const std::string& url) {
  std::unique_ptr<JetStreamClient> client(new JetStreamClient());
  natsStatus s = natsConnection_ConnectTo(&client->nc_, url.c_str());
  if (s != NATS_OK) {
    client->nc_ = nullptr;
    return Error("connect " + url, s, static_cast<jsErrCode>(0));
  }
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = 10000;
  s = natsConnection_JetStream(&client->js_, client->nc_, &options);
  if (s != NATS_OK) {
    client->js_ = nullptr;
    return Error("jetstream", s, static_cast<jsErrCode>(0));
  }
  return client;
}

JetStreamClient::~JetStreamClient() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (nc_ != nullptr) natsConnection_Destroy(nc_);
}

uint64_t JetStreamClient::Count(const std::string& stream) {
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&info, js_, stream.c_str(), nullptr, &code) != NATS_OK) {
    return 0;
  }
  const uint64_t count = info->State.Msgs;
  jsStreamInfo_Destroy(info);
  return count;
}

absl::StatusOr<std::pair<absl::Duration, int64_t>>
JetStreamClient::StreamSettings(const std::string& stream) {
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, js_, stream.c_str(), nullptr, &code);
  if (s != NATS_OK) return Error("stream info " + stream, s, code);
  auto result = std::make_pair(absl::Nanoseconds(info->Config->Duplicates),
                               info->Config->Replicas);
  jsStreamInfo_Destroy(info);
  return result;
}

absl::StatusOr<std::vector<StreamMessage>> JetStreamClient::ReadAll(
    const std::string& stream) {
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, js_, stream.c_str(), nullptr, &code);
  if (s != NATS_OK) {
    if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
      return absl::NotFoundError(stream);
    }
    return Error("stream info " + stream, s, code);
  }
  const uint64_t first = info->State.FirstSeq;
  const uint64_t last = info->State.LastSeq;
  jsStreamInfo_Destroy(info);
  std::vector<StreamMessage> messages;
  for (uint64_t seq = first; seq >= 1 && seq <= last; ++seq) {
    natsMsg* msg = nullptr;
    code = static_cast<jsErrCode>(0);
    s = js_GetMsg(&msg, js_, stream.c_str(), seq, nullptr, &code);
    if (s == NATS_NOT_FOUND) continue;  // Deleted.
    if (s != NATS_OK) return Error(absl::StrCat("get ", seq), s, code);
    StreamMessage m;
    m.sequence = seq;
    m.subject = natsMsg_GetSubject(msg);
    m.data.assign(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    const char** keys = nullptr;
    int count = 0;
    if (natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK) {
      for (int i = 0; i < count; ++i) {
        const char* value = nullptr;
        if (natsMsgHeader_Get(msg, keys[i], &value) == NATS_OK &&
            value != nullptr) {
          m.headers[keys[i]] = value;
        }
      }
      free(static_cast<void*>(keys));
    }
    natsMsg_Destroy(msg);
    messages.push_back(std::move(m));
  }
  return messages;
}

absl::Status JetStreamClient::Publish(
    const std::string& subject, const std::string& data,
    const std::map<std::string, std::string>& headers) {
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(),
                                static_cast<int>(data.size()));
  for (const auto& [key, value] : headers) {
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, key.c_str(), value.c_str());
  }
  jsPubAck* ack = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  if (s == NATS_OK) s = js_PublishMsg(&ack, js_, msg, nullptr, &code);
  natsMsg_Destroy(msg);
  if (s != NATS_OK) return Error("publish " + subject, s, code);
  jsPubAck_Destroy(ack);
  return absl::OkStatus();
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

}  // namespace throughline::testing
