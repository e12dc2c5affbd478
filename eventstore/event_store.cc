#include "eventstore/event_store.h"

#include <openssl/sha.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/errors.h"
#include "eventstore/format.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"

namespace throughline::eventstore {
namespace {

constexpr char kDefaultContentType[] = "application/octet-stream";
// Stream heads the committer keeps in memory before starting afresh.
constexpr size_t kMaxCachedStreams = 1 << 20;
// Most log entries one ReadLog examines, so a sparse filter cannot turn one
// call into a scan of the whole log.
constexpr size_t kMaxExaminedPerRead = 100000;

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", status.ToString()));
}

void AppendLengthPrefixed(std::string* dst, absl::string_view value) {
  PutFixed64BigEndian(dst, value.size());
  dst->append(value.data(), value.size());
}

// Digest of what makes two appends of one event id "the same event".
Digest ContentDigest(absl::string_view stream, const ProposedEvent& event) {
  std::string buf;
  AppendLengthPrefixed(&buf, stream);
  AppendLengthPrefixed(&buf, event.type);
  AppendLengthPrefixed(&buf, event.content_type);
  AppendLengthPrefixed(&buf, event.data);
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(buf.data()), buf.size(),
         digest.data());
  return digest;
}

absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

std::string PositionValue(uint64_t position) {
  std::string value;
  PutFixed64BigEndian(&value, position);
  return value;
}

// The smallest key greater than every key starting with `prefix`.
std::string PrefixEnd(std::string prefix) {
  prefix.append(9, '\xff');
  return prefix;
}

// Calls start(done) and blocks until the committer has called done.
template <typename Start>
absl::StatusOr<AppendResult> WaitFor(const Start& start) {
  absl::Mutex mu;
  std::optional<absl::StatusOr<AppendResult>> outcome;
  start([&](absl::StatusOr<AppendResult> result) {
    absl::MutexLock lock(&mu);
    outcome = std::move(result);
  });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](std::optional<absl::StatusOr<AppendResult>>* o) {
        return o->has_value();
      },
      &outcome));
  return std::move(*outcome);
}

}  // namespace

std::shared_ptr<const StorageMemory> NewStorageMemory(
    size_t block_cache_bytes, size_t write_buffer_bytes) {
  auto memory = std::make_shared<StorageMemory>();
  memory->cache = rocksdb::NewLRUCache(block_cache_bytes + write_buffer_bytes);
  memory->write_buffers = std::make_shared<rocksdb::WriteBufferManager>(
      write_buffer_bytes, memory->cache);
  return memory;
}

std::string ExpectedRevision::ToString() const {
  switch (kind) {
    case Kind::kAny:
      return "any";
    case Kind::kNoStream:
      return "no_stream";
    case Kind::kStreamExists:
      return "stream_exists";
    case Kind::kExact:
      return absl::StrCat(revision);
  }
  return "any";
}

bool LogFilter::Matches(const EventRecord& record) const {
  if (!types.empty() &&
      std::find(types.begin(), types.end(), record.type()) == types.end()) {
    return false;
  }
  if (!categories.empty()) {
    const absl::string_view category = StreamCategory(record.stream());
    if (std::find(categories.begin(), categories.end(), category) ==
        categories.end()) {
      return false;
    }
  }
  return true;
}

bool LogFilter::Matches(const EventRecordView& record) const {
  if (!types.empty() &&
      std::find(types.begin(), types.end(), record.type) == types.end()) {
    return false;
  }
  if (!categories.empty()) {
    const absl::string_view category = StreamCategory(record.stream);
    if (std::find(categories.begin(), categories.end(), category) ==
        categories.end()) {
      return false;
    }
  }
  return true;
}

class EventStore::Impl {
 public:
  explicit Impl(const EventStoreOptions& options) : options_(options) {}

  ~Impl() {
    Shutdown();
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      db_->DestroyColumnFamilyHandle(handle);
    }
    if (db_ != nullptr) {
      db_->Close().PermitUncheckedError();
      delete db_;
    }
  }

  absl::Status Open();
  void AppendAsync(AppendRequest request, AppendCallback done);
  absl::StatusOr<std::vector<RecordedEvent>> ReadStream(
      const std::string& tenant, const std::string& stream,
      uint64_t from_revision, bool backwards, size_t max_count,
      size_t max_bytes) const;
  absl::StatusOr<LogPage> ReadLog(const std::string& tenant,
                                  uint64_t from_position,
                                  const LogFilter& filter, size_t max_count,
                                  size_t max_bytes) const;
  absl::StatusOr<LogScan> ScanLog(const std::string& tenant,
                                  uint64_t from_position,
                                  const LogFilter& filter, size_t max_count,
                                  size_t max_bytes,
                                  const LogVisitor& visit) const;
  absl::StatusOr<StreamInfo> GetStreamInfo(const std::string& tenant,
                                           const std::string& stream) const;
  absl::StatusOr<std::optional<RecordedEvent>> FindEvent(
      const std::string& tenant, const std::string& event_id) const;
  absl::StatusOr<uint64_t> HeadPosition(const std::string& tenant) const;
  absl::StatusOr<std::vector<std::string>> ListTenants() const;
  absl::Status PutSecret(const std::string& tenant, const std::string& name,
                         const std::string& value);
  absl::StatusOr<std::optional<std::string>> GetSecret(
      const std::string& tenant, const std::string& name) const;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListSecrets(
      const std::string& tenant, const std::string& name_prefix) const;
  absl::StatusOr<size_t> DestroySecrets(const std::string& tenant,
                                        const std::string& name_prefix);
  absl::StatusOr<VerifyReport> Verify(const VerifyOptions& options) const;
  absl::StatusOr<std::pair<uint64_t, ChainHash>> ChainHead(
      const std::string& tenant) const;
  uint64_t CommitCount() const {
    absl::MutexLock lock(&mu_);
    return commit_count_;
  }
  uint64_t WaitForCommit(uint64_t seen, absl::Time deadline) const;
  EventStoreStats Stats() const {
    absl::MutexLock lock(&mu_);
    return stats_;
  }
  std::optional<uint64_t> GetIntProperty(const std::string& property) const {
    uint64_t value = 0;
    if (!db_->GetAggregatedIntProperty(property, &value)) return std::nullopt;
    return value;
  }
  absl::StatusOr<BackupOutcome> Backup(const std::string& backup_dir,
                                       const std::string& metadata) {
    return BackupRocksDb(db_, backup_dir, metadata);
  }
  absl::StatusOr<uint64_t> WaitForPosition(const std::string& tenant,
                                           uint64_t position,
                                           absl::Time deadline) const;
  void Shutdown();
  const EventStoreOptions& options() const { return options_; }
  absl::StatusOr<uint64_t> ImportEvents(const std::string& tenant,
                                        std::vector<ImportedEvent> events);
  absl::StatusOr<uint64_t> FreezeTenant(const std::string& tenant);
  void ThawTenant(const std::string& tenant);

 private:
  // An accepted append waiting for the committer.
  struct Pending {
    AppendRequest request;
    std::vector<Uuid> ids;
    std::vector<Digest> digests;
    AppendCallback done;
    // An ImportEvents call instead of an append (request.tenant is set,
    // request.events is empty): the events and their decoded records.
    std::vector<ImportedEvent> imported;
    std::vector<EventRecord> imported_records;
  };

  // State of the group being committed: what the appends before the current
  // one in the group have assigned, on top of the committed state.
  struct GroupState {
    absl::flat_hash_map<std::string, uint64_t> heads;      // tenant
    absl::flat_hash_map<std::string, StreamInfo> streams;  // stream prefix
    absl::flat_hash_map<std::string, IdEntry> ids;         // id key
    absl::flat_hash_map<std::string, ChainHash> chains;    // tenant
    rocksdb::WriteBatch batch;
  };

  absl::Status Validate(const AppendRequest& request, Pending* pending) const;
  // Queues `pending` for the committer, or completes `done` with the reason
  // it cannot be queued.
  void Enqueue(Pending pending, AppendCallback done);
  absl::Status ValidateImport(Pending* pending) const;
  absl::StatusOr<AppendResult> PrepareImport(const Pending& pending,
                                             GroupState* group);
  void CommitLoop();
  void CommitGroup(std::deque<Pending>& group);
  absl::StatusOr<AppendResult> Prepare(const Pending& pending,
                                       int64_t recorded_micros,
                                       GroupState* group);
  absl::StatusOr<std::optional<IdEntry>> LookupId(const std::string& key,
                                                  const GroupState& group);
  absl::StatusOr<std::optional<StreamInfo>> LookupStream(
      const std::string& tenant, const std::string& stream,
      const GroupState& group);
  absl::StatusOr<std::optional<StreamInfo>> ReadStreamInfo(
      const std::string& tenant, const std::string& stream) const;
  // The committed head of `tenant`, loading it from the log on first use.
  absl::StatusOr<uint64_t> HeadLocked(const std::string& tenant) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Hash chain (see format.h). Called from Open: brings a version 1 store
  // to version 2 by computing every tenant's chain, then loads each
  // tenant's head hash into chain_heads_.
  absl::Status OpenChain();
  absl::Status ComputeChain(const std::string& tenant);
  // The chain hash stored at `position` (genesis for 0); nullopt when none.
  absl::StatusOr<std::optional<ChainHash>> StoredChainHash(
      const std::string& tenant, uint64_t position) const;
  // Committer: chain(head) for the next append of `tenant`.
  absl::StatusOr<ChainHash> LookupChain(const std::string& tenant,
                                        uint64_t head, const GroupState& group);

  const EventStoreOptions options_;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* log_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* ids_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* secrets_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* chain_cf_ = nullptr;

  mutable absl::Mutex mu_;
  // Committed head position per tenant seen so far.
  mutable absl::flat_hash_map<std::string, uint64_t> heads_
      ABSL_GUARDED_BY(mu_);
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  // Committed groups since the store opened.
  uint64_t commit_count_ ABSL_GUARDED_BY(mu_) = 0;
  // Appends and imports queued, and completed, since the store opened: a
  // freeze waits for the second to reach the first.
  uint64_t enqueued_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<std::string> frozen_ ABSL_GUARDED_BY(mu_);
  EventStoreStats stats_ ABSL_GUARDED_BY(mu_);
  // Held while joining the committer, so that concurrent Shutdowns wait for
  // one join instead of joining the same thread twice.
  absl::Mutex join_mu_;
  bool stopped_ ABSL_GUARDED_BY(join_mu_) = false;  // Set once joined.

  // Committer thread only: last known revision of recently used streams.
  absl::flat_hash_map<std::string, StreamInfo> stream_cache_;
  // Committer thread only (and Open, before it starts): chain(head) of each
  // tenant, exactly as committed.
  absl::flat_hash_map<std::string, ChainHash> chain_heads_;
  std::thread committer_;
};

absl::Status EventStore::Impl::Open() {
  std::shared_ptr<const StorageMemory> memory = options_.memory;
  if (memory == nullptr) {
    memory = NewStorageMemory(options_.block_cache_bytes,
                              options_.write_buffer_bytes);
  }
  auto table_options = rocksdb::BlockBasedTableOptions();
  table_options.block_cache = memory->cache;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  // Point lookups (ids, stream heads) dominate; the log is read in order.
  cf_options.compression = rocksdb::kNoCompression;

  // The ids column family is only read by point lookups of whole keys, most
  // of them for ids that are new (every append checks each of its ids), and
  // random UUIDs make each skiplist walk a string of cache misses. A hash
  // memtable finds the key's bucket directly, and a memtable Bloom filter
  // answers "not there" without touching it. The prefix is the whole key.
  rocksdb::ColumnFamilyOptions ids_options = cf_options;
  ids_options.prefix_extractor.reset(
      rocksdb::NewCappedPrefixTransform(kMaxTenantLength + 1 + 16));
  ids_options.memtable_factory.reset(
      rocksdb::NewHashSkipListRepFactory(1 << 20));
  ids_options.memtable_prefix_bloom_size_ratio = 0.05;
  ids_options.memtable_whole_key_filtering = true;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.write_buffer_manager = memory->write_buffers;
  // Required by the hash memtable; writes come from the one committer.
  db_options.allow_concurrent_memtable_write = false;

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {kLogColumnFamily, cf_options},
      {kStreamsColumnFamily, cf_options},
      {kIdsColumnFamily, ids_options},
      {kSecretsColumnFamily, cf_options},
      {kChainColumnFamily, cf_options},
  };
  rocksdb::Status status =
      rocksdb::DB::Open(db_options, options_.path, families, &handles_, &db_);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot open event store at ", options_.path, ": ", status.ToString()));
  }
  log_cf_ = handles_[1];
  streams_cf_ = handles_[2];
  ids_cf_ = handles_[3];
  secrets_cf_ = handles_[4];
  chain_cf_ = handles_[5];

  if (absl::Status s = OpenChain(); !s.ok()) return s;
  committer_ = std::thread([this] { CommitLoop(); });
  return absl::OkStatus();
}

absl::Status EventStore::Impl::Validate(const AppendRequest& request,
                                        Pending* pending) const {
  if (absl::Status s = ValidateTenant(request.tenant); !s.ok()) return s;
  if (absl::Status s = ValidateStreamName(request.stream, "stream"); !s.ok()) {
    return s;
  }
  if (request.events.empty()) {
    return InvalidField("events", "an append needs at least one event");
  }
  if (request.events.size() > options_.max_events_per_append) {
    return InvalidField(
        "events", absl::StrCat(request.events.size(),
                               " events is more than the limit of ",
                               options_.max_events_per_append, " per append"));
  }
  absl::flat_hash_set<Uuid> seen;
  for (size_t i = 0; i < request.events.size(); ++i) {
    const ProposedEvent& event = request.events[i];
    const std::string field = absl::StrCat("events[", i, "]");
    std::optional<Uuid> id = ParseUuid(event.event_id);
    if (!id) {
      return InvalidField(
          absl::StrCat(field, ".event_id"),
          absl::StrCat("\"", absl::CEscape(event.event_id.substr(0, 64)),
                       "\" is not a UUID (expected the form "
                       "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"));
    }
    if (!seen.insert(*id).second) {
      return InvalidField(absl::StrCat(field, ".event_id"),
                          "the same event id appears twice in one append");
    }
    if (absl::Status s =
            ValidateEventType(event.type, absl::StrCat(field, ".type"));
        !s.ok()) {
      return s;
    }
    if (event.content_type.size() > kMaxContentTypeLength) {
      return InvalidField(
          absl::StrCat(field, ".content_type"),
          absl::StrCat("longer than ", kMaxContentTypeLength, " characters"));
    }
    if (event.data.size() > options_.max_event_data_bytes) {
      return InvalidField(
          absl::StrCat(field, ".data"),
          absl::StrCat(event.data.size(), " bytes is more than the limit of ",
                       options_.max_event_data_bytes, " bytes"));
    }
    const std::pair<const char*, const std::string*> metadata[] = {
        {"correlation_id", &event.correlation_id},
        {"causation_id", &event.causation_id},
        {"actor", &event.actor},
        {"source_platform", &event.source_platform},
    };
    for (const auto& [name, value] : metadata) {
      if (value->size() > kMaxMetadataFieldLength) {
        return InvalidField(
            absl::StrCat(field, ".metadata.", name),
            absl::StrCat("longer than ", kMaxMetadataFieldLength,
                         " characters"));
      }
    }
    if (event.occurred_at.has_value() &&
        (*event.occurred_at == absl::InfinitePast() ||
         *event.occurred_at == absl::InfiniteFuture())) {
      return InvalidField(absl::StrCat(field, ".occurred_at"),
                          "must be a finite time");
    }
    pending->ids.push_back(*id);
  }
  return absl::OkStatus();
}

void EventStore::Impl::AppendAsync(AppendRequest request, AppendCallback done) {
  Pending pending;
  if (absl::Status s = Validate(request, &pending); !s.ok()) {
    done(s);
    return;
  }
  for (ProposedEvent& event : request.events) {
    if (event.content_type.empty()) event.content_type = kDefaultContentType;
    pending.digests.push_back(ContentDigest(request.stream, event));
  }
  pending.request = std::move(request);
  Enqueue(std::move(pending), std::move(done));
}

void EventStore::Impl::Enqueue(Pending pending, AppendCallback done) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      refused = absl::UnavailableError(
          "the event store is shutting down; nothing was appended");
    } else if (queue_.size() >= options_.max_queued_appends) {
      refused = absl::ResourceExhaustedError(
          "too many appends waiting to be committed; retry shortly");
    } else if (frozen_.contains(pending.request.tenant)) {
      refused = absl::UnavailableError(
          absl::StrCat("tenant ", pending.request.tenant,
                       " is frozen while it is handed over to another "
                       "store; nothing was appended"));
    } else {
      pending.done = std::move(done);
      queue_.push_back(std::move(pending));
      ++enqueued_;
      return;
    }
  }
  // Outside mu_, so that `done` may read the store.
  done(refused);
}

void EventStore::Impl::CommitLoop() {
  for (;;) {
    std::deque<Pending> group;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Impl* impl) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !impl->queue_.empty() || impl->shutting_down_;
          },
          this));
      if (queue_.empty()) return;  // Shutting down and drained.
      group.swap(queue_);
    }
    const size_t count = group.size();
    CommitGroup(group);
    absl::MutexLock lock(&mu_);
    completed_ += count;
  }
}

absl::StatusOr<std::optional<IdEntry>> EventStore::Impl::LookupId(
    const std::string& key, const GroupState& group) {
  if (auto it = group.ids.find(key); it != group.ids.end()) return it->second;
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), ids_cf_, key, &value);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) return FromRocks(status, "reading event id");
  std::optional<IdEntry> entry = DecodeIdEntry(value);
  if (!entry) return absl::DataLossError("corrupt event id entry");
  return entry;
}

absl::StatusOr<std::optional<StreamInfo>> EventStore::Impl::ReadStreamInfo(
    const std::string& tenant, const std::string& stream) const {
  const std::string prefix = StreamPrefix(tenant, stream);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), streams_cf_));
  it->SeekForPrev(
      StreamKey(tenant, stream, std::numeric_limits<uint64_t>::max()));
  if (!it->Valid()) {
    if (absl::Status s = FromRocks(it->status(), "reading stream"); !s.ok()) {
      return s;
    }
    return std::nullopt;
  }
  const rocksdb::Slice key = it->key();
  if (!key.starts_with(prefix) || key.size() != prefix.size() + 8) {
    return std::nullopt;
  }
  StreamInfo info;
  info.revision = RevisionFromStreamKey(View(key));
  info.last_position = DecodeFixed64BigEndian(View(it->value()));
  return info;
}

absl::StatusOr<std::optional<StreamInfo>> EventStore::Impl::LookupStream(
    const std::string& tenant, const std::string& stream,
    const GroupState& group) {
  const std::string prefix = StreamPrefix(tenant, stream);
  if (auto it = group.streams.find(prefix); it != group.streams.end()) {
    return it->second;
  }
  if (auto it = stream_cache_.find(prefix); it != stream_cache_.end()) {
    return it->second;
  }
  absl::StatusOr<std::optional<StreamInfo>> info =
      ReadStreamInfo(tenant, stream);
  if (info.ok() && info->has_value()) {
    if (stream_cache_.size() >= kMaxCachedStreams) stream_cache_.clear();
    stream_cache_[prefix] = **info;
  }
  return info;
}

absl::StatusOr<AppendResult> EventStore::Impl::Prepare(const Pending& pending,
                                                       int64_t recorded_micros,
                                                       GroupState* group) {
  const AppendRequest& request = pending.request;
  const size_t count = request.events.size();

  // Idempotency: every id already stored (same content) means a retry.
  std::vector<std::string> id_keys;
  id_keys.reserve(count);
  size_t stored_count = 0;
  std::optional<IdEntry> first_stored, last_stored;
  size_t first_new = count;
  for (size_t i = 0; i < count; ++i) {
    id_keys.push_back(IdKey(request.tenant, pending.ids[i]));
    absl::StatusOr<std::optional<IdEntry>> entry =
        LookupId(id_keys.back(), *group);
    if (!entry.ok()) return entry.status();
    if (!entry->has_value()) {
      first_new = std::min(first_new, i);
      continue;
    }
    if ((*entry)->digest != pending.digests[i]) {
      return FieldError(
          absl::StatusCode::kAlreadyExists,
          absl::StrCat("events[", i, "].event_id"),
          absl::StrCat("event ", request.events[i].event_id,
                       " is already stored at position ", (*entry)->position,
                       " with different content"));
    }
    if (!first_stored) first_stored = **entry;
    last_stored = **entry;
    ++stored_count;
  }
  if (stored_count == count) {
    AppendResult result;
    result.first_position = first_stored->position;
    result.first_revision = first_stored->revision;
    result.last_position = last_stored->position;
    result.last_revision = last_stored->revision;
    result.already_stored = true;
    return result;
  }
  if (stored_count > 0) {
    return FieldError(
        absl::StatusCode::kAlreadyExists,
        absl::StrCat("events[", first_new, "].event_id"),
        absl::StrCat("some events of this append are already stored and this "
                     "one is not; retry the original append unchanged"));
  }

  // Optimistic concurrency.
  absl::StatusOr<std::optional<StreamInfo>> current =
      LookupStream(request.tenant, request.stream, *group);
  if (!current.ok()) return current.status();
  const bool exists = current->has_value();
  bool holds = true;
  switch (request.expected.kind) {
    case ExpectedRevision::Kind::kAny:
      break;
    case ExpectedRevision::Kind::kNoStream:
      holds = !exists;
      break;
    case ExpectedRevision::Kind::kStreamExists:
      holds = exists;
      break;
    case ExpectedRevision::Kind::kExact:
      holds = exists && (*current)->revision == request.expected.revision;
      break;
  }
  if (!holds) {
    RevisionConflict conflict;
    conflict.stream = request.stream;
    conflict.expected = request.expected.ToString();
    conflict.stream_exists = exists;
    conflict.actual_revision = exists ? (*current)->revision : 0;
    return RevisionConflictError(conflict);
  }

  // Assign revisions and positions and stage the writes.
  uint64_t head;
  if (auto it = group->heads.find(request.tenant); it != group->heads.end()) {
    head = it->second;
  } else {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<uint64_t> committed = HeadLocked(request.tenant);
    if (!committed.ok()) return committed.status();
    head = *committed;
  }
  absl::StatusOr<ChainHash> chain = LookupChain(request.tenant, head, *group);
  if (!chain.ok()) return chain.status();
  AppendResult result;
  result.first_revision = exists ? (*current)->revision + 1 : 0;
  result.first_position = head + 1;
  EventRecord record;
  std::string value;
  for (size_t i = 0; i < count; ++i) {
    const ProposedEvent& event = request.events[i];
    const uint64_t revision = result.first_revision + i;
    const uint64_t position = result.first_position + i;
    record.Clear();
    record.set_event_id(pending.ids[i].data(), pending.ids[i].size());
    record.set_type(event.type);
    record.set_content_type(event.content_type);
    record.set_data(event.data);
    record.set_correlation_id(event.correlation_id);
    record.set_causation_id(event.causation_id);
    record.set_actor(event.actor);
    record.set_source_platform(event.source_platform);
    record.set_occurred_at_micros(event.occurred_at.has_value()
                                      ? absl::ToUnixMicros(*event.occurred_at)
                                      : recorded_micros);
    record.set_recorded_at_micros(recorded_micros);
    record.set_stream(request.stream);
    record.set_revision(revision);
    record.SerializeToString(&value);

    group->batch.Put(log_cf_, LogKey(request.tenant, position), value);
    *chain = NextChainHash(*chain, value);
    group->batch.Put(chain_cf_, LogKey(request.tenant, position),
                     EncodeChainHash(*chain));
    group->batch.Put(streams_cf_,
                     StreamKey(request.tenant, request.stream, revision),
                     PositionValue(position));
    IdEntry entry{position, revision, pending.digests[i]};
    group->batch.Put(ids_cf_, id_keys[i], EncodeIdEntry(entry));
    group->ids[id_keys[i]] = entry;
  }
  result.last_revision = result.first_revision + count - 1;
  result.last_position = result.first_position + count - 1;
  group->heads[request.tenant] = result.last_position;
  group->chains[request.tenant] = *chain;
  group->streams[StreamPrefix(request.tenant, request.stream)] =
      StreamInfo{result.last_revision, result.last_position};
  return result;
}

void EventStore::Impl::CommitGroup(std::deque<Pending>& group) {
  GroupState state;
  const int64_t recorded_micros = absl::ToUnixMicros(absl::Now());
  std::vector<absl::StatusOr<AppendResult>> outcomes;
  outcomes.reserve(group.size());
  for (const Pending& pending : group) {
    outcomes.push_back(pending.imported.empty()
                           ? Prepare(pending, recorded_micros, &state)
                           : PrepareImport(pending, &state));
  }
  CommitStats commit;
  if (state.batch.Count() > 0) {
    rocksdb::WriteOptions write_options;
    write_options.sync = options_.sync;
    const absl::Time write_start = absl::Now();
    absl::Status written =
        FromRocks(db_->Write(write_options, &state.batch), "writing events");
    commit.write_time = absl::Now() - write_start;
    commit.write_failed = !written.ok();
    if (!written.ok()) {
      // An "already stored" answer may rest on an append of this very
      // group, so every success of the group is withdrawn.
      for (auto& outcome : outcomes) {
        if (outcome.ok()) outcome = written;
      }
      // Committed state is unchanged; forget what this group assumed.
      stream_cache_.clear();
      state.heads.clear();
      state.streams.clear();
      state.chains.clear();
    }
    for (auto& [tenant, chain] : state.chains) chain_heads_[tenant] = chain;
    for (auto& [prefix, info] : state.streams) {
      if (stream_cache_.size() >= kMaxCachedStreams) stream_cache_.clear();
      stream_cache_[prefix] = info;
    }
    for (size_t i = 0; i < group.size(); ++i) {
      if (!outcomes[i].ok()) {
        ++commit.refused;
      } else if (!outcomes[i]->already_stored) {
        // An import counts as one append of the events it wrote.
        ++commit.appends;
        commit.events += group[i].imported.empty()
                             ? group[i].request.events.size()
                             : group[i].imported.size();
      }
    }
    absl::MutexLock lock(&mu_);
    for (const auto& [tenant, head] : state.heads) heads_[tenant] = head;
    if (!state.heads.empty()) ++commit_count_;
    ++stats_.groups;
    stats_.appends += commit.appends;
    stats_.events += commit.events;
    stats_.refused_appends += commit.refused;
    if (commit.write_failed) ++stats_.failed_writes;
  } else {
    for (const auto& outcome : outcomes) {
      if (!outcome.ok()) ++commit.refused;
    }
    absl::MutexLock lock(&mu_);
    stats_.refused_appends += commit.refused;
  }
  if (state.batch.Count() > 0 && options_.on_commit) options_.on_commit(commit);
  for (size_t i = 0; i < group.size(); ++i) {
    group[i].done(std::move(outcomes[i]));
  }
}

absl::StatusOr<uint64_t> EventStore::Impl::HeadLocked(
    const std::string& tenant) const {
  if (auto it = heads_.find(tenant); it != heads_.end()) return it->second;
  // Nothing of this tenant has been committed since the store opened, and
  // only the committer writes (it takes mu_ before its first write for a
  // tenant), so the log's last key is the head.
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), log_cf_));
  const std::string prefix = TenantPrefix(tenant);
  it->SeekForPrev(LogKey(tenant, std::numeric_limits<uint64_t>::max()));
  uint64_t head = 0;
  if (it->Valid()) {
    if (it->key().starts_with(prefix) &&
        it->key().size() == prefix.size() + 8) {
      head = PositionFromLogKey(View(it->key()));
    }
  } else if (absl::Status s = FromRocks(it->status(), "reading log head");
             !s.ok()) {
    return s;
  }
  heads_[tenant] = head;
  return head;
}

absl::StatusOr<uint64_t> EventStore::Impl::HeadPosition(
    const std::string& tenant) const {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return HeadLocked(tenant);
}

absl::StatusOr<uint64_t> EventStore::Impl::WaitForPosition(
    const std::string& tenant, uint64_t position, absl::Time deadline) const {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<uint64_t> head = HeadLocked(tenant);
  if (!head.ok() || *head >= position) return head;
  // heads_ may rehash while we wait, so look the tenant up afresh each time.
  struct Reached {
    const Impl* impl;
    const std::string* tenant;
    uint64_t position;
    bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return impl->heads_.at(*tenant) >= position || impl->shutting_down_;
    }
  } reached{this, &tenant, position};
  mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
  const uint64_t now_head = heads_.at(tenant);
  if (now_head < position && shutting_down_) {
    return absl::UnavailableError("the event store is shutting down");
  }
  return now_head;
}

absl::StatusOr<std::vector<RecordedEvent>> EventStore::Impl::ReadStream(
    const std::string& tenant, const std::string& stream,
    uint64_t from_revision, bool backwards, size_t max_count,
    size_t max_bytes) const {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateStreamName(stream, "stream"); !s.ok()) return s;
  const std::string prefix = StreamPrefix(tenant, stream);
  const std::string upper = PrefixEnd(prefix);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(read_options, streams_cf_));
  const std::string start = StreamKey(tenant, stream, from_revision);
  if (backwards) {
    it->SeekForPrev(start);
  } else {
    it->Seek(start);
  }
  std::vector<RecordedEvent> events;
  std::string value;
  size_t bytes = 0;
  for (; it->Valid() && events.size() < max_count && bytes < max_bytes;
       backwards ? it->Prev() : it->Next()) {
    if (!it->key().starts_with(prefix) ||
        it->key().size() != prefix.size() + 8) {
      break;
    }
    RecordedEvent event;
    event.position = DecodeFixed64BigEndian(View(it->value()));
    rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), log_cf_,
                                      LogKey(tenant, event.position), &value);
    if (!status.ok()) return FromRocks(status, "reading stream event");
    if (!event.record.ParseFromString(value)) {
      return absl::DataLossError(absl::StrCat(
          "event at position ", event.position, " cannot be decoded"));
    }
    bytes += event.record.data().size();
    events.push_back(std::move(event));
  }
  if (absl::Status s = FromRocks(it->status(), "reading stream"); !s.ok()) {
    return s;
  }
  if (events.empty()) {
    absl::StatusOr<std::optional<StreamInfo>> info =
        ReadStreamInfo(tenant, stream);
    if (!info.ok()) return info.status();
    if (!info->has_value()) {
      return FieldError(absl::StatusCode::kNotFound, "stream",
                        absl::StrCat("stream \"", stream, "\" has no events"));
    }
  }
  return events;
}

absl::StatusOr<LogPage> EventStore::Impl::ReadLog(const std::string& tenant,
                                                  uint64_t from_position,
                                                  const LogFilter& filter,
                                                  size_t max_count,
                                                  size_t max_bytes) const {
  LogPage page;
  absl::StatusOr<LogScan> scan =
      ScanLog(tenant, from_position, filter, max_count, max_bytes,
              [&page](uint64_t position, const EventRecordView& view) {
                RecordedEvent& event = page.events.emplace_back();
                event.position = position;
                EventRecord& record = event.record;
                record.set_event_id(view.event_id.data(), view.event_id.size());
                record.set_type(view.type.data(), view.type.size());
                record.set_content_type(view.content_type.data(),
                                        view.content_type.size());
                record.set_data(view.data.data(), view.data.size());
                record.set_correlation_id(view.correlation_id.data(),
                                          view.correlation_id.size());
                record.set_causation_id(view.causation_id.data(),
                                        view.causation_id.size());
                record.set_actor(view.actor.data(), view.actor.size());
                record.set_source_platform(view.source_platform.data(),
                                           view.source_platform.size());
                record.set_occurred_at_micros(view.occurred_at_micros);
                record.set_recorded_at_micros(view.recorded_at_micros);
                record.set_stream(view.stream.data(), view.stream.size());
                record.set_revision(view.revision);
                return absl::OkStatus();
              });
  if (!scan.ok()) return scan.status();
  page.next_position = scan->next_position;
  page.head_position = scan->head_position;
  return page;
}

absl::StatusOr<LogScan> EventStore::Impl::ScanLog(
    const std::string& tenant, uint64_t from_position, const LogFilter& filter,
    size_t max_count, size_t max_bytes, const LogVisitor& visit) const {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  LogScan scan;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<uint64_t> head = HeadLocked(tenant);
    if (!head.ok()) return head.status();
    scan.head_position = *head;
  }
  const uint64_t start = std::max<uint64_t>(from_position, 1);
  scan.next_position = start;
  if (start > scan.head_position) return scan;

  // Only committed positions are read, so a page never shows a gap.
  const std::string upper = LogKey(tenant, scan.head_position + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(read_options, log_cf_));
  size_t examined = 0, bytes = 0, count = 0;
  EventRecordView view;
  for (it->Seek(LogKey(tenant, start));
       it->Valid() && count < max_count && bytes < max_bytes &&
       examined < kMaxExaminedPerRead;
       it->Next()) {
    ++examined;
    const uint64_t position = PositionFromLogKey(View(it->key()));
    if (!ParseEventRecordView(View(it->value()), &view)) {
      return absl::DataLossError(
          absl::StrCat("event at position ", position, " cannot be decoded"));
    }
    scan.next_position = position + 1;
    if (!filter.Matches(view)) continue;
    bytes += view.data.size();
    ++count;
    if (absl::Status s = visit(position, view); !s.ok()) return s;
  }
  if (absl::Status s = FromRocks(it->status(), "reading log"); !s.ok()) {
    return s;
  }
  if (!it->Valid() && examined > 0) {
    // Reached the head: everything up to it has been examined.
    scan.next_position = scan.head_position + 1;
  }
  return scan;
}

absl::StatusOr<StreamInfo> EventStore::Impl::GetStreamInfo(
    const std::string& tenant, const std::string& stream) const {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateStreamName(stream, "stream"); !s.ok()) return s;
  absl::StatusOr<std::optional<StreamInfo>> info =
      ReadStreamInfo(tenant, stream);
  if (!info.ok()) return info.status();
  if (!info->has_value()) {
    return FieldError(absl::StatusCode::kNotFound, "stream",
                      absl::StrCat("stream \"", stream, "\" has no events"));
  }
  return **info;
}

absl::StatusOr<std::vector<std::string>> EventStore::Impl::ListTenants() const {
  std::vector<std::string> tenants;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), log_cf_));
  // Each step jumps past the whole key range of the tenant just found.
  for (it->SeekToFirst(); it->Valid();) {
    const absl::string_view key = View(it->key());
    const size_t separator = key.find('\0');
    if (separator == absl::string_view::npos) {
      return absl::DataLossError("log key without a tenant prefix");
    }
    tenants.emplace_back(key.substr(0, separator));
    it->Seek(PrefixEnd(TenantPrefix(tenants.back())));
  }
  if (absl::Status s = FromRocks(it->status(), "listing tenants"); !s.ok()) {
    return s;
  }
  return tenants;
}

namespace {

absl::Status ValidateSecretName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxSecretNameLength) {
    return InvalidField(
        "name", absl::StrCat("must be 1-", kMaxSecretNameLength, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status EventStore::Impl::PutSecret(const std::string& tenant,
                                         const std::string& name,
                                         const std::string& value) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateSecretName(name); !s.ok()) return s;
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  return FromRocks(
      db_->Put(write_options, secrets_cf_, SecretKey(tenant, name), value),
      "writing secret");
}

absl::StatusOr<std::optional<std::string>> EventStore::Impl::GetSecret(
    const std::string& tenant, const std::string& name) const {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateSecretName(name); !s.ok()) return s;
  std::string value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), secrets_cf_,
                                    SecretKey(tenant, name), &value);
  if (status.IsNotFound()) return std::nullopt;
  if (absl::Status s = FromRocks(status, "reading secret"); !s.ok()) return s;
  return value;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
EventStore::Impl::ListSecrets(const std::string& tenant,
                              const std::string& name_prefix) const {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  const std::string prefix = SecretKey(tenant, name_prefix);
  const size_t name_start = TenantPrefix(tenant).size();
  std::vector<std::pair<std::string, std::string>> secrets;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), secrets_cf_));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const absl::string_view key = View(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    secrets.emplace_back(std::string(key.substr(name_start)),
                         std::string(View(it->value())));
  }
  if (absl::Status s = FromRocks(it->status(), "listing secrets"); !s.ok()) {
    return s;
  }
  return secrets;
}

absl::StatusOr<size_t> EventStore::Impl::DestroySecrets(
    const std::string& tenant, const std::string& name_prefix) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> secrets =
      ListSecrets(tenant, name_prefix);
  if (!secrets.ok()) return secrets.status();
  rocksdb::WriteBatch batch;
  for (const auto& [name, value] : *secrets) {
    if (absl::Status s =
            FromRocks(batch.Delete(secrets_cf_, SecretKey(tenant, name)),
                      "deleting secret");
        !s.ok()) {
      return s;
    }
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  if (absl::Status s =
          FromRocks(db_->Write(write_options, &batch), "deleting secrets");
      !s.ok()) {
    return s;
  }
  // A write-ahead log file is deleted only once every column family that
  // has data in it is flushed, so flush them all, not just "secrets".
  rocksdb::FlushOptions flush_options;
  flush_options.wait = true;
  if (absl::Status s =
          FromRocks(db_->Flush(flush_options, handles_), "flushing");
      !s.ok()) {
    return s;
  }
  // Compacting to the last level drops the deleted values and their
  // tombstones, and deletes the table files that held them.
  rocksdb::CompactRangeOptions compact_options;
  compact_options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  if (absl::Status s = FromRocks(
          db_->CompactRange(compact_options, secrets_cf_, nullptr, nullptr),
          "compacting secrets");
      !s.ok()) {
    return s;
  }
  return secrets->size();
}

uint64_t EventStore::Impl::WaitForCommit(uint64_t seen,
                                         absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  struct Moved {
    const Impl* impl;
    uint64_t seen;
    bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return impl->commit_count_ > seen || impl->shutting_down_;
    }
  } moved{this, seen};
  mu_.AwaitWithDeadline(absl::Condition(&moved), deadline);
  return commit_count_;
}

absl::StatusOr<std::optional<RecordedEvent>> EventStore::Impl::FindEvent(
    const std::string& tenant, const std::string& event_id) const {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  std::optional<Uuid> id = ParseUuid(event_id);
  if (!id) return InvalidField("event_id", "not a UUID");
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), ids_cf_, IdKey(tenant, *id), &value);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) return FromRocks(status, "reading event id");
  std::optional<IdEntry> entry = DecodeIdEntry(value);
  if (!entry) return absl::DataLossError("corrupt event id entry");
  RecordedEvent event;
  event.position = entry->position;
  status = db_->Get(rocksdb::ReadOptions(), log_cf_,
                    LogKey(tenant, entry->position), &value);
  if (!status.ok()) return FromRocks(status, "reading event");
  if (!event.record.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat(
        "event at position ", event.position, " cannot be decoded"));
  }
  return event;
}

void EventStore::Impl::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  absl::MutexLock lock(&join_mu_);
  if (!stopped_ && committer_.joinable()) committer_.join();
  stopped_ = true;
}

EventStoreStats EventStore::Stats() const { return impl_->Stats(); }

std::optional<uint64_t> EventStore::GetIntProperty(
    const std::string& property) const {
  return impl_->GetIntProperty(property);
}

absl::StatusOr<BackupOutcome> EventStore::Backup(const std::string& backup_dir,
                                                 const std::string& metadata) {
  return impl_->Backup(backup_dir, metadata);
}

// ---------------------------------------------------------------------------
// Hash chain: migration at open, the committer's chain heads, Verify.

absl::string_view ChainFaultName(ChainFault fault) {
  switch (fault) {
    case ChainFault::kContentChanged:
      return "content_changed";
    case ChainFault::kHashChanged:
      return "hash_changed";
    case ChainFault::kChanged:
      return "changed";
    case ChainFault::kMissingEvent:
      return "missing_event";
    case ChainFault::kMissingHash:
      return "missing_hash";
  }
  return "changed";
}

absl::Status EventStore::Impl::OpenChain() {
  std::string version;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), kFormatVersionKey, &version);
  if (!status.ok() && !status.IsNotFound()) {
    return FromRocks(status, "reading format version");
  }
  const bool versioned = status.ok();
  if (versioned && version != kFormatVersion &&
      version != kFormatVersionWithoutChain) {
    return absl::FailedPreconditionError(
        absl::StrCat("event store at ", options_.path, " has format version ",
                     version, "; this build reads version ", kFormatVersion,
                     " (and migrates version ", kFormatVersionWithoutChain,
                     " when it opens it)"));
  }
  absl::StatusOr<std::vector<std::string>> tenants = ListTenants();
  if (!tenants.ok()) return tenants.status();
  if (!versioned || version == kFormatVersionWithoutChain) {
    // A new store has no tenants; a version 1 store gets its chains now.
    // The version is recorded last, so a migration cut short by a crash is
    // simply done again at the next open (it writes the same hashes).
    for (const std::string& tenant : *tenants) {
      if (absl::Status s = ComputeChain(tenant); !s.ok()) return s;
    }
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    if (absl::Status s = FromRocks(
            db_->Put(write_options, kFormatVersionKey, kFormatVersion),
            "writing format version");
        !s.ok()) {
      return s;
    }
  }
  for (const std::string& tenant : *tenants) {
    uint64_t head;
    {
      absl::MutexLock lock(&mu_);
      absl::StatusOr<uint64_t> committed = HeadLocked(tenant);
      if (!committed.ok()) return committed.status();
      head = *committed;
    }
    absl::StatusOr<std::optional<ChainHash>> stored =
        StoredChainHash(tenant, head);
    if (!stored.ok()) return stored.status();
    // A missing head hash is left out: LookupChain refuses that tenant's
    // appends and Verify reports the position.
    if (stored->has_value()) chain_heads_[tenant] = **stored;
  }
  return absl::OkStatus();
}

absl::Status EventStore::Impl::ComputeChain(const std::string& tenant) {
  constexpr size_t kEventsPerBatch = 10000;
  const std::string upper = PrefixEnd(TenantPrefix(tenant));
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(read_options, log_cf_));
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  rocksdb::WriteBatch batch;
  ChainHash chain = kChainGenesis;
  for (it->Seek(TenantPrefix(tenant)); it->Valid(); it->Next()) {
    chain = NextChainHash(chain, View(it->value()));
    batch.Put(chain_cf_, it->key(), EncodeChainHash(chain));
    if (batch.Count() >= static_cast<int>(kEventsPerBatch)) {
      if (absl::Status s =
              FromRocks(db_->Write(write_options, &batch), "writing chain");
          !s.ok()) {
        return s;
      }
      batch.Clear();
    }
  }
  if (absl::Status s = FromRocks(it->status(), "reading log"); !s.ok()) {
    return s;
  }
  return FromRocks(db_->Write(write_options, &batch), "writing chain");
}

absl::StatusOr<std::optional<ChainHash>> EventStore::Impl::StoredChainHash(
    const std::string& tenant, uint64_t position) const {
  if (position == 0) return kChainGenesis;
  std::string value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), chain_cf_,
                                    LogKey(tenant, position), &value);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) return FromRocks(status, "reading chain hash");
  return DecodeChainHash(value);
}

absl::StatusOr<ChainHash> EventStore::Impl::LookupChain(
    const std::string& tenant, uint64_t head, const GroupState& group) {
  if (auto it = group.chains.find(tenant); it != group.chains.end()) {
    return it->second;
  }
  if (auto it = chain_heads_.find(tenant); it != chain_heads_.end()) {
    return it->second;
  }
  absl::StatusOr<std::optional<ChainHash>> stored =
      StoredChainHash(tenant, head);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return absl::DataLossError(absl::StrCat(
        "the chain hash of position ", head,
        " (the head) is missing, so no event can be chained after it; nothing "
        "was appended (run verify)"));
  }
  chain_heads_[tenant] = **stored;
  return **stored;
}

absl::StatusOr<std::pair<uint64_t, ChainHash>> EventStore::Impl::ChainHead(
    const std::string& tenant) const {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  uint64_t head;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<uint64_t> committed = HeadLocked(tenant);
    if (!committed.ok()) return committed.status();
    head = *committed;
  }
  absl::StatusOr<std::optional<ChainHash>> stored =
      StoredChainHash(tenant, head);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return absl::DataLossError(
        absl::StrCat("no chain hash is stored at head position ", head));
  }
  return std::make_pair(head, **stored);
}

absl::StatusOr<VerifyReport> EventStore::Impl::Verify(
    const VerifyOptions& options) const {
  // How often (in events) a page looks at the clock.
  constexpr uint64_t kClockEvery = 1024;
  const std::string& tenant = options.tenant;
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  const uint64_t from = std::max<uint64_t>(options.from_position, 1);
  if (options.to_position != 0 && options.to_position < from) {
    return InvalidField(
        "to_position",
        absl::StrCat(options.to_position, " is before from_position ", from));
  }
  VerifyReport report;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<uint64_t> head = HeadLocked(tenant);
    if (!head.ok()) return head.status();
    report.head_position = *head;
  }
  absl::StatusOr<std::optional<ChainHash>> head_hash =
      StoredChainHash(tenant, report.head_position);
  if (!head_hash.ok()) return head_hash.status();
  report.head_hash = head_hash->value_or(ChainHash{});
  const uint64_t to = options.to_position == 0
                          ? report.head_position
                          : std::min(options.to_position, report.head_position);
  report.first_position = from;
  report.last_position = from - 1;

  ChainHash chain;
  if (options.start_hash.has_value()) {
    chain = *options.start_hash;
  } else {
    absl::StatusOr<std::optional<ChainHash>> start =
        StoredChainHash(tenant, from - 1);
    if (!start.ok()) return start.status();
    if (!start->has_value() && from - 1 <= report.head_position) {
      report.mismatch =
          ChainMismatch{from - 1, ChainFault::kMissingHash,
                        absl::StrCat("no chain hash is stored at position ",
                                     from - 1, ", where the check starts")};
      return report;
    }
    chain = start->value_or(ChainHash{});
  }
  report.chain_hash = chain;
  if (from > to) return report;

  const std::string lower = LogKey(tenant, from);
  const std::string upper = LogKey(tenant, to + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> log_it(
      db_->NewIterator(read_options, log_cf_));
  std::unique_ptr<rocksdb::Iterator> chain_it(
      db_->NewIterator(read_options, chain_cf_));
  log_it->Seek(lower);
  chain_it->Seek(lower);
  const size_t key_size = lower.size();
  auto at = [key_size](const rocksdb::Iterator& it, uint64_t position) {
    return it.Valid() && it.key().size() == key_size &&
           PositionFromLogKey(View(it.key())) == position;
  };

  for (uint64_t p = from; p <= to; ++p) {
    if (report.events_checked > 0 &&
        (report.events_checked >= options.max_events ||
         (report.events_checked % kClockEvery == 0 &&
          absl::Now() >= options.deadline))) {
      report.next_position = p;
      return report;
    }
    if (!at(*log_it, p)) {
      if (absl::Status s = FromRocks(log_it->status(), "reading log");
          !s.ok()) {
        return s;
      }
      report.mismatch =
          ChainMismatch{p, ChainFault::kMissingEvent,
                        absl::StrCat("no event is stored at position ", p,
                                     ", though the log goes on to position ",
                                     report.head_position)};
      return report;
    }
    std::optional<ChainHash> stored;
    if (at(*chain_it, p)) stored = DecodeChainHash(View(chain_it->value()));
    if (absl::Status s = FromRocks(chain_it->status(), "reading chain");
        !s.ok()) {
      return s;
    }
    if (!stored.has_value()) {
      report.mismatch =
          ChainMismatch{p, ChainFault::kMissingHash,
                        absl::StrCat("the event at position ", p,
                                     " has no stored chain hash")};
      return report;
    }
    const ChainHash computed = NextChainHash(chain, View(log_it->value()));
    if (computed != *stored) {
      // Which one changed? The next link tells: it was made from the
      // original hash of p, so it agrees with whichever of the two is intact.
      ChainMismatch mismatch{p, ChainFault::kChanged,
                             absl::StrCat("the event stored at position ", p,
                                          " does not match its chain hash: "
                                          "the event or its hash was changed")};
      std::string next_value, next_hash;
      if (p < report.head_position &&
          db_->Get(rocksdb::ReadOptions(), log_cf_, LogKey(tenant, p + 1),
                   &next_value)
              .ok() &&
          db_->Get(rocksdb::ReadOptions(), chain_cf_, LogKey(tenant, p + 1),
                   &next_hash)
              .ok()) {
        const std::optional<ChainHash> next = DecodeChainHash(next_hash);
        if (next == NextChainHash(*stored, next_value)) {
          mismatch.fault = ChainFault::kContentChanged;
          mismatch.detail = absl::StrCat(
              "the event stored at position ", p,
              " was changed: its bytes no longer match its chain hash, which "
              "still links to position ",
              p + 1);
        } else if (next == NextChainHash(computed, next_value)) {
          mismatch.fault = ChainFault::kHashChanged;
          mismatch.detail = absl::StrCat(
              "the chain hash stored at position ", p,
              " was changed: the event's bytes still link to position ", p + 1);
        }
      }
      report.mismatch = std::move(mismatch);
      return report;
    }
    chain = computed;
    ++report.events_checked;
    report.last_position = p;
    report.chain_hash = chain;
    if (options.expected_hash.has_value()) {
      if (options.expected_position == p) {
        if (chain == *options.expected_hash) {
          report.expected_found_at = p;
        } else {
          report.expected_differs = true;
        }
      } else if (options.expected_position == 0 &&
                 report.expected_found_at == 0 &&
                 chain == *options.expected_hash) {
        report.expected_found_at = p;
      }
    }
    log_it->Next();
    chain_it->Next();
  }
  return report;
}

// ---------------------------------------------------------------------------
// Import and freeze: restoring a tenant from a copy of its log. Kept apart
// from the append path; the committer only dispatches to PrepareImport.

absl::Status EventStore::Impl::ValidateImport(Pending* pending) const {
  const std::vector<ImportedEvent>& events = pending->imported;
  if (events.empty()) {
    return InvalidField("events", "an import needs at least one event");
  }
  if (events.size() > options_.max_events_per_append) {
    return InvalidField(
        "events",
        absl::StrCat(events.size(), " events is more than the limit of ",
                     options_.max_events_per_append, " per import"));
  }
  absl::flat_hash_set<Uuid> seen;
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string field = absl::StrCat("events[", i, "]");
    if (i > 0 && events[i].position != events[i - 1].position + 1) {
      return InvalidField(
          absl::StrCat(field, ".position"),
          absl::StrCat("position ", events[i].position, " does not follow ",
                       events[i - 1].position));
    }
    EventRecord record;
    if (!record.ParseFromString(events[i].stored)) {
      return InvalidField(absl::StrCat(field, ".stored"),
                          "not a serialized EventRecord");
    }
    if (record.event_id().size() != 16) {
      return InvalidField(absl::StrCat(field, ".event_id"),
                          "an event id is 16 bytes");
    }
    Uuid id;
    std::copy_n(record.event_id().begin(), id.size(), id.begin());
    if (!seen.insert(id).second) {
      return InvalidField(absl::StrCat(field, ".event_id"),
                          "the same event id appears twice in one import");
    }
    if (absl::Status s =
            ValidateStreamName(record.stream(), absl::StrCat(field, ".stream"));
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            ValidateEventType(record.type(), absl::StrCat(field, ".type"));
        !s.ok()) {
      return s;
    }
    ProposedEvent content;
    content.type = record.type();
    content.content_type = record.content_type();
    content.data = record.data();
    pending->ids.push_back(id);
    pending->digests.push_back(ContentDigest(record.stream(), content));
    pending->imported_records.push_back(std::move(record));
  }
  return absl::OkStatus();
}

// Checks the whole import against the committed state plus the group before
// staging anything, so a refused import leaves the group's batch untouched.
absl::StatusOr<AppendResult> EventStore::Impl::PrepareImport(
    const Pending& pending, GroupState* group) {
  const std::string& tenant = pending.request.tenant;
  uint64_t head;
  if (auto it = group->heads.find(tenant); it != group->heads.end()) {
    head = it->second;
  } else {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<uint64_t> committed = HeadLocked(tenant);
    if (!committed.ok()) return committed.status();
    head = *committed;
  }
  const uint64_t first = pending.imported.front().position;
  if (first != head + 1) {
    return FieldError(
        absl::StatusCode::kFailedPrecondition, "events[0].position",
        absl::StrCat("the import starts at position ", first, " but tenant ",
                     tenant, " has its head at ", head,
                     first <= head ? " (it overlaps the stored log)"
                                   : " (it would leave a gap)"));
  }
  std::vector<std::string> id_keys;
  absl::flat_hash_map<std::string, StreamInfo> streams;  // stream prefix
  for (size_t i = 0; i < pending.imported.size(); ++i) {
    const EventRecord& record = pending.imported_records[i];
    const std::string field = absl::StrCat("events[", i, "]");
    id_keys.push_back(IdKey(tenant, pending.ids[i]));
    absl::StatusOr<std::optional<IdEntry>> entry =
        LookupId(id_keys.back(), *group);
    if (!entry.ok()) return entry.status();
    if (entry->has_value()) {
      return FieldError(
          absl::StatusCode::kFailedPrecondition,
          absl::StrCat(field, ".event_id"),
          absl::StrCat("event ", FormatUuid(pending.ids[i]),
                       " is already stored at position ", (*entry)->position));
    }
    const std::string prefix = StreamPrefix(tenant, record.stream());
    std::optional<StreamInfo> current;
    if (auto it = streams.find(prefix); it != streams.end()) {
      current = it->second;
    } else {
      absl::StatusOr<std::optional<StreamInfo>> info =
          LookupStream(tenant, record.stream(), *group);
      if (!info.ok()) return info.status();
      current = *info;
    }
    const uint64_t expected = current.has_value() ? current->revision + 1 : 0;
    if (record.revision() != expected) {
      return FieldError(
          absl::StatusCode::kFailedPrecondition,
          absl::StrCat(field, ".revision"),
          absl::StrCat("revision ", record.revision(), " of stream \"",
                       record.stream(), "\" does not follow the stored ",
                       current.has_value()
                           ? absl::StrCat("revision ", current->revision)
                           : std::string("empty stream")));
    }
    streams[prefix] = StreamInfo{record.revision(), first + i};
  }
  // The imported events extend this store's hash chain exactly as appends
  // do: the same stored bytes give the same chain as in the source store.
  absl::StatusOr<ChainHash> chain = LookupChain(tenant, head, *group);
  if (!chain.ok()) return chain.status();
  // Everything holds: stage the writes, the stored bytes as given.
  for (size_t i = 0; i < pending.imported.size(); ++i) {
    const EventRecord& record = pending.imported_records[i];
    const uint64_t position = first + i;
    group->batch.Put(log_cf_, LogKey(tenant, position),
                     pending.imported[i].stored);
    *chain = NextChainHash(*chain, pending.imported[i].stored);
    group->batch.Put(chain_cf_, LogKey(tenant, position),
                     EncodeChainHash(*chain));
    group->batch.Put(streams_cf_,
                     StreamKey(tenant, record.stream(), record.revision()),
                     PositionValue(position));
    IdEntry entry{position, record.revision(), pending.digests[i]};
    group->batch.Put(ids_cf_, id_keys[i], EncodeIdEntry(entry));
    group->ids[id_keys[i]] = entry;
  }
  for (auto& [prefix, info] : streams) group->streams[prefix] = info;
  AppendResult result;
  result.first_position = first;
  result.last_position = first + pending.imported.size() - 1;
  group->heads[tenant] = result.last_position;
  group->chains[tenant] = *chain;
  return result;
}

absl::StatusOr<uint64_t> EventStore::Impl::ImportEvents(
    const std::string& tenant, std::vector<ImportedEvent> events) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  Pending pending;
  pending.request.tenant = tenant;
  pending.imported = std::move(events);
  if (absl::Status s = ValidateImport(&pending); !s.ok()) return s;
  absl::StatusOr<AppendResult> outcome =
      WaitFor([&](EventStore::AppendCallback done) {
        Enqueue(std::move(pending), std::move(done));
      });
  if (!outcome.ok()) return outcome.status();
  return outcome->last_position;
}

absl::StatusOr<uint64_t> EventStore::Impl::FreezeTenant(
    const std::string& tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  frozen_.insert(tenant);
  // Everything queued before the freeze, of this tenant or not, completes
  // before the head is read.
  struct Drained {
    const Impl* impl;
    uint64_t target;
    bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return impl->completed_ >= target;
    }
  } drained{this, enqueued_};
  mu_.Await(absl::Condition(&drained));
  return HeadLocked(tenant);
}

void EventStore::Impl::ThawTenant(const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  frozen_.erase(tenant);
}

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventStore::~EventStore() = default;

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(
    const EventStoreOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  if (absl::Status s = impl->Open(); !s.ok()) return s;
  return std::unique_ptr<EventStore>(new EventStore(std::move(impl)));
}

void EventStore::AppendAsync(AppendRequest request, AppendCallback done) {
  impl_->AppendAsync(std::move(request), std::move(done));
}

absl::StatusOr<AppendResult> EventStore::Append(AppendRequest request) {
  return WaitFor([&](EventStore::AppendCallback done) {
    impl_->AppendAsync(std::move(request), std::move(done));
  });
}

absl::StatusOr<std::vector<RecordedEvent>> EventStore::ReadStream(
    const std::string& tenant, const std::string& stream,
    uint64_t from_revision, bool backwards, size_t max_count,
    size_t max_bytes) const {
  return impl_->ReadStream(tenant, stream, from_revision, backwards, max_count,
                           max_bytes);
}

absl::StatusOr<LogPage> EventStore::ReadLog(const std::string& tenant,
                                            uint64_t from_position,
                                            const LogFilter& filter,
                                            size_t max_count,
                                            size_t max_bytes) const {
  return impl_->ReadLog(tenant, from_position, filter, max_count, max_bytes);
}

absl::StatusOr<LogScan> EventStore::ScanLog(const std::string& tenant,
                                            uint64_t from_position,
                                            const LogFilter& filter,
                                            size_t max_count, size_t max_bytes,
                                            const LogVisitor& visit) const {
  return impl_->ScanLog(tenant, from_position, filter, max_count, max_bytes,
                        visit);
}

absl::StatusOr<StreamInfo> EventStore::GetStreamInfo(
    const std::string& tenant, const std::string& stream) const {
  return impl_->GetStreamInfo(tenant, stream);
}

absl::StatusOr<std::optional<RecordedEvent>> EventStore::FindEvent(
    const std::string& tenant, const std::string& event_id) const {
  return impl_->FindEvent(tenant, event_id);
}

absl::StatusOr<uint64_t> EventStore::HeadPosition(
    const std::string& tenant) const {
  return impl_->HeadPosition(tenant);
}

absl::StatusOr<uint64_t> EventStore::WaitForPosition(
    const std::string& tenant, uint64_t position, absl::Time deadline) const {
  return impl_->WaitForPosition(tenant, position, deadline);
}

absl::StatusOr<std::vector<std::string>> EventStore::ListTenants() const {
  return impl_->ListTenants();
}

absl::Status EventStore::PutSecret(const std::string& tenant,
                                   const std::string& name,
                                   const std::string& value) {
  return impl_->PutSecret(tenant, name, value);
}

absl::StatusOr<std::optional<std::string>> EventStore::GetSecret(
    const std::string& tenant, const std::string& name) const {
  return impl_->GetSecret(tenant, name);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
EventStore::ListSecrets(const std::string& tenant,
                        const std::string& name_prefix) const {
  return impl_->ListSecrets(tenant, name_prefix);
}

absl::StatusOr<size_t> EventStore::DestroySecrets(
    const std::string& tenant, const std::string& name_prefix) {
  return impl_->DestroySecrets(tenant, name_prefix);
}

absl::StatusOr<VerifyReport> EventStore::Verify(
    const VerifyOptions& options) const {
  return impl_->Verify(options);
}

absl::StatusOr<std::pair<uint64_t, ChainHash>> EventStore::ChainHead(
    const std::string& tenant) const {
  return impl_->ChainHead(tenant);
}

uint64_t EventStore::CommitCount() const { return impl_->CommitCount(); }

uint64_t EventStore::WaitForCommit(uint64_t seen, absl::Time deadline) const {
  return impl_->WaitForCommit(seen, deadline);
}

absl::StatusOr<uint64_t> EventStore::ImportEvents(
    const std::string& tenant, std::vector<ImportedEvent> events) {
  return impl_->ImportEvents(tenant, std::move(events));
}

absl::StatusOr<uint64_t> EventStore::FreezeTenant(const std::string& tenant) {
  return impl_->FreezeTenant(tenant);
}

void EventStore::ThawTenant(const std::string& tenant) {
  impl_->ThawTenant(tenant);
}

void EventStore::Shutdown() { impl_->Shutdown(); }

const EventStoreOptions& EventStore::options() const {
  return impl_->options();
}

}  // namespace throughline::eventstore
