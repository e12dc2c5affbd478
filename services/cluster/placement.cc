#include "services/cluster/placement.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace throughline::services::cluster {
namespace {

constexpr char kTrustKeyPrefix[] = "trust.";
constexpr char kNodeKeyPrefix[] = "node.";
// How long one kvWatcher_Next waits before the thread looks at its stop
// flag.
constexpr int64_t kWatchPollMillis = 250;

std::string TrustKey(absl::string_view tenant) {
  return absl::StrCat(kTrustKeyPrefix, tenant);
}

}  // namespace

Placement::Placement(eventstore::EventStore* store, const bus::BusOptions& bus,
                     const PlacementOptions& options)
    : store_(store), bus_(bus), options_(options) {}

Placement::~Placement() { Stop(); }

void Placement::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Placement::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  ready_ = false;
  loaded_ = false;
  if (kv_ != nullptr) kvStore_Destroy(kv_);
  kv_ = nullptr;
  conn_.reset();
}

bus::NatsConnection* Placement::connection() const {
  absl::MutexLock lock(&mu_);
  return ready_ ? conn_.get() : nullptr;
}

absl::Status Placement::Connect() {
  absl::StatusOr<std::unique_ptr<bus::NatsConnection>> conn =
      bus::NatsConnection::Connect(bus_, "throughline-placement");
  if (!conn.ok()) return conn.status();
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, (*conn)->js(), options_.bucket.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig config;
    kvConfig_Init(&config);
    config.Bucket = options_.bucket.c_str();
    config.Description = "Throughline: which node serves each trust";
    config.History = 5;
    config.StorageType = js_FileStorage;
    config.Replicas = bus_.replicas;
    s = js_CreateKeyValue(&kv, (*conn)->js(), &config);
    // Another node may have created it at the same moment.
    if (s != NATS_OK) {
      s = js_KeyValue(&kv, (*conn)->js(), options_.bucket.c_str());
    }
  }
  if (s != NATS_OK) {
    return bus::NatsError(absl::StrCat("placement bucket ", options_.bucket),
                          s);
  }
  const std::string node_key = absl::StrCat(kNodeKeyPrefix, options_.node_id);
  uint64_t revision = 0;
  s = kvStore_PutString(&revision, kv, node_key.c_str(),
                        options_.advertise_address.c_str());
  if (s != NATS_OK) {
    kvStore_Destroy(kv);
    return bus::NatsError(absl::StrCat("registering ", node_key), s);
  }
  absl::MutexLock lock(&mu_);
  conn_ = *std::move(conn);
  kv_ = kv;
  ready_ = true;
  return absl::OkStatus();
}

void Placement::Run() {
  bus::Backoff backoff(bus_.retry_max);
  while (!stop_.stopped()) {
    bool ready;
    {
      absl::MutexLock lock(&mu_);
      ready = ready_;
    }
    if (!ready) {
      if (absl::Status s = Connect(); !s.ok()) {
        fprintf(stderr, "placement: %s\n", std::string(s.message()).c_str());
        stop_.SleepFor(backoff.Next());
        continue;
      }
    }
    // Watch everything; the initial state ends with a null entry.
    kvWatcher* watcher = nullptr;
    kvWatchOptions watch_options;
    kvWatchOptions_Init(&watch_options);
    natsStatus s = kvStore_WatchAll(&watcher, kv_, &watch_options);
    if (s != NATS_OK) {
      fprintf(stderr, "placement: %s\n",
              std::string(bus::NatsError("watching placement", s).message())
                  .c_str());
      stop_.SleepFor(backoff.Next());
      continue;
    }
    bool initial = true;
    while (!stop_.stopped()) {
      kvEntry* entry = nullptr;
      s = kvWatcher_Next(&entry, watcher, kWatchPollMillis);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) break;
      if (entry == nullptr) {
        if (initial) {
          initial = false;
          {
            absl::MutexLock lock(&mu_);
            loaded_ = true;
          }
          backoff.Reset();
          if (absl::Status c = ClaimStoredTrusts(); !c.ok()) {
            fprintf(stderr, "placement: %s\n",
                    std::string(c.message()).c_str());
          }
        }
        continue;
      }
      const kvOperation op = kvEntry_Operation(entry);
      const char* value = kvEntry_ValueString(entry);
      Apply(kvEntry_Key(entry), value == nullptr ? "" : value,
            kvEntry_Revision(entry), op == kvOp_Delete || op == kvOp_Purge);
      kvEntry_Destroy(entry);
    }
    kvWatcher_Destroy(watcher);
    if (!stop_.stopped()) stop_.SleepFor(backoff.Next());
  }
}

void Placement::NoteOwner(const std::string& tenant, const std::string& node,
                          uint64_t revision) const {
  Apply(TrustKey(tenant), node, revision, false);
}

void Placement::Apply(absl::string_view key, absl::string_view value,
                      uint64_t revision, bool deleted) const {
  absl::MutexLock lock(&mu_);
  if (absl::ConsumePrefix(&key, kTrustKeyPrefix)) {
    const std::string tenant(key);
    if (deleted) {
      owners_.erase(tenant);
      return;
    }
    Owner& owner = owners_[tenant];
    // A compare-and-set of this node may have cached a newer revision.
    if (revision < owner.revision) return;
    owner.node = std::string(value);
    owner.revision = revision;
  } else if (absl::ConsumePrefix(&key, kNodeKeyPrefix)) {
    if (deleted) {
      addresses_.erase(std::string(key));
    } else {
      addresses_[std::string(key)] = std::string(value);
    }
  }
}

absl::Status Placement::ClaimStoredTrusts() {
  absl::StatusOr<std::vector<std::string>> tenants = store_->ListTenants();
  if (!tenants.ok()) return tenants.status();
  for (const std::string& tenant : *tenants) {
    {
      absl::MutexLock lock(&mu_);
      if (owners_.contains(tenant)) continue;
    }
    if (absl::StatusOr<Owner> owner = Claim(tenant); !owner.ok()) {
      return owner.status();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<kvStore*> Placement::Bucket() const {
  absl::MutexLock lock(&mu_);
  if (!ready_) {
    return absl::UnavailableError("not connected to the placement bucket");
  }
  return kv_;
}

absl::StatusOr<Placement::Owner> Placement::Claim(
    const std::string& tenant) const {
  absl::StatusOr<kvStore*> kv = Bucket();
  if (!kv.ok()) return kv.status();
  const std::string key = TrustKey(tenant);
  uint64_t revision = 0;
  natsStatus s = kvStore_CreateString(&revision, *kv, key.c_str(),
                                      options_.node_id.c_str());
  if (s == NATS_OK) {
    Apply(key, options_.node_id, revision, false);
  } else {
    // Most likely another node claimed it first: read who.
    kvEntry* entry = nullptr;
    s = kvStore_Get(&entry, *kv, key.c_str());
    if (s != NATS_OK) {
      return bus::NatsError(absl::StrCat("claiming trust ", tenant), s);
    }
    const char* value = kvEntry_ValueString(entry);
    Apply(key, value == nullptr ? "" : value, kvEntry_Revision(entry), false);
    kvEntry_Destroy(entry);
  }
  return OwnerOf(tenant);
}

absl::StatusOr<Placement::Owner> Placement::OwnerOf(
    const std::string& tenant) const {
  absl::MutexLock lock(&mu_);
  if (!loaded_) {
    return absl::UnavailableError(
        "this node has not loaded the trust placement yet (is NATS "
        "reachable?); retry shortly");
  }
  Owner owner;
  if (auto it = owners_.find(tenant); it != owners_.end()) owner = it->second;
  if (auto it = addresses_.find(owner.node); it != addresses_.end()) {
    owner.address = it->second;
  }
  return owner;
}

std::string Placement::AddressOf(const std::string& node) const {
  absl::MutexLock lock(&mu_);
  auto it = addresses_.find(node);
  return it == addresses_.end() ? std::string() : it->second;
}

absl::Status Placement::Admit(const std::string& tenant) const {
  absl::StatusOr<Owner> owner = OwnerOf(tenant);
  if (!owner.ok()) return owner.status();
  if (owner->node.empty()) {
    owner = Claim(tenant);
    if (!owner.ok()) return owner.status();
  }
  if (owner->node == options_.node_id) return absl::OkStatus();
  return NotOwnerError(TenantOwner{tenant, owner->node, owner->address});
}

absl::StatusOr<Placement::Owner> Placement::SetOwner(
    const std::string& tenant, const std::string& node,
    uint64_t expected_revision) {
  absl::StatusOr<kvStore*> kv = Bucket();
  if (!kv.ok()) return kv.status();
  const std::string key = TrustKey(tenant);
  uint64_t revision = 0;
  natsStatus s =
      expected_revision == 0
          ? kvStore_CreateString(&revision, *kv, key.c_str(), node.c_str())
          : kvStore_UpdateString(&revision, *kv, key.c_str(), node.c_str(),
                                 expected_revision);
  if (s != NATS_OK) {
    if (s == NATS_ERR) {
      return absl::AbortedError(absl::StrCat(
          "the placement of trust ", tenant, " changed (expected revision ",
          expected_revision, "); read it again and retry"));
    }
    return bus::NatsError(absl::StrCat("setting the owner of ", tenant), s);
  }
  Apply(key, node, revision, false);
  return OwnerOf(tenant);
}

}  // namespace throughline::services::cluster
