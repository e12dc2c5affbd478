#include "services/bus/nats_util.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace throughline::services::bus {
namespace {

int64_t ToMillis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

}  // namespace

std::string SubjectToken(absl::string_view text) {
  if (text.empty()) return std::string(1, '_');
  std::string token(text);
  for (char& c : token) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      c = '_';
    }
  }
  return token;
}

std::string HeaderValue(absl::string_view text) {
  std::string value(text);
  for (char& c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return value;
}

absl::Status NatsError(absl::string_view what, natsStatus status,
                       jsErrCode js_code) {
  const char* last = nats_GetLastError(nullptr);
  std::string message = absl::StrCat(what, ": ", natsStatus_GetText(status));
  if (js_code != 0)
    absl::StrAppend(&message, " (JetStream error ", js_code, ")");
  if (last != nullptr && *last != '\0' &&
      absl::string_view(last) != natsStatus_GetText(status)) {
    absl::StrAppend(&message, ": ", last);
  }
  switch (status) {
    case NATS_NOT_FOUND:
      return absl::NotFoundError(message);
    case NATS_TIMEOUT:
    case NATS_NO_SERVER:
    case NATS_IO_ERROR:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_NOT_YET_CONNECTED:
    case NATS_NO_RESPONDERS:
    case NATS_SLOW_CONSUMER:
    case NATS_INSUFFICIENT_BUFFER:
      return absl::UnavailableError(message);
    default:
      break;
  }
  // JetStream reports "not found" through its own codes too.
  if (js_code == JSStreamNotFoundErr || js_code == JSNoMessageFoundErr ||
      js_code == JSConsumerNotFoundErr) {
    return absl::NotFoundError(message);
  }
  return absl::InternalError(message);
}

absl::StatusOr<std::unique_ptr<NatsConnection>> NatsConnection::Connect(
    const BusOptions& options, const std::string& name) {
  std::vector<std::string> urls;
  for (absl::string_view url : absl::StrSplit(options.nats_url, ',')) {
    url = absl::StripAsciiWhitespace(url);
    if (!url.empty()) urls.emplace_back(url);
  }
  if (urls.empty()) return absl::InvalidArgumentError("nats_url: empty");
  std::vector<const char*> servers;
  for (const std::string& url : urls) servers.push_back(url.c_str());

  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s != NATS_OK) return NatsError("nats options", s);
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> owned_opts(
      opts, natsOptions_Destroy);
  if (s == NATS_OK) {
    s = natsOptions_SetServers(opts, servers.data(),
                               static_cast<int>(servers.size()));
  }
  if (s == NATS_OK) s = natsOptions_SetName(opts, name.c_str());
  // Reconnect forever once connected; the relay and the consumer retry the
  // first connect themselves with their backoff.
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK) {
    s = natsOptions_SetTimeout(opts, ToMillis(options.request_timeout));
  }
  // Notice a dead server within a few seconds.
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s != NATS_OK) return NatsError("nats options", s);

  std::unique_ptr<NatsConnection> conn(new NatsConnection());
  s = natsConnection_Connect(&conn->connection_, opts);
  if (s != NATS_OK) {
    conn->connection_ = nullptr;
    return NatsError(absl::StrCat("connect to ", options.nats_url), s);
  }
  jsOptions js_opts;
  jsOptions_Init(&js_opts);
  js_opts.Wait = ToMillis(options.request_timeout);
  s = natsConnection_JetStream(&conn->js_, conn->connection_, &js_opts);
  if (s != NATS_OK) {
    conn->js_ = nullptr;
    return NatsError("jetstream context", s);
  }
  return conn;
}

NatsConnection::~NatsConnection() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (connection_ != nullptr) {
    natsConnection_Close(connection_);
    natsConnection_Destroy(connection_);
  }
}

bool NatsConnection::connected() {
  return natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED;
}

bool NatsConnection::closed() { return natsConnection_IsClosed(connection_); }

absl::Status EnsureStream(jsCtx* js, const std::string& name,
                          const std::vector<std::string>& subjects,
                          const BusOptions& options) {
  std::vector<const char*> subject_ptrs;
  for (const std::string& subject : subjects) {
    subject_ptrs.push_back(subject.c_str());
  }
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = name.c_str();
  config.Subjects = subject_ptrs.data();
  config.SubjectsLen = static_cast<int>(subject_ptrs.size());
  config.Storage = js_FileStorage;
  config.Retention = js_LimitsPolicy;
  config.Replicas = options.replicas;
  config.Duplicates = absl::ToInt64Nanoseconds(options.duplicate_window);

  jsErrCode js_code = static_cast<jsErrCode>(0);
  jsStreamInfo* info = nullptr;
  natsStatus s = js_GetStreamInfo(&info, js, name.c_str(), nullptr, &js_code);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(info);
    info = nullptr;
    s = js_UpdateStream(&info, js, &config, nullptr, &js_code);
    if (s != NATS_OK) return NatsError("update stream " + name, s, js_code);
  } else if (s == NATS_NOT_FOUND || js_code == JSStreamNotFoundErr) {
    js_code = static_cast<jsErrCode>(0);
    s = js_AddStream(&info, js, &config, nullptr, &js_code);
    if (s != NATS_OK) return NatsError("create stream " + name, s, js_code);
  } else {
    return NatsError("stream info " + name, s, js_code);
  }
  if (info != nullptr) jsStreamInfo_Destroy(info);
  return absl::OkStatus();
}

std::string GetHeader(natsMsg* msg, const char* key) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, key, &value) != NATS_OK || value == nullptr) {
    return "";
  }
  return value;
}

absl::Duration Backoff::Next() {
  const absl::Duration wait = std::min(next_, max_);
  next_ = std::min(next_ * 2, max_);
  return wait;
}

void StopSignal::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

bool StopSignal::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

bool StopSignal::SleepFor(absl::Duration d) const {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopped_), d);
  return stopped_;
}

}  // namespace throughline::services::bus
