#include "services/bus/relay.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "eventstore/format.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "services/log.h"

namespace throughline::services::bus {
namespace {

constexpr char kCheckpointPrefix[] = "checkpoint/";
// Events read from the log per tenant per pass, so that one busy tenant
// does not hold up the others for long.
constexpr size_t kBatch = 256;
// How long the relay waits for a commit before it looks at its stop flag.
constexpr absl::Duration kIdleWait = absl::Milliseconds(250);

std::string Rfc3339(int64_t micros) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ",
                          absl::FromUnixMicros(micros), absl::UTCTimeZone());
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

}  // namespace

std::string OutboundSubject(absl::string_view tenant, absl::string_view stream,
                            absl::string_view type) {
  return absl::StrCat(kOutboundPrefix, SubjectToken(tenant), ".",
                      SubjectToken(eventstore::StreamCategory(stream)), ".",
                      SubjectToken(type));
}

std::string ClearSubject(absl::string_view tenant, absl::string_view stream,
                         absl::string_view type) {
  return absl::StrCat(kClearPrefix, SubjectToken(tenant), ".",
                      SubjectToken(eventstore::StreamCategory(stream)), ".",
                      SubjectToken(type));
}

absl::StatusOr<std::unique_ptr<Relay>> Relay::Create(
    eventstore::EventStore* store, const BusOptions& options,
    const std::string& checkpoint_dir) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.max_open_files = 64;
  db_options.keep_log_file_num = 2;
  rocksdb::DB* raw = nullptr;
  if (absl::Status s =
          FromRocks(rocksdb::DB::Open(db_options, checkpoint_dir, &raw),
                    absl::StrCat("bus checkpoints in ", checkpoint_dir));
      !s.ok()) {
    return s;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<Relay> relay(new Relay(store, options, std::move(db)));
  // Load every checkpoint.
  std::unique_ptr<rocksdb::Iterator> it(
      relay->db_->NewIterator(rocksdb::ReadOptions()));
  absl::MutexLock lock(&relay->mu_);
  for (it->Seek(kCheckpointPrefix);
       it->Valid() && it->key().starts_with(kCheckpointPrefix); it->Next()) {
    uint64_t position = 0;
    absl::string_view key(it->key().data(), it->key().size());
    if (!absl::SimpleAtoi(
            absl::string_view(it->value().data(), it->value().size()),
            &position)) {
      return absl::DataLossError(
          absl::StrCat("bus checkpoint of ", key, " is not a number"));
    }
    key.remove_prefix(sizeof(kCheckpointPrefix) - 1);
    relay->published_[std::string(key)] = position;
  }
  if (absl::Status s = FromRocks(it->status(), "reading bus checkpoints");
      !s.ok()) {
    return s;
  }
  return relay;
}

Relay::Relay(eventstore::EventStore* store, const BusOptions& options,
             std::unique_ptr<rocksdb::DB> db)
    : store_(store), options_(options), db_(std::move(db)) {}

Relay::~Relay() { Stop(); }

void Relay::SetClearPayload(ClearPayload clear) { clear_ = std::move(clear); }

void Relay::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Relay::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
  conn_.reset();
  SetConnected(false);
}

void Relay::SetError(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  last_error_.message = std::string(status.message());
  last_error_.time = absl::Now();
}

void Relay::SetConnected(bool connected) {
  absl::MutexLock lock(&mu_);
  connected_ = connected;
}

void Relay::Run() {
  Backoff backoff(options_.retry_max);
  while (!stop_.stopped()) {
    absl::Status status;
    if (conn_ != nullptr && conn_->closed()) conn_.reset();
    if (conn_ == nullptr) {
      ready_ = false;
      absl::StatusOr<std::unique_ptr<NatsConnection>> conn =
          NatsConnection::Connect(options_, "throughline-relay");
      if (conn.ok()) {
        conn_ = *std::move(conn);
      } else {
        status = conn.status();
      }
    }
    if (status.ok() && !conn_->connected()) {
      status = absl::UnavailableError(absl::StrCat(
          "not connected to ", options_.nats_url, " (reconnecting)"));
    }
    if (status.ok() && !ready_) {
      status = EnsureStream(conn_->js(), options_.stream,
                            {absl::StrCat(kOutboundPrefix, ">")}, options_);
      if (status.ok() && clear_ != nullptr) {
        status = EnsureStream(conn_->js(), options_.clear_stream,
                              {absl::StrCat(kClearPrefix, ">")}, options_);
      }
      if (status.ok()) {
        ready_ = true;
        reconciled_.clear();
      }
    }
    bool caught_up = false;
    const uint64_t seen = store_->CommitCount();
    if (status.ok()) status = PublishPending(&caught_up);
    if (!status.ok()) {
      // Set the stream up and check every tenant against it again before
      // publishing more: a failed publish may or may not have been stored.
      ready_ = false;
      SetConnected(false);
      SetError(status);
      stop_.SleepFor(backoff.Next());
      continue;
    }
    backoff.Reset();
    {
      absl::MutexLock lock(&mu_);
      connected_ = true;
      last_error_ = LastError();
    }
    if (caught_up) store_->WaitForCommit(seen, absl::Now() + kIdleWait);
  }
}

absl::Status Relay::PublishPending(bool* caught_up) {
  *caught_up = true;
  absl::StatusOr<std::vector<std::string>> tenants = store_->ListTenants();
  if (!tenants.ok()) return tenants.status();
  for (const std::string& tenant : *tenants) {
    if (stop_.stopped()) return absl::OkStatus();
    if (gate_ != nullptr && !gate_->Admit(tenant).ok()) {
      reconciled_.erase(tenant);
      continue;
    }
    absl::StatusOr<uint64_t> head = store_->HeadPosition(tenant);
    if (!head.ok()) return head.status();
    uint64_t published;
    {
      absl::MutexLock lock(&mu_);
      published = published_[tenant];
    }
    if (*head <= published) continue;
    if (!reconciled_.contains(tenant)) {
      if (absl::Status s = Reconcile(tenant); !s.ok()) return s;
      reconciled_.insert(tenant);
      absl::MutexLock lock(&mu_);
      published = published_[tenant];
    }
    if (*head <= published) continue;
    absl::StatusOr<eventstore::LogPage> page =
        store_->ReadLog(tenant, published + 1, eventstore::LogFilter(), kBatch);
    if (!page.ok()) return page.status();
    absl::StatusOr<eventstore::ChainHash> chain = ChainAt(tenant, published);
    if (!chain.ok()) return chain.status();
    for (const eventstore::RecordedEvent& event : page->events) {
      if (stop_.stopped()) return absl::OkStatus();
      if (event.position <= published) continue;
      // The store writes exactly this serialization, so this is the chain
      // it stored (format.h).
      *chain =
          eventstore::NextChainHash(*chain, event.record.SerializeAsString());
      if (absl::Status s = Publish(tenant, event, *chain); !s.ok()) return s;
      if (absl::Status s = SaveCheckpoint(tenant, event.position); !s.ok()) {
        return s;
      }
      published = event.position;
    }
    if (page->next_position <= page->head_position) *caught_up = false;
  }
  return absl::OkStatus();
}

absl::Status Relay::Reconcile(const std::string& tenant) {
  const std::string filter =
      absl::StrCat(kOutboundPrefix, SubjectToken(tenant), ".>");
  natsMsg* msg = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&msg, conn_->js(), options_.stream.c_str(),
                               filter.c_str(), nullptr, &js_code);
  if (s == NATS_NOT_FOUND || js_code == JSNoMessageFoundErr) {
    return absl::OkStatus();  // Nothing of this tenant in the stream.
  }
  if (s != NATS_OK) {
    return NatsError(absl::StrCat("last message of ", filter), s, js_code);
  }
  const std::string text = GetHeader(msg, kPositionHeader);
  natsMsg_Destroy(msg);
  uint64_t position = 0;
  if (!absl::SimpleAtoi(text, &position)) {
    return absl::OkStatus();  // Not one of ours: keep the checkpoint.
  }
  uint64_t published;
  {
    absl::MutexLock lock(&mu_);
    published = published_[tenant];
  }
  if (position > published) return SaveCheckpoint(tenant, position);
  return absl::OkStatus();
}

absl::StatusOr<eventstore::ChainHash> Relay::ChainAt(const std::string& tenant,
                                                     uint64_t position) const {
  if (position == 0) return eventstore::kChainGenesis;
  eventstore::VerifyOptions options;
  options.tenant = tenant;
  options.from_position = position;
  options.to_position = position;
  absl::StatusOr<eventstore::VerifyReport> report = store_->Verify(options);
  if (!report.ok()) return report.status();
  if (report->mismatch.has_value()) {
    return absl::DataLossError(
        absl::StrCat("the hash chain of ", tenant, " fails at position ",
                     report->mismatch->position, ": ", report->mismatch->detail,
                     "; the relay stops for this trust (run verify)"));
  }
  return report->chain_hash;
}

absl::Status Relay::Publish(const std::string& tenant,
                            const eventstore::RecordedEvent& event,
                            const eventstore::ChainHash& chain) {
  if (!conn_->connected()) {
    return absl::UnavailableError(
        absl::StrCat("not connected to ", options_.nats_url));
  }
  // The clear form first: once the event itself is in the stream, the
  // resume check skips it, clear form and all.
  if (absl::Status s = PublishClear(tenant, event); !s.ok()) return s;
  const eventstore::EventRecord& record = event.record;
  const std::string stored = record.SerializeAsString();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(stored.data()), stored.size(),
         digest);
  return PublishMessage(
      tenant, event, OutboundSubject(tenant, record.stream(), record.type()),
      record.data(), options_.stream,
      {{kRecordDigestHeader,
        absl::BytesToHexString(absl::string_view(
            reinterpret_cast<const char*>(digest), sizeof(digest)))},
       {kChainHashHeader, eventstore::ChainHashToHex(chain)}});
}

absl::Status Relay::PublishClear(const std::string& tenant,
                                 const eventstore::RecordedEvent& event) {
  if (clear_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::optional<std::string>> payload = clear_(tenant, event);
  if (!payload.ok()) {
    // The outbound stream, which replication and restore rest on, is never
    // held up by a clear form that cannot be made (e.g. personal data that
    // does not decrypt): that event is not published in clear.
    Log(LogLevel::kError, "bus_clear_form_skipped",
        {{"tenant", tenant},
         {"position", absl::StrCat(event.position)},
         {"error", payload.status().ToString()}});
    return absl::OkStatus();
  }
  if (!payload->has_value()) return absl::OkStatus();
  const eventstore::EventRecord& record = event.record;
  return PublishMessage(tenant, event,
                        ClearSubject(tenant, record.stream(), record.type()),
                        **payload, options_.clear_stream, {});
}

absl::Status Relay::PublishMessage(
    const std::string& tenant, const eventstore::RecordedEvent& event,
    const std::string& subject, absl::string_view payload,
    const std::string& stream,
    const std::vector<std::pair<const char*, std::string>>& extra_headers) {
  const eventstore::EventRecord& record = event.record;
  std::string event_id;
  if (record.event_id().size() == 16) {
    eventstore::Uuid uuid;
    std::copy_n(record.event_id().begin(), uuid.size(), uuid.begin());
    event_id = eventstore::FormatUuid(uuid);
  }
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, payload.data(),
                                static_cast<int>(payload.size()));
  if (s != NATS_OK) return NatsError("message for " + subject, s);
  std::vector<std::pair<const char*, std::string>> headers = {
      {kTenantHeader, tenant},
      {kStreamHeader, record.stream()},
      {kTypeHeader, record.type()},
      {kContentTypeHeader, record.content_type()},
      {kPositionHeader, absl::StrCat(event.position)},
      {kRevisionHeader, absl::StrCat(record.revision())},
      {kOccurredAtHeader, Rfc3339(record.occurred_at_micros())},
      {kRecordedAtHeader, Rfc3339(record.recorded_at_micros())},
      {kCorrelationHeader, record.correlation_id()},
      {kCausationHeader, record.causation_id()},
      {kActorHeader, record.actor()},
      {kSourcePlatformHeader, record.source_platform()},
  };
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  for (const auto& [key, value] : headers) {
    if (value.empty()) continue;
    if (s == NATS_OK) {
      s = natsMsgHeader_Set(msg, key, HeaderValue(value).c_str());
    }
  }
  if (s != NATS_OK) {
    natsMsg_Destroy(msg);
    return NatsError("headers for " + subject, s);
  }
  jsPubOptions pub_options;
  jsPubOptions_Init(&pub_options);
  pub_options.MsgId = event_id.empty() ? nullptr : event_id.c_str();
  pub_options.ExpectStream = stream.c_str();
  pub_options.MaxWait = absl::ToInt64Milliseconds(options_.request_timeout);
  jsPubAck* ack = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  s = js_PublishMsg(&ack, conn_->js(), msg, &pub_options, &js_code);
  natsMsg_Destroy(msg);
  if (s != NATS_OK) {
    return NatsError(absl::StrCat("publish ", subject, " (", tenant,
                                  " position ", event.position, ")"),
                     s, js_code);
  }
  jsPubAck_Destroy(ack);
  return absl::OkStatus();
}

absl::Status Relay::SaveCheckpoint(const std::string& tenant,
                                   uint64_t position) {
  rocksdb::WriteOptions write_options;  // The stream is the backstop.
  if (absl::Status s = FromRocks(
          db_->Put(write_options, absl::StrCat(kCheckpointPrefix, tenant),
                   absl::StrCat(position)),
          "saving bus checkpoint");
      !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  published_[tenant] = position;
  return absl::OkStatus();
}

Relay::Status Relay::GetStatus(const std::string& only_tenant) const {
  Status status;
  std::vector<std::string> tenants;
  if (!only_tenant.empty()) {
    tenants.push_back(only_tenant);
  } else if (absl::StatusOr<std::vector<std::string>> all =
                 store_->ListTenants();
             all.ok()) {
    tenants = *std::move(all);
  }
  absl::MutexLock lock(&mu_);
  status.connected = connected_;
  status.last_error = last_error_;
  for (const std::string& tenant : tenants) {
    TenantStatus t;
    t.tenant = tenant;
    auto it = published_.find(tenant);
    if (it != published_.end()) t.published = it->second;
    absl::StatusOr<uint64_t> head = store_->HeadPosition(tenant);
    if (head.ok()) t.head = *head;
    if (!only_tenant.empty() && t.head == 0 && t.published == 0) continue;
    status.tenants.push_back(std::move(t));
  }
  return status;
}

}  // namespace throughline::services::bus
